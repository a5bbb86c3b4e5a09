package idpmeta

import "strings"

// TenantCertCN is the subject of Entra's tenant-wide token-signing
// certificates, which the tenant-level federation metadata lists. An
// enterprise application's SAML tokens are signed with its own certificate
// ("CN=Microsoft Azure Federated SSO Certificate"), listed only in the
// app-specific metadata (…/federationmetadata.xml?appid=…).
const TenantCertCN = "accounts.accesscontrol.windows.net"

// TenantLevel reports whether d is Entra's tenant-level federation
// metadata: an Entra entity ID and only the tenant's own certificates, none
// of which signs an enterprise application's SAML tokens.
func TenantLevel(d *Document) bool {
	if d == nil || d.TenantID == "" || len(d.Certificates) == 0 {
		return false
	}
	for _, c := range d.Certificates {
		if !strings.EqualFold(c.Subject.CommonName, TenantCertCN) {
			return false
		}
	}
	return true
}
