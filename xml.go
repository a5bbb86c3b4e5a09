package entrasaml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/entrasaml/entrasaml/internal/samlxml"
)

// XML namespaces, as they appear on the wire.
const (
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
	nsExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"

	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	cmBearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

	// Digest algorithms, for signatures (DigestMethod) and for RSA-OAEP.
	algSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	algSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	algSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

// parseXML parses one XML document strictly (samlxml.Parse: no DTD or
// entity declarations, no processing instructions but the XML declaration,
// nothing but whitespace outside the single root element, no duplicate
// attributes and bounded depth). Any violation is ErrMalformed (or
// sentinel, for metadata).
func parseXML(data []byte, sentinel error) (*etree.Element, error) {
	root, err := samlxml.Parse(data)
	if err != nil {
		var pe *samlxml.ParseError
		errors.As(err, &pe)
		return nil, &Error{Err: sentinel, Reason: pe.Reason, cause: pe.Cause}
	}
	return root, nil
}

// The readers below are samlxml's, under the names this package's files
// use.

// is reports whether el is the element {ns}local.
func is(el *etree.Element, ns, local string) bool { return samlxml.Is(el, ns, local) }

// children returns el's child elements named {ns}local.
func children(el *etree.Element, ns, local string) []*etree.Element {
	return samlxml.Children(el, ns, local)
}

// child returns el's only child element named {ns}local, nil when there is
// none, and ok=false when there are several.
func child(el *etree.Element, ns, local string) (*etree.Element, bool) {
	return samlxml.Child(el, ns, local)
}

// attr returns the value of el's unqualified attribute key.
func attr(el *etree.Element, key string) (string, bool) { return samlxml.Attr(el, key) }

func attrValue(el *etree.Element, key string) string { return samlxml.AttrValue(el, key) }

// text returns all character data directly inside el, concatenated: a
// comment never truncates it (samlxml.Text). ok is false when el holds
// child elements.
func text(el *etree.Element) (string, bool) { return samlxml.Text(el) }

// trimmedText is text with surrounding XML whitespace removed.
func trimmedText(el *etree.Element) (string, bool) { return samlxml.TrimmedText(el) }

// parseTime parses an xs:dateTime as SAML uses it (UTC, optional fraction).
func parseTime(s string) (time.Time, bool) { return samlxml.ParseTime(s) }

// xmlEscape writes s to w escaped for XML text and attribute values.
func xmlEscape(w *bytes.Buffer, s string) {
	if !strings.ContainsAny(s, `<>&"'`+"\t\n\r") {
		w.WriteString(s)
		return
	}
	xml.EscapeText(w, []byte(s)) // writes to a bytes.Buffer never fail
}
