package entrasaml

import (
	"encoding/base64"
	"net/http"

	"github.com/entrasaml/entrasaml/internal/page"
)

// authnRequestSender builds the AuthnRequest of a sign-in and returns how
// to send the browser with it: a redirect to the IdP's HTTP-Redirect
// sign-on URL, or, for an IdP that lists an HTTP-POST one only
// (IdPMetadata.SignOnPOSTURL), a page that posts it there at once. A
// posted AuthnRequest is not signed, even with Config.Key (the POST
// binding would need an enveloped XML signature): the IdPs that list only
// HTTP-POST do not ask for signed requests by default.
func (sp *SP) authnRequestSender(relayState string) (send func(http.ResponseWriter, *http.Request), id string, err error) {
	st := sp.idp.Load()
	if st.md.SignOnURL != "" || st.md.SignOnPOSTURL == "" {
		u, id, err := sp.AuthnRequestURL(relayState)
		if err != nil {
			return nil, "", err
		}
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, u.String(), http.StatusSeeOther) }, id, nil
	}
	if len(relayState) > maxRelayState {
		return nil, "", newErr(ErrConfig, "RelayState is %d bytes; the HTTP-POST binding allows %d", len(relayState), maxRelayState)
	}
	if err := sp.checkAuthnOptions(sp.authn); err != nil {
		return nil, "", err
	}
	acs := max(sp.acsIndex(sp.authn.ACSURL), 0)
	id = requestID(acs)
	buf := getBuffer()
	defer putBuffer(buf)
	writeAuthnRequest(&buf.xml, id, sp.now().UTC(), st.md.SignOnPOSTURL, sp.entityID, sp.acsURLs[acs], sp.authn)
	fields := []page.Field{{Name: "SAMLRequest", Value: base64.StdEncoding.EncodeToString(buf.xml.Bytes())}}
	if relayState != "" {
		fields = append(fields, page.Field{Name: "RelayState", Value: relayState})
	}
	action := st.md.SignOnPOSTURL
	return func(w http.ResponseWriter, r *http.Request) { page.WritePost(w, action, fields...) }, id, nil
}
