package entrasaml

import (
	"slices"
	"testing"
)

// The claim-name table of the Session doc: Entra's URI first and alone
// when sent; other names only when they agree.
func TestFillClaimsPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		attrs  map[string][]string
		email  string
		groups []string
	}{
		{"entra", map[string][]string{claimEmail: {"a@x"}}, "a@x", nil},
		{"entra wins over the others", map[string][]string{claimEmail: {"a@x"}, "email": {"b@x"}, "mail": {"c@x"}}, "a@x", nil},
		{"okta email", map[string][]string{"email": {"b@x"}}, "b@x", nil},
		{"ldap mail oid", map[string][]string{"urn:oid:0.9.2342.19200300.100.1.3": {"c@x"}}, "c@x", nil},
		{"onelogin", map[string][]string{"User.email": {"d@x"}}, "d@x", nil},
		{"agreeing names", map[string][]string{"email": {"b@x"}, "mail": {"b@x"}}, "b@x", nil},
		{"conflicting names: none wins", map[string][]string{"email": {"b@x"}, "mail": {"c@x"}}, "", nil},
		{"entra groups", map[string][]string{claimGroups: {"g1"}, "groups": {"g2"}}, "", []string{"g1"}},
		{"ad fs groups", map[string][]string{"http://schemas.xmlsoap.org/claims/Group": {"Domain Users"}}, "", []string{"Domain Users"}},
		{"groups and memberOf agree", map[string][]string{"groups": {"a", "b"}, "memberOf": {"a", "b"}}, "", []string{"a", "b"}},
		{"groups and memberOf differ", map[string][]string{"groups": {"a"}, "memberOf": {"a", "b"}}, "", nil},
		{"unknown names", map[string][]string{"e-mail": {"x"}, "Role": {"r"}}, "", nil},
	}
	for _, tt := range tests {
		s := &Session{Attributes: tt.attrs}
		s.fillClaims()
		if s.Email != tt.email || !slices.Equal(s.Groups, tt.groups) {
			t.Errorf("%s: Email %q Groups %q, want %q %q", tt.name, s.Email, s.Groups, tt.email, tt.groups)
		}
		if len(s.Roles) != 0 {
			t.Errorf("%s: Roles %q from a non-Entra name", tt.name, s.Roles)
		}
	}
}
