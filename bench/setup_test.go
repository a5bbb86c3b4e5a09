package bench

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/entratest"
)

// The SP every library plays, and the AuthnRequest every solicited
// response answers.
const (
	spEntityID  = "https://acme.vendor.example/saml"
	spBaseURL   = "https://acme.vendor.example"
	spACSURL    = spBaseURL + "/saml/acs"
	spMetaURL   = spBaseURL + "/saml/metadata"
	requestID   = "_a7f3c9e1b5d24f6a8c0e2b4d6f8a1c3e"
	relayState  = "c3f1a0b2d4e6f8091a2b3c4d" // a 12-byte hex token, as entrasaml's StartSignIn makes
	userNameID  = "adele.vance@contoso.example"
	inputMaxAge = 30 * time.Second // crewjam refuses responses older than saml.MaxIssueDelay (90 s)
)

// Input names: the three Entra responses every library verifies.
const (
	inPlain          = "plain"          // "Sign SAML assertion" (Entra's default), the usual claims
	inGroups150      = "groups150"      // the same with 150 group claims (Entra's most before overage)
	inResponseSigned = "responseSigned" // "Sign SAML response", by the second certificate
)

var inputNames = []string{inPlain, inGroups150, inResponseSigned}

// world is what setup makes once per process: a fake Entra tenant with two
// published signing certificates, its signed federation metadata, and the
// three libraries configured from that same document.
type world struct {
	idp      *entratest.IdP
	second   *entratest.Key // published second certificate; signs the response-signed variant
	spKey    *entratest.Key // the SP's own key: crewjam's samlsp signs its session JWTs with it
	metadata []byte

	entra   *entrasaml.SP
	crewjam *saml.ServiceProvider
	gosaml2 *saml2.SAMLServiceProvider

	mu        sync.Mutex
	cur       map[string]input
	generated time.Time
}

// input is one POSTed SAMLResponse value and its tampered twin: one
// character of the signed NameID changed.
type input struct {
	b64, tampered string
}

var (
	setupOnce sync.Once
	theWorld  *world
	setupErr  error
)

// setup returns the shared world, making it on first use.
func setup(tb testing.TB) *world {
	tb.Helper()
	setupOnce.Do(func() { theWorld, setupErr = newWorld() })
	if setupErr != nil {
		tb.Fatal(setupErr)
	}
	return theWorld
}

func newWorld() (*world, error) {
	now := time.Now()
	first, err := entratest.NewKey(2048, now.Add(-time.Hour), now.AddDate(3, 0, 0))
	if err != nil {
		return nil, err
	}
	w := &world{}
	for _, k := range []**entratest.Key{&w.second, &w.spKey} {
		if *k, err = entratest.NewKey(2048, now.Add(-time.Hour), now.AddDate(3, 0, 0)); err != nil {
			return nil, err
		}
	}
	// The real clock everywhere: responses are made at the current time
	// (see inputsFor), so no library's clock is touched.
	if w.idp, err = entratest.New(entratest.Options{Key: first}); err != nil {
		return nil, err
	}
	w.idp.AddKey(w.second) // rollover: two signing certificates in the metadata
	w.metadata = w.idp.Metadata()

	// entrasaml. Its replay cache would refuse the second Verify of the
	// same response, so this SP's Store accepts everything. Verify still
	// computes the replay key; the Store call it then makes is measured
	// separately (BenchmarkReplayCheck, the default MemoryStore). The peers
	// check no replay by default.
	if w.entra, err = entrasaml.New(context.Background(), entrasaml.Config{
		EntityID: spEntityID, BaseURL: spBaseURL, Metadata: w.metadata, Store: alwaysFresh{},
	}); err != nil {
		return nil, fmt.Errorf("entrasaml.New: %w", err)
	}

	// crewjam/saml: metadata parsed by samlsp, as its users do.
	md, err := samlsp.ParseMetadata(w.metadata)
	if err != nil {
		return nil, fmt.Errorf("crewjam samlsp.ParseMetadata: %w", err)
	}
	w.crewjam = &saml.ServiceProvider{
		EntityID:    spEntityID,
		AcsURL:      mustURL(spACSURL),
		MetadataURL: mustURL(spMetaURL),
		IDPMetadata: md,
	}

	// gosaml2: no metadata parser; the decode its example program does.
	if w.gosaml2, err = newGosaml2(w.metadata); err != nil {
		return nil, err
	}
	return w, nil
}

// newGosaml2 configures gosaml2 from metadata as its README's example does:
// xml.Unmarshal into its types, then every IDPSSODescriptor certificate
// into the certificate store.
func newGosaml2(metadata []byte) (*saml2.SAMLServiceProvider, error) {
	ed, certs, err := gosaml2Metadata(metadata)
	if err != nil {
		return nil, err
	}
	var ssoURL string
	for _, s := range ed.IDPSSODescriptor.SingleSignOnServices {
		if s.Binding == saml.HTTPRedirectBinding {
			ssoURL = s.Location
		}
	}
	return &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      ssoURL,
		IdentityProviderIssuer:      ed.EntityID,
		AssertionConsumerServiceURL: spACSURL,
		ServiceProviderIssuer:       spEntityID,
		AudienceURI:                 spEntityID,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: certs},
		SignAuthnRequests:           false,
	}, nil
}

// gosaml2Metadata is gosaml2's metadata "parser": its users' code.
func gosaml2Metadata(metadata []byte) (*types.EntityDescriptor, []*x509.Certificate, error) {
	ed := &types.EntityDescriptor{}
	if err := xml.Unmarshal(metadata, ed); err != nil {
		return nil, nil, fmt.Errorf("gosaml2 metadata: %w", err)
	}
	if ed.IDPSSODescriptor == nil {
		return nil, nil, errors.New("gosaml2 metadata: no IDPSSODescriptor")
	}
	var certs []*x509.Certificate
	for _, kd := range ed.IDPSSODescriptor.KeyDescriptors {
		for _, xc := range kd.KeyInfo.X509Data.X509Certificates {
			der, err := base64.StdEncoding.DecodeString(xc.Data)
			if err != nil {
				return nil, nil, err
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, nil, err
			}
			certs = append(certs, c)
		}
	}
	return ed, certs, nil
}

// inputs returns the three responses, made at the current time. They are
// remade when older than inputMaxAge, since crewjam refuses a response
// issued more than saml.MaxIssueDelay (90 s) ago: fresh responses keep every
// library on the real clock, with no clock variable set.
func (w *world) inputs(tb testing.TB) map[string]input {
	tb.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur != nil && time.Since(w.generated) < inputMaxAge {
		return w.cur
	}
	m := make(map[string]input, len(inputNames))
	for _, name := range inputNames {
		in, err := w.makeInput(name, requestID)
		if err != nil {
			tb.Fatal(err)
		}
		m[name] = in
	}
	w.cur, w.generated = m, time.Now()
	return m
}

// makeInput makes the named response, answering inResponseTo ("" for
// IdP-initiated): RSA-2048/SHA-256, exclusive c14n, as Entra signs.
func (w *world) makeInput(name, inResponseTo string) (input, error) {
	r := entratest.Response{
		ACSURL:       spACSURL,
		Audience:     spEntityID,
		InResponseTo: inResponseTo,
		User:         entraUser(3),
	}
	switch name {
	case inPlain:
	case inGroups150:
		r.User = entraUser(150)
	case inResponseSigned:
		r.Sign, r.Key = entratest.SignResponse, w.second
	default:
		return input{}, fmt.Errorf("unknown input %q", name)
	}
	x, err := w.idp.ResponseXML(r)
	if err != nil {
		return input{}, err
	}
	t, err := tamperNameID(x)
	if err != nil {
		return input{}, err
	}
	enc := base64.StdEncoding.EncodeToString
	return input{b64: enc(x), tampered: enc(t)}, nil
}

// entraUser returns the usual Entra claims of one user with the given
// number of groups.
func entraUser(groups int) entratest.User {
	u := entratest.User{
		ObjectID:    "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10",
		UPN:         userNameID,
		Email:       userNameID,
		GivenName:   "Adele",
		Surname:     "Vance",
		DisplayName: "Adele Vance",
		Roles:       []string{"Admin", "Reader"},
	}
	for i := range groups {
		u.Groups = append(u.Groups, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", 0x0b7cc495+i*7919, i, i, i, i*104729))
	}
	return u
}

// tamperNameID returns a copy of a response with the first character of
// the NameID's value changed: inside every signature's coverage.
func tamperNameID(x []byte) ([]byte, error) {
	i := bytes.Index(x, []byte("<NameID "))
	if i < 0 {
		return nil, errors.New("no <NameID> in the response")
	}
	j := bytes.IndexByte(x[i:], '>')
	if j < 0 || i+j+1 >= len(x) || !bytes.HasPrefix(x[i+j+1:], []byte(userNameID)) {
		return nil, errors.New("unexpected <NameID> in the response")
	}
	t := bytes.Clone(x)
	t[i+j+1] ^= 0x03 // 'a' -> 'b'
	return t, nil
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

// alwaysFresh is an entrasaml Store that reports every assertion ID as new,
// so that one response can be verified again and again. For the Verify
// benchmarks only: it turns off replay detection.
type alwaysFresh struct{}

func (alwaysFresh) Get(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (alwaysFresh) Set(context.Context, string, []byte, time.Duration) error {
	return nil
}
func (alwaysFresh) SetIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return true, nil
}
func (alwaysFresh) Delete(context.Context, string) error { return nil }
