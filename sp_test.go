package entrasaml_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

func TestNewMetadataURL(t *testing.T) {
	t.Parallel()
	md := readTestdata(t, "entra-metadata.xml")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write(md)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.Write(readTestdata(t, "html-page.html"))
		case "/huge":
			w.Write(bytes.Repeat([]byte(" "), entrasaml.MaxMetadataSize+10))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	newSP := func(path string) error {
		_, err := entrasaml.New(context.Background(), entrasaml.Config{
			EntityID: fxEntityID, BaseURL: fxBaseURL, MetadataURL: srv.URL + path,
			Now: func() time.Time { return fxNow },
		})
		return err
	}
	if err := newSP("/ok"); err != nil {
		t.Fatalf("fetching good metadata: %v", err)
	}
	for _, path := range []string{"/html", "/huge", "/missing"} {
		if err := newSP(path); !errors.Is(err, entrasaml.ErrMetadata) {
			t.Errorf("%s: got %v, want ErrMetadata", path, err)
		}
	}
	var e *entrasaml.Error
	if err := newSP("/huge"); !errors.As(err, &e) || !e.TooLarge() {
		t.Errorf("/huge: got %v, want a too-large error", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	md := readTestdata(t, "entra-metadata.xml")
	tests := []struct {
		name string
		cfg  entrasaml.Config
		want error
	}{
		{"no entity id", entrasaml.Config{BaseURL: fxBaseURL, Metadata: md}, entrasaml.ErrConfig},
		{"no base url", entrasaml.Config{EntityID: fxEntityID, Metadata: md}, entrasaml.ErrConfig},
		{"relative base url", entrasaml.Config{EntityID: fxEntityID, BaseURL: "/app", Metadata: md}, entrasaml.ErrConfig},
		{"base url with query", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL + "?x=1", Metadata: md}, entrasaml.ErrConfig},
		{"no metadata", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL}, entrasaml.ErrConfig},
		{"negative skew", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: md, ClockSkew: -1}, entrasaml.ErrConfig},
		{"bad nameid format", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: md,
			AuthnOptions: entrasaml.AuthnOptions{NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos"}}, entrasaml.ErrConfig},
		{"bad metadata", entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: []byte("<html></html>")}, entrasaml.ErrMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Now = func() time.Time { return fxNow }
			if _, err := entrasaml.New(context.Background(), tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewExpiredMetadataAtConfigNow(t *testing.T) {
	t.Parallel()
	cfg := entrasaml.Config{EntityID: fxEntityID, BaseURL: fxBaseURL, Metadata: readTestdata(t, "entra-metadata.xml")}
	cfg.Now = func() time.Time { return time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC) }
	if _, err := entrasaml.New(context.Background(), cfg); !errors.Is(err, entrasaml.ErrMetadata) {
		t.Errorf("certificates expired at Config.Now: got %v, want ErrMetadata", err)
	}
}
