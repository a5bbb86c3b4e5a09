package entrasaml_test

import (
	"context"
	"crypto"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

// brokenSigner is an RSA key whose Sign fails, like an HSM that is down.
type brokenSigner struct{ crypto.Signer }

func (brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("hsm: device not ready")
}

// switchStore is a MemoryStore that fails every call once down is set.
type switchStore struct {
	*entrasaml.MemoryStore
	down atomic.Bool
}

var errStoreDown = errors.New("connection refused")

func (s *switchStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if s.down.Load() {
		return nil, false, errStoreDown
	}
	return s.MemoryStore.Get(ctx, k)
}

func (s *switchStore) Delete(ctx context.Context, k string) error {
	if s.down.Load() {
		return errStoreDown
	}
	return s.MemoryStore.Delete(ctx, k)
}

// TestErrorContract calls every exported function and method that returns
// an error with input that makes it fail, and checks that the error
// matches exactly the one sentinel its documentation names.
func TestErrorContract(t *testing.T) {
	t.Parallel()
	idp, _ := sharedIdP(t)
	fixtureMD := readTestdata(t, "entra-metadata.xml")
	key := idp.SigningKey()
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	badResponse := goodResponse()
	badResponse.Audience = "https://other.example/saml"
	wrongAudience, _ := idp.Response(badResponse)

	// A signed-in request, for the session methods with the Store down.
	store := &switchStore{MemoryStore: entrasaml.NewMemoryStore(func() time.Time { return fxNow })}
	spStore := newTestSP(t, idp, func(c *entrasaml.Config) { c.Store = store; c.AllowIdPInitiated = true })
	unsolicited := goodResponse()
	unsolicited.InResponseTo = ""
	resp, _ := idp.Response(unsolicited)
	rec := httptest.NewRecorder()
	acs := httptest.NewRequest(http.MethodPost, fxACS, strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
	acs.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	spStore.ServeHTTP(rec, acs)
	signedIn := httptest.NewRequest(http.MethodGet, fxBaseURL+"/", nil)
	for _, c := range rec.Result().Cookies() {
		signedIn.AddCookie(c)
	}
	if s, err := spStore.Session(signedIn); s == nil || err != nil {
		t.Fatalf("not signed in (ACS %d): %v", rec.Code, err)
	}

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"New: no EntityID", func() error {
			_, err := entrasaml.New(context.Background(), entrasaml.Config{BaseURL: fxBaseURL, Metadata: idp.Metadata()})
			return err
		}, entrasaml.ErrConfig},
		{"New: unusable metadata", func() error {
			_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: []byte("<html/>")})
			return err
		}, entrasaml.ErrMetadata},
		{"New: metadata URL not found", func() error {
			_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, MetadataURL: notFound.URL})
			return err
		}, entrasaml.ErrMetadata},
		{"New: pinned metadata signature fails", func() error {
			_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL,
				Metadata: []byte(strings.Replace(string(fixtureMD), "/saml2\"", "/saml3\"", 1)), MetadataSigners: []string{fpIdPA},
				Now: func() time.Time { return fxNow }})
			return err
		}, entrasaml.ErrMetadata},
		{"ParseMetadata: DTD", func() error {
			_, err := entrasaml.ParseMetadata([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><EntityDescriptor/>`))
			return err
		}, entrasaml.ErrMetadata},
		{"ParseMetadata: expired", func() error {
			_, err := entrasaml.ParseMetadata(readTestdata(t, "entra-metadata-expired.xml"), entrasaml.CheckExpiry(fxNow))
			return err
		}, entrasaml.ErrMetadata},
		{"New: not a fingerprint", func() error {
			_, err := entrasaml.New(context.Background(), entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: idp.Metadata(),
				MetadataSigners: []string{"abc"}})
			return err
		}, entrasaml.ErrConfig},
		{"NewEntraSettings", func() error { _, err := entrasaml.NewEntraSettings("x", "ftp://x"); return err }, entrasaml.ErrConfig},
		{"AuthnRequestURL: the key cannot sign", func() error {
			sp := newTestSP(t, idp, func(c *entrasaml.Config) { c.Key = brokenSigner{key.PrivateKey} })
			_, _, err := sp.AuthnRequestURL("/")
			return err
		}, entrasaml.ErrConfig},
		{"AuthnRequestURL: bad options", func() error {
			_, _, err := newTestSP(t, idp, nil).AuthnRequestURL("/", entrasaml.AuthnOptions{NameIDFormat: "urn:x"})
			return err
		}, entrasaml.ErrConfig},
		{"AuthnRequestURL: two options", func() error {
			_, _, err := newTestSP(t, idp, nil).AuthnRequestURL("/", entrasaml.AuthnOptions{}, entrasaml.AuthnOptions{})
			return err
		}, entrasaml.ErrConfig},
		{"Verify: not base64", func() error {
			_, err := newTestSP(t, idp, nil).Verify(context.Background(), "%%%", fxRequestID)
			return err
		},
			entrasaml.ErrMalformed},
		{"Verify: wrong audience", func() error {
			_, err := newTestSP(t, idp, nil).Verify(context.Background(), wrongAudience, fxRequestID)
			return err
		}, entrasaml.ErrAudienceMismatch},
		{"RefreshMetadata: no URL", func() error { return newTestSP(t, idp, nil).RefreshMetadata(context.Background()) }, entrasaml.ErrConfig},
		{"LogoutRequestURL: no logout URL", func() error {
			sp := fixtureSP(t, func(c *entrasaml.Config) {
				c.Metadata = []byte(removeAll(string(fixtureMD), "<SingleLogoutService", "/>"))
			})
			_, _, err := sp.LogoutRequestURL(&entrasaml.Session{NameID: "x"})
			return err
		}, entrasaml.ErrMetadata},
		{"Session: store down", func() error {
			store.down.Store(true)
			defer store.down.Store(false)
			_, err := spStore.Session(signedIn)
			return err
		}, entrasaml.ErrStore},
		{"EndSession: store down", func() error {
			store.down.Store(true)
			defer store.down.Store(false)
			return spStore.EndSession(httptest.NewRecorder(), signedIn)
		}, entrasaml.ErrStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			assertOneSentinel(t, err)
			var e *entrasaml.Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Errorf("%v is not an *Error with a Reason", err)
			}
		})
	}

	// The one exception: a non-Success status is a *StatusError alone.
	failed, _ := idp.ErrorResponse(fxACS, fxRequestID, "", "", "AADSTS50105: not assigned")
	_, err := newTestSP(t, idp, nil).Verify(context.Background(), failed, fxRequestID)
	var se *entrasaml.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("status: got %v, want a *StatusError", err)
	}
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			t.Errorf("a StatusError matches %v", s)
		}
	}
}
