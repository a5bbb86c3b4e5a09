package bench

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlsp"

	"github.com/entrasaml/entrasaml"
)

// BenchmarkVerify measures the end-to-end verification of the POSTed
// SAMLResponse value (base64 in, verified NameID out) on each input.
func BenchmarkVerify(b *testing.B) {
	for _, name := range inputNames {
		b.Run(name, func(b *testing.B) {
			for _, lib := range libs {
				b.Run("lib="+lib, func(b *testing.B) {
					w := setup(b)
					in := w.inputs(b)[name]
					verify := w.verifier(lib)
					checkVerify(b, lib, name, verify, in)
					b.ReportAllocs()
					for b.Loop() {
						if _, err := verify(in.b64); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkVerifyParallel measures Verify's throughput on the plain input
// with b.RunParallel: run it with -cpu 1,2 and compare ns/op.
func BenchmarkVerifyParallel(b *testing.B) {
	for _, lib := range libs {
		b.Run("lib="+lib, func(b *testing.B) {
			w := setup(b)
			in := w.inputs(b)[inPlain]
			verify := w.verifier(lib)
			checkVerify(b, lib, inPlain, verify, in)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := verify(in.b64); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// authnRequestURL returns lib's construction of the HTTP-Redirect URL that
// starts SP-initiated sign-in (unsigned, as Entra allows by default), as
// the string a redirect needs.
func (w *world) authnRequestURL(lib string) func() (string, error) {
	switch lib {
	case libEntrasaml:
		return func() (string, error) {
			u, _, err := w.entra.AuthnRequestURL(relayState)
			if err != nil {
				return "", err
			}
			return u.String(), nil
		}
	case libCrewjam:
		return func() (string, error) {
			u, err := w.crewjam.MakeRedirectAuthenticationRequest(relayState)
			if err != nil {
				return "", err
			}
			return u.String(), nil
		}
	case libGosaml2:
		return func() (string, error) { return w.gosaml2.BuildAuthURL(relayState) }
	}
	panic("unknown library " + lib)
}

// checkAuthnRequestURL fails tb unless build returns a redirect to Entra's
// sign-on URL carrying the RelayState and a DEFLATEd AuthnRequest for our
// ACS URL.
func checkAuthnRequestURL(tb testing.TB, lib string, build func() (string, error)) {
	tb.Helper()
	s, err := build()
	if err != nil {
		tb.Fatalf("%s: AuthnRequest URL: %v", lib, err)
	}
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatalf("%s: AuthnRequest URL %q: %v", lib, s, err)
	}
	q := u.Query()
	want := setup(tb).idp.SignOnURL()
	if got := u.Scheme + "://" + u.Host + u.Path; got != want || q.Get("RelayState") != relayState {
		tb.Fatalf("%s: AuthnRequest URL %q, want %s with RelayState %s", lib, s, want, relayState)
	}
	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		tb.Fatalf("%s: SAMLRequest: %v", lib, err)
	}
	x, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		tb.Fatalf("%s: SAMLRequest is not DEFLATE: %v", lib, err)
	}
	if !bytes.Contains(x, []byte("AuthnRequest")) || !bytes.Contains(x, []byte(`"`+spACSURL+`"`)) {
		tb.Fatalf("%s: SAMLRequest is not an AuthnRequest for %s:\n%s", lib, spACSURL, x)
	}
}

// BenchmarkAuthnRequestURL measures building the HTTP-Redirect AuthnRequest
// URL.
func BenchmarkAuthnRequestURL(b *testing.B) {
	for _, lib := range libs {
		b.Run("lib="+lib, func(b *testing.B) {
			build := setup(b).authnRequestURL(lib)
			checkAuthnRequestURL(b, lib, build)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := build(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// metadataParser returns lib's parsing of IdP metadata into what it
// verifies responses with: the entity ID and the number of signing
// certificates found.
func (w *world) metadataParser(lib string) func([]byte) (string, int, error) {
	switch lib {
	case libEntrasaml:
		// Parses the certificates too (x509), once per metadata.
		return func(data []byte) (string, int, error) {
			md, err := entrasaml.ParseMetadata(data)
			if err != nil {
				return "", 0, err
			}
			return md.EntityID, len(md.Certificates), nil
		}
	case libCrewjam:
		// Leaves the certificates as base64 text: crewjam decodes and parses
		// them again for every response it verifies.
		return func(data []byte) (string, int, error) {
			ed, err := samlsp.ParseMetadata(data)
			if err != nil {
				return "", 0, err
			}
			n := 0
			for _, d := range ed.IDPSSODescriptors {
				for _, kd := range d.KeyDescriptors {
					if kd.Use == "signing" || kd.Use == "" {
						n += len(kd.KeyInfo.X509Data.X509Certificates)
					}
				}
			}
			return ed.EntityID, n, nil
		}
	case libGosaml2:
		// No parser in gosaml2: xml.Unmarshal into its types and x509 parsing,
		// as its README's example does.
		return func(data []byte) (string, int, error) {
			ed, certs, err := gosaml2Metadata(data)
			if err != nil {
				return "", 0, err
			}
			return ed.EntityID, len(certs), nil
		}
	}
	panic("unknown library " + lib)
}

func checkParseMetadata(tb testing.TB, lib string, parse func([]byte) (string, int, error), data []byte) {
	tb.Helper()
	id, n, err := parse(data)
	if err != nil {
		tb.Fatalf("%s: parsing the metadata: %v", lib, err)
	}
	if want := setup(tb).idp.EntityID(); id != want || n != 2 {
		tb.Fatalf("%s: metadata entity %q with %d certificates, want %q with 2", lib, id, n, want)
	}
	// Damaged metadata must not parse.
	if _, _, err := parse(bytes.ReplaceAll(data, []byte("</EntityDescriptor>"), nil)); err == nil {
		tb.Fatalf("%s: truncated metadata parses", lib)
	}
}

// BenchmarkParseMetadata measures parsing Entra's federation metadata (two
// signing certificates, three role descriptors, the claim list).
func BenchmarkParseMetadata(b *testing.B) {
	for _, lib := range libs {
		b.Run("lib="+lib, func(b *testing.B) {
			w := setup(b)
			parse := w.metadataParser(lib)
			checkParseMetadata(b, lib, parse, w.metadata)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := parse(w.metadata); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionCheck measures the per-request check of a signed-in
// request by each library's middleware: entrasaml's RequireAccount (sealed
// session-ID cookie, MemoryStore lookup) against crewjam samlsp's
// RequireAccount with its default session (an RS256 JWT cookie). gosaml2
// has no session layer. The user has the usual claims, or 150 groups
// (entrasaml only: see sessionLibs).
func BenchmarkSessionCheck(b *testing.B) {
	for _, name := range sessionInputs {
		b.Run(name, func(b *testing.B) {
			for _, lib := range sessionLibs(name) {
				b.Run("lib="+lib, func(b *testing.B) {
					s := setup(b).sessionCheck(b, lib, name)
					b.ReportAllocs()
					for b.Loop() {
						if !s.run() {
							b.Fatal("the signed-in request was refused")
						}
					}
					b.ReportMetric(float64(s.cookieBytes), "cookie-B")
				})
			}
		})
	}
}

// BenchmarkReplayCheck measures what BenchmarkVerify leaves out of
// entrasaml's Verify: recording the assertion ID in the default Store
// (MemoryStore.SetIfAbsent of a new key for an hour, about an Entra
// assertion's lifetime). Verify's time with the default Store is the sum of
// the two. The store's clock advances 360 ms per sign-in, so about 10,000
// IDs are live, as after an hour of 10,000 sign-ins, and expired ones are
// swept as in production. crewjam has an optional ReplayCache, off by
// default; gosaml2 has none.
func BenchmarkReplayCheck(b *testing.B) {
	b.Run("lib="+libEntrasaml, func(b *testing.B) {
		const ttl, step = time.Hour, 360 * time.Millisecond
		now := time.Now()
		store := entrasaml.NewMemoryStore(func() time.Time { return now })
		ctx := context.Background()
		// Keys shaped like Verify's: a namespace and 128 bits in hex.
		key := func(n uint64) string {
			var id [16]byte
			binary.BigEndian.PutUint64(id[8:], n)
			return "entrasaml/replay/0123456789abcdef01234567/" + hex.EncodeToString(id[:])
		}
		if fresh, err := store.SetIfAbsent(ctx, key(0), []byte{1}, ttl); err != nil || !fresh {
			b.Fatalf("first use: fresh=%v, %v", fresh, err)
		}
		if fresh, err := store.SetIfAbsent(ctx, key(0), []byte{1}, ttl); err != nil || fresh {
			b.Fatalf("replay: fresh=%v, %v", fresh, err)
		}
		b.ReportAllocs()
		n := uint64(0)
		for b.Loop() {
			n++
			now = now.Add(step)
			if fresh, err := store.SetIfAbsent(ctx, key(n), []byte{1}, ttl); err != nil || !fresh {
				b.Fatalf("fresh=%v, %v", fresh, err)
			}
		}
		if live := store.Len(); live > 3*int(ttl/step) {
			b.Fatalf("%d IDs held, want about %d", live, ttl/step)
		}
	})
}

// cookieHeaders returns the Cookie header a browser sends back after
// receiving the Set-Cookie headers of rec, and the same with one character
// in the middle of each value changed.
func cookieHeaders(rec *httptest.ResponseRecorder) (good, tampered string) {
	var g, t []string
	for _, c := range rec.Result().Cookies() {
		if c.Value == "" || c.MaxAge < 0 {
			continue // a cookie being deleted
		}
		i := len(c.Value) / 2
		r := byte('A')
		if c.Value[i] == r {
			r = 'B'
		}
		g = append(g, c.Name+"="+c.Value)
		t = append(t, c.Name+"="+c.Value[:i]+string(r)+c.Value[i+1:])
	}
	return strings.Join(g, "; "), strings.Join(t, "; ")
}
