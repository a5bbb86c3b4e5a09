package main

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/beevik/etree"
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"

	maxMessage = 1 << 20 // bytes of XML this command reads
)

// decoded is what decode prints: the message's key fields, unverified.
type decoded struct {
	Parameter    string   `json:"parameter"` // SAMLRequest or SAMLResponse
	Kind         string   `json:"kind"`      // AuthnRequest, LogoutRequest, LogoutResponse, ...
	ID           string   `json:"id,omitempty"`
	IssueInstant string   `json:"issue_instant,omitempty"`
	Destination  string   `json:"destination,omitempty"`
	Issuer       string   `json:"issuer,omitempty"`
	InResponseTo string   `json:"in_response_to,omitempty"`
	ACSURL       string   `json:"acs_url,omitempty"`
	NameIDFormat string   `json:"nameid_policy_format,omitempty"`
	AuthnContext []string `json:"requested_authn_context,omitempty"`
	ForceAuthn   string   `json:"force_authn,omitempty"`
	IsPassive    string   `json:"is_passive,omitempty"`
	NameID       string   `json:"name_id,omitempty"`
	SessionIndex []string `json:"session_index,omitempty"`
	Status       []string `json:"status,omitempty"`
	RelayState   string   `json:"relay_state,omitempty"`
	Signed       bool     `json:"query_signature"` // a Signature parameter is present (not verified)
	SigAlg       string   `json:"sig_alg,omitempty"`
	Problems     []string `json:"problems"`
	XML          string   `json:"xml"`
}

// runDecode decodes a SAML message from a Redirect-binding URL. Exit 1 when
// the message holds something Entra refuses.
func runDecode(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("decode", "decode [-json] URL", stderr)
	asJSON := fs.Bool("json", false, "print the message as JSON")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageErr(stderr, fs, "give one URL (quote it for the shell)")
	}
	d, err := decodeRedirect(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "entrasaml decode: %v\n", err)
		return exitProblem
	}
	if *asJSON {
		writeJSON(stdout, d)
	} else {
		printDecoded(stdout, d)
	}
	if len(d.Problems) > 0 {
		return exitProblem
	}
	return exitOK
}

func decodeRedirect(raw string) (*decoded, error) {
	raw = strings.TrimSpace(raw)
	query := raw
	if u, err := url.Parse(raw); err == nil && (u.Scheme != "" || u.RawQuery != "") {
		query = u.RawQuery
	}
	q, err := url.ParseQuery(strings.TrimPrefix(query, "?"))
	if err != nil {
		return nil, fmt.Errorf("the query string cannot be read: %v", err)
	}
	d := &decoded{Problems: []string{}}
	var value string
	for _, p := range []string{"SAMLRequest", "SAMLResponse"} {
		if v := q.Get(p); v != "" {
			d.Parameter, value = p, v
			break
		}
	}
	if value == "" {
		return nil, errors.New("the URL has no SAMLRequest or SAMLResponse parameter")
	}
	d.RelayState = q.Get("RelayState")
	d.SigAlg = q.Get("SigAlg")
	d.Signed = q.Get("Signature") != ""
	data, err := decodeBase64(value)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %v", d.Parameter, err)
	}
	xml, err := inflate(data)
	if err != nil {
		// The POST binding does not deflate: accept plain XML too.
		if !looksLikeXML(data) {
			return nil, fmt.Errorf("%s is neither DEFLATE-compressed (HTTP-Redirect binding) nor XML", d.Parameter)
		}
		xml = data
	}
	d.XML = string(xml)
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(xml); err != nil || doc.Root() == nil {
		return nil, fmt.Errorf("%s is not well-formed XML", d.Parameter)
	}
	d.describe(doc.Root())
	return d, nil
}

func (d *decoded) describe(root *etree.Element) {
	d.Kind = root.Tag
	d.ID = root.SelectAttrValue("ID", "")
	d.IssueInstant = root.SelectAttrValue("IssueInstant", "")
	d.Destination = root.SelectAttrValue("Destination", "")
	d.InResponseTo = root.SelectAttrValue("InResponseTo", "")
	d.ACSURL = root.SelectAttrValue("AssertionConsumerServiceURL", "")
	d.ForceAuthn = root.SelectAttrValue("ForceAuthn", "")
	d.IsPassive = root.SelectAttrValue("IsPassive", "")
	if iss := firstChild(root, nsAssertion, "Issuer"); iss != nil {
		d.Issuer = strings.TrimSpace(iss.Text())
	}
	if p := firstChild(root, nsProtocol, "NameIDPolicy"); p != nil {
		d.NameIDFormat = p.SelectAttrValue("Format", "")
	}
	if rac := firstChild(root, nsProtocol, "RequestedAuthnContext"); rac != nil {
		for _, c := range rac.ChildElements() {
			d.AuthnContext = append(d.AuthnContext, strings.TrimSpace(c.Text()))
		}
	}
	if n := firstChild(root, nsAssertion, "NameID"); n != nil {
		d.NameID = strings.TrimSpace(n.Text())
	}
	for _, s := range root.ChildElements() {
		if s.Tag == "SessionIndex" && s.NamespaceURI() == nsProtocol {
			d.SessionIndex = append(d.SessionIndex, strings.TrimSpace(s.Text()))
		}
	}
	if st := firstChild(root, nsProtocol, "Status"); st != nil {
		for c := firstChild(st, nsProtocol, "StatusCode"); c != nil; c = firstChild(c, nsProtocol, "StatusCode") {
			d.Status = append(d.Status, c.SelectAttrValue("Value", ""))
		}
	}

	// What Entra is known to refuse in an AuthnRequest.
	if d.Kind != "AuthnRequest" {
		return
	}
	if d.ID == "" || d.ID[0] >= '0' && d.ID[0] <= '9' {
		d.Problems = append(d.Problems, "The request ID is missing or starts with a digit: Entra answers AADSTS7500529.")
	}
	if d.Issuer == "" {
		d.Problems = append(d.Problems, "The request has no Issuer: Entra cannot tell which application it is for (AADSTS700016).")
	}
	if firstChild(root, nsAssertion, "Subject") != nil {
		d.Problems = append(d.Problems, "The request has a Subject, which Entra refuses (AADSTS900236): use the login_hint query parameter instead.")
	}
	if firstChild(root, nsProtocol, "Scoping") != nil {
		d.Problems = append(d.Problems, "The request has a Scoping element, which Entra does not support (AADSTS900236).")
	}
	switch d.NameIDFormat {
	case "", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient":
	default:
		d.Problems = append(d.Problems, "The NameIDPolicy Format is not one Entra supports (AADSTS75016).")
	}
	if len(d.AuthnContext) > 0 {
		d.Problems = append(d.Problems, "The request asks for an authentication context: any user who signed in another way gets AADSTS75011. Send none unless required.")
	}
	if d.SigAlg != "" && !d.Signed || d.Signed && d.SigAlg == "" {
		d.Problems = append(d.Problems, "SigAlg and Signature must come together.")
	}
}

func printDecoded(w io.Writer, d *decoded) {
	fmt.Fprintf(w, "%s (%s, unverified)\n", clean(d.Kind, false), d.Parameter)
	field(w, "ID:", d.ID)
	field(w, "IssueInstant:", d.IssueInstant)
	field(w, "Destination:", d.Destination)
	field(w, "Issuer:", d.Issuer)
	field(w, "InResponseTo:", d.InResponseTo)
	field(w, "ACS URL:", d.ACSURL)
	field(w, "NameIDPolicy:", d.NameIDFormat)
	field(w, "AuthnContext:", strings.Join(d.AuthnContext, ", "))
	field(w, "ForceAuthn:", d.ForceAuthn)
	field(w, "IsPassive:", d.IsPassive)
	field(w, "NameID:", d.NameID)
	field(w, "SessionIndex:", strings.Join(d.SessionIndex, ", "))
	field(w, "Status:", strings.Join(d.Status, " / "))
	field(w, "RelayState:", d.RelayState)
	if d.Signed {
		fmt.Fprintf(w, "%-15s present, %s (not verified)\n", "Signature:", clean(d.SigAlg, false))
	} else {
		fmt.Fprintf(w, "%-15s none (the query string is not signed)\n", "Signature:")
	}
	for _, p := range d.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
	fmt.Fprintf(w, "\n%s\n", clean(d.XML, true))
}

// decodeBase64 accepts base64 as people copy it: standard or URL-safe
// alphabet, with or without padding, with whitespace and line breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		case '-':
			return '+'
		case '_':
			return '/'
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	return base64RawStd.DecodeString(s)
}

// inflate undoes the Redirect binding's DEFLATE, reading at most
// maxMessage bytes.
func inflate(data []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(data))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxMessage+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxMessage {
		return nil, fmt.Errorf("the message inflates to more than %d bytes", maxMessage)
	}
	return out, nil
}

func looksLikeXML(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// firstChild returns el's first child element with this namespace and
// local name, or nil.
func firstChild(el *etree.Element, ns, local string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}
