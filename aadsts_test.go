package entrasaml_test

import (
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
)

// TestStatusErrorHint checks that the AADSTS codes a SAML application
// meets have a hint naming what to change, and unknown codes none.
func TestStatusErrorHint(t *testing.T) {
	t.Parallel()
	tests := []struct{ code, want string }{
		{"AADSTS50011", "Reply URL"},
		{"AADSTS700016", "Identifier (Entity ID)"},
		{"AADSTS75011", "RequestedAuthnContext"},
		{"AADSTS50105", "Users and groups"},
		{"AADSTS50058", "IsPassive"},
		{"AADSTS90023", "HTTP-Redirect"},
		{"AADSTS750054", "query"},
		{"AADSTS75005", "entrasaml decode"},
		{"AADSTS7500514", "SAML 2.0"},
		{"AADSTS50126", "password"},
		{"AADSTS53003", "Conditional Access"},
		{"AADSTS900236", "login_hint"},
		{"AADSTS99999999", ""},
		{"", ""},
	}
	for _, tt := range tests {
		h := (&entrasaml.StatusError{Code: tt.code}).Hint()
		if tt.want == "" && h != "" || !strings.Contains(h, tt.want) {
			t.Errorf("%s: hint %q, want it to mention %q", tt.code, h, tt.want)
		}
	}
}
