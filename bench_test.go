package entrasaml_test

import (
	"context"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
)

// benchSP returns a fixture SP whose Store forgets everything, so that the
// same response can be verified again and again.
func benchVerify(b *testing.B, name string) {
	sp := fixtureSP(b, func(c *entrasaml.Config) { c.Store = forgetfulStore{} })
	resp := fixtureB64(b, name)
	ctx := context.Background()
	if _, err := sp.Verify(ctx, resp, fxRequestID); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := sp.Verify(ctx, resp, fxRequestID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	b.Run("entra", func(b *testing.B) { benchVerify(b, "response-assertion-signed.xml") })
	b.Run("groups150", func(b *testing.B) { benchVerify(b, "response-150-groups.xml") })
	b.Run("response-signed", func(b *testing.B) { benchVerify(b, "response-signed.xml") })
}

func BenchmarkAuthnRequestURL(b *testing.B) {
	sp := fixtureSP(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := sp.AuthnRequestURL("/deep/link"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMetadata(b *testing.B) {
	md := readTestdata(b, "entra-metadata.xml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := entrasaml.ParseMetadata(md); err != nil {
			b.Fatal(err)
		}
	}
}

// forgetfulStore accepts every assertion: for benchmarks only.
type forgetfulStore struct{}

func (forgetfulStore) Get(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (forgetfulStore) Set(context.Context, string, []byte, time.Duration) error {
	return nil
}
func (forgetfulStore) SetIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return true, nil
}
func (forgetfulStore) Delete(context.Context, string) error { return nil }
