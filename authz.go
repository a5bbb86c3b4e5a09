package entrasaml

import (
	"net/http"

	"github.com/entrasaml/entrasaml/internal/page"
)

// RequireGroup wraps next so that it runs only for signed-in users who are
// members of at least one of the groups (Entra group object ids, as the
// groups claim sends them). Use it inside RequireAccount:
//
//	mux.Handle("/admin/", sp.RequireAccount(entrasaml.RequireGroup(adminsGroupID)(admin)))
//
// A request without a session gets 401; a user in none of the groups, or
// whose groups Entra did not send (Session.GroupsOverage: more than 150
// groups, unless Config.Provision filled Session.Groups in), gets a 403
// page.
func RequireGroup(groups ...string) func(http.Handler) http.Handler {
	return requireClaim("group", groups, func(s *Session, g string) bool { return s.HasGroup(g) })
}

// RequireRole is RequireGroup for Entra app roles (the role claim): the
// user must hold at least one of roles.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	return requireClaim("role", roles, func(s *Session, r string) bool { return s.HasRole(r) })
}

func requireClaim(kind string, want []string, has func(*Session, string) bool) func(http.Handler) http.Handler {
	want = append([]string(nil), want...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := SessionFromContext(r.Context())
			if !ok {
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			for _, v := range want {
				if has(s, v) {
					next.ServeHTTP(w, r)
					return
				}
			}
			msg := "Your account does not have the " + kind + " this page needs. Ask your administrator for access."
			if kind == "group" && s.GroupsOverage && len(s.Groups) == 0 {
				msg = "Your account is in too many groups for Entra ID to list them in the sign-in. " +
					"Ask your administrator to assign the needed group to the application, or to use app roles."
			}
			page.Write(w, http.StatusForbidden, "Access denied", msg, "", "/")
		})
	}
}
