package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/crewjam/saml"
	saml2 "github.com/russellhaering/gosaml2"

	"github.com/entrasaml/entrasaml"
)

// Library names, as they appear in benchmark names (lib=…). entrasaml comes
// first: benchstat -col /lib compares the others with the first column.
const (
	libEntrasaml = "entrasaml"
	libCrewjam   = "crewjam"
	libGosaml2   = "gosaml2"
)

var libs = []string{libEntrasaml, libCrewjam, libGosaml2}

// verifyFunc verifies a POSTed SAMLResponse value (base64) as the library's
// users do at their ACS, and returns the NameID it vouches for.
type verifyFunc func(b64 string) (nameID string, err error)

// verifier returns lib's end-to-end verification of a response answering
// requestID.
func (w *world) verifier(lib string) verifyFunc {
	switch lib {
	case libEntrasaml:
		return entrasamlVerify(w.entra)
	case libCrewjam:
		return crewjamVerify(w.crewjam)
	case libGosaml2:
		return gosaml2Verify(w.gosaml2)
	}
	panic("unknown library " + lib)
}

func entrasamlVerify(sp *entrasaml.SP) verifyFunc {
	ctx := context.Background()
	return func(b64 string) (string, error) {
		s, err := sp.Verify(ctx, b64, requestID)
		if err != nil {
			return "", err
		}
		return s.NameID, nil
	}
}

// crewjamVerify is what samlsp's ACS does with the form value: base64, then
// ParseXMLResponse with the outstanding request IDs.
func crewjamVerify(sp *saml.ServiceProvider) verifyFunc {
	ids := []string{requestID}
	return func(b64 string) (string, error) {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", err
		}
		a, err := sp.ParseXMLResponse(raw, ids, sp.AcsURL)
		if err != nil {
			var ire *saml.InvalidResponseError
			if errors.As(err, &ire) {
				err = ire.PrivateErr // the reason, for the setup checks
			}
			return "", err
		}
		if a.Subject == nil || a.Subject.NameID == nil {
			return "", errors.New("crewjam: no NameID")
		}
		return a.Subject.NameID.Value, nil
	}
}

// gosaml2Verify is RetrieveAssertionInfo plus the checks gosaml2 leaves to
// its caller (its README's example): the time and audience warnings, and,
// since gosaml2 does not track requests, InResponseTo.
func gosaml2Verify(sp *saml2.SAMLServiceProvider) verifyFunc {
	return func(b64 string) (string, error) {
		info, err := sp.RetrieveAssertionInfo(b64)
		if err != nil {
			return "", err
		}
		if info.WarningInfo.InvalidTime || info.WarningInfo.NotInAudience {
			return "", fmt.Errorf("gosaml2: warnings %+v", *info.WarningInfo)
		}
		sc := info.Assertions[0].Subject.SubjectConfirmation
		if sc == nil || sc.SubjectConfirmationData == nil || sc.SubjectConfirmationData.InResponseTo != requestID {
			return "", errors.New("gosaml2: InResponseTo is not the request ID")
		}
		return info.NameID, nil
	}
}

// checkVerify fails tb unless verify accepts in with the right NameID and
// refuses its tampered twin: a benchmark of a failing path measures
// nothing, and one of a path that accepts anything measures too little.
func checkVerify(tb testing.TB, lib, name string, verify verifyFunc, in input) {
	tb.Helper()
	got, err := verify(in.b64)
	if err != nil {
		tb.Fatalf("%s refuses the valid %s response: %v", lib, name, err)
	}
	if got != userNameID {
		tb.Fatalf("%s: NameID %q from the %s response, want %q", lib, got, name, userNameID)
	}
	if got, err := verify(in.tampered); err == nil {
		tb.Fatalf("%s accepts the tampered %s response (NameID %q)", lib, name, got)
	}
}

// TestPeers runs the checks the benchmarks make before timing, so that
// "go test" in this module alone shows every library accepts every input
// and refuses every tampered one.
func TestPeers(t *testing.T) {
	w := setup(t)
	ins := w.inputs(t)
	for _, lib := range libs {
		for _, name := range inputNames {
			checkVerify(t, lib, name, w.verifier(lib), ins[name])
		}
	}
	for _, lib := range libs {
		checkAuthnRequestURL(t, lib, w.authnRequestURL(lib))
		if f := w.metadataParser(lib); f != nil {
			checkParseMetadata(t, lib, f, w.metadata)
		}
	}
	for _, name := range sessionInputs {
		for _, lib := range sessionLibs(name) {
			if s := w.sessionCheck(t, lib, name); !s.run() {
				t.Fatalf("%s, %s: the signed-in request was refused", lib, name)
			}
		}
	}
}
