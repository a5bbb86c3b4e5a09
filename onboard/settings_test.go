package onboard_test

import (
	"context"
	"testing"

	"github.com/entrasaml/entrasaml/onboard"
)

// With the SP's EntityID and BaseURL the report names what to type into
// Entra, the sign-in endpoint as Sign on URL; a pasted Reply URL as
// BaseURL is an error.
func TestCheckSettings(t *testing.T) {
	t.Parallel()
	md := readTestdata(t, "entra-metadata.xml")
	rep := onboard.Check(context.Background(), onboard.Input{Metadata: md, EntityID: "urn:vendor:acme", BaseURL: "https://acme.vendor.example"})
	if !rep.Ready || rep.Settings == nil || rep.Settings.SignOnURL != "https://acme.vendor.example/saml/login" ||
		rep.Settings.ReplyURL != "https://acme.vendor.example/saml/acs" || rep.Settings.Identifier != "urn:vendor:acme" {
		t.Errorf("report: ready %v, settings %+v, problems %+v", rep.Ready, rep.Settings, rep.Problems)
	}
	if rep := onboard.Check(context.Background(), onboard.Input{Metadata: md}); rep.Settings != nil || !rep.Ready {
		t.Errorf("without EntityID and BaseURL: %+v", rep.Settings)
	}
	rep = onboard.Check(context.Background(), onboard.Input{Metadata: md, EntityID: "urn:vendor:acme", BaseURL: "https://acme.vendor.example/saml/acs"})
	if rep.Ready || rep.Settings != nil || len(rep.Problems) != 1 || rep.Problems[0].Code != onboard.ProblemSPConfig {
		t.Errorf("pasted Reply URL: ready %v, problems %+v", rep.Ready, rep.Problems)
	}
}
