package entratest

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"

	"github.com/beevik/etree"
)

// Single logout, as Entra does it: HTTP-Redirect binding only.

const sigAlgSHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

// LogoutRequest is what the fake reads from a service provider's
// LogoutRequest.
type LogoutRequest struct {
	ID, Issuer, Destination string
	NameID, NameIDFormat    string
	SessionIndex            []string
	RelayState              string
}

// ParseLogoutRequest reads a LogoutRequest sent with the HTTP-Redirect
// binding (q is the logout URL's query). It checks that the ID is present
// and does not start with a digit, and that an Issuer and a NameID are
// there; SigAlg and Signature are ignored.
func ParseLogoutRequest(q url.Values) (*LogoutRequest, error) {
	raw, err := decodeRequest(q.Get("SAMLRequest"), true)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil || root.Tag != "LogoutRequest" || root.NamespaceURI() != nsProtocol {
		return nil, errors.New("not a LogoutRequest")
	}
	r := &LogoutRequest{ID: root.SelectAttrValue("ID", ""), Destination: root.SelectAttrValue("Destination", ""), RelayState: q.Get("RelayState")}
	if !validID(r.ID) {
		return nil, errors.New("AADSTS7500529: the LogoutRequest ID is missing or starts with a digit")
	}
	for _, c := range root.ChildElements() {
		switch {
		case c.Tag == "Issuer" && c.NamespaceURI() == nsAssertion:
			r.Issuer = strings.TrimSpace(c.Text())
		case c.Tag == "NameID" && c.NamespaceURI() == nsAssertion:
			r.NameID, r.NameIDFormat = strings.TrimSpace(c.Text()), c.SelectAttrValue("Format", "")
		case c.Tag == "SessionIndex" && c.NamespaceURI() == nsProtocol:
			r.SessionIndex = append(r.SessionIndex, strings.TrimSpace(c.Text()))
		}
	}
	if r.Issuer == "" || r.NameID == "" {
		return nil, errors.New("the LogoutRequest lacks an Issuer or a NameID")
	}
	return r, nil
}

// LogoutIssuer is the Issuer Entra puts on its LogoutResponse:
// LoginURL + "/" + tenant + "/", not the EntityID.
func (idp *IdP) LogoutIssuer() string { return idp.LoginURL() + "/" + idp.tenantID + "/" }

// LogoutResponseURL returns spLogoutURL with a Success LogoutResponse
// answering inResponseTo (Issuer [IdP.LogoutIssuer]), RelayState when not
// empty, and SigAlg and Signature made with the signing key when sign is
// set.
func (idp *IdP) LogoutResponseURL(spLogoutURL, inResponseTo, relayState string, sign bool) (string, error) {
	xml := `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_` + newGUID() +
		`" Version="2.0" IssueInstant="` + xmlTime(idp.now()) + `" Destination="` + escapeAttr(spLogoutURL) +
		`" InResponseTo="` + escapeAttr(inResponseTo) + `"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` +
		escapeAttr(idp.LogoutIssuer()) + `</Issuer><samlp:Status><samlp:StatusCode Value="` + StatusSuccess +
		`"/></samlp:Status></samlp:LogoutResponse>`
	return idp.redirect(spLogoutURL, "SAMLResponse", xml, relayState, sign)
}

// LogoutRequestURL returns spLogoutURL with a LogoutRequest for nameID
// (and sessionIndex when not empty), issued by the EntityID, as Entra sends
// to the other applications of a session when the user signs out of one.
// Signed with the signing key when sign is set. id is the request's ID.
func (idp *IdP) LogoutRequestURL(spLogoutURL, nameID, sessionIndex string, sign bool) (u, id string, err error) {
	id = "_" + newGUID()
	si := ""
	if sessionIndex != "" {
		si = "<samlp:SessionIndex>" + escapeAttr(sessionIndex) + "</samlp:SessionIndex>"
	}
	xml := `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="` + id + `" Version="2.0" IssueInstant="` +
		xmlTime(idp.now()) + `" Destination="` + escapeAttr(spLogoutURL) +
		`"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` + escapeAttr(idp.EntityID()) +
		`</Issuer><NameID xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` + escapeAttr(nameID) + `</NameID>` + si + `</samlp:LogoutRequest>`
	u, err = idp.redirect(spLogoutURL, "SAMLRequest", xml, "", sign)
	return u, id, err
}

// redirect encodes xml for the HTTP-Redirect binding onto dest.
func (idp *IdP) redirect(dest, param, xml, relayState string, sign bool) (string, error) {
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.DefaultCompression)
	if err != nil {
		return "", err
	}
	fw.Write([]byte(xml))
	if err := fw.Close(); err != nil {
		return "", err
	}
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(b.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if sign {
		q += "&SigAlg=" + url.QueryEscape(sigAlgSHA256)
		d := sha256.Sum256([]byte(q))
		sig, err := rsa.SignPKCS1v15(rand.Reader, idp.SigningKey().PrivateKey, crypto.SHA256, d[:])
		if err != nil {
			return "", err
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(dest, "?") {
		sep = "&"
	}
	return dest + sep + q, nil
}

// escapeAttr escapes s for an XML attribute value or text.
func escapeAttr(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
