package entrasaml_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// Fingerprints of the xmlsec1 fixtures' keys (testdata/fixtures.json).
const (
	fpIdPA    = "8f469f3beafb7ae3381a68a0927a90aea6a641120797c5b52939ce7a275b288c"
	fpForeign = "7677c7dae7efb8bd4eb635b69306a8fdf6c9213b7f6ff3e462fbca4a146b820d"
)

func TestMetadataSigners(t *testing.T) {
	t.Parallel()
	md := string(readTestdata(t, "entra-metadata.xml"))
	colons := strings.ToUpper(fpIdPA[:2])
	for i := 2; i < len(fpIdPA); i += 2 {
		colons += ":" + strings.ToUpper(fpIdPA[i:i+2])
	}
	tests := []struct {
		name string
		md   string
		pins []string
		want error
	}{
		{"pinned signer", md, []string{fpIdPA}, nil},
		{"pin with colons", md, []string{colons}, nil},
		{"one of several pins", md, []string{fpForeign, fpIdPA}, nil},
		{"other signer", md, []string{fpForeign}, entrasaml.ErrMetadata},
		{"tampered after signing", strings.Replace(md, "/saml2\"", "/saml3\"", 1), []string{fpIdPA}, entrasaml.ErrMetadata},
		{"unsigned", string(readTestdata(t, "other-idp-metadata.xml")), []string{fpIdPA}, entrasaml.ErrMetadata},
		{"not a fingerprint", md, []string{"abc"}, entrasaml.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
				Metadata: []byte(tt.md), MetadataSigners: tt.pins, Now: func() time.Time { return fxNow }})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// A refresh signed by a certificate that is not pinned is refused and the
// last good metadata kept.
func TestMetadataSignersOnRefresh(t *testing.T) {
	t.Parallel()
	clk := &clock{now: tNow}
	idp, err := entratest.New(entratest.Options{Key: newKey(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ms := newMetadataServer(t, idp)
	fp := sha256.Sum256(idp.SigningKey().Certificate.Raw)
	sp, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: tEntityID, BaseURL: tBaseURL,
		MetadataURL: ms.URL, MetadataSigners: []string{hex.EncodeToString(fp[:])}, Now: clk.Now, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	old := idp.SigningKey()
	idp.UseKey(newKey(t)) // the metadata is now signed by a key nobody pinned
	if err := sp.RefreshMetadata(context.Background()); !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("refresh signed by an unpinned key: %v", err)
	}
	if got := sp.IdPMetadata().Certificates; len(got) != 1 || !got[0].Equal(old.Certificate) {
		t.Errorf("last good metadata not kept")
	}
}
