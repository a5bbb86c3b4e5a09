package entrasaml_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/entrasaml/entrasaml"
)

func TestRequireGroupAndRole(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	member := &entrasaml.Session{Groups: []string{"g1", "g2"}, Roles: []string{"Admin"}}
	overage := &entrasaml.Session{GroupsOverage: true}
	tests := []struct {
		name string
		mw   func(http.Handler) http.Handler
		s    *entrasaml.Session
		code int
		want string
	}{
		{"member", entrasaml.RequireGroup("g0", "g2"), member, 200, "ok"},
		{"not member", entrasaml.RequireGroup("g3"), member, 403, "Access denied"},
		{"overage", entrasaml.RequireGroup("g1"), overage, 403, "too many groups"},
		{"role", entrasaml.RequireRole("Admin"), member, 200, "ok"},
		{"role is case-sensitive", entrasaml.RequireRole("admin"), member, 403, "Access denied"},
		{"no session", entrasaml.RequireRole("Admin"), nil, 401, "authentication required"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if tt.s != nil {
			req = req.WithContext(entrasaml.ContextWithSession(req.Context(), tt.s))
		}
		rec := httptest.NewRecorder()
		tt.mw(ok).ServeHTTP(rec, req)
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, rec.Code, rec.Body.String(), tt.code, tt.want)
		}
	}
}
