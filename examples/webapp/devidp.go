package main

import (
	"fmt"
	"log/slog"

	"github.com/entrasaml/entrasaml/entratest"
	"github.com/entrasaml/entrasaml/examples/internal/devidp"
)

// The development IdP's fixed tenant and its demo users' object ids (the
// signing key is new at every start). The IdP itself is package devidp,
// shared with the other examples.
const (
	devTenantID    = "9188040d-6c67-4c5b-b112-36a304b66dad"
	devDomain      = "contoso.onmicrosoft.com"
	adeleObjectID  = "6e7b768e-07e2-4810-8459-485f84f8f204"
	meganObjectID  = "48d31887-5fad-4d73-a9f5-3c356e68a038"
	ursulaObjectID = "c8f2b4f4-1d5e-4a2b-9b8e-7d3c6a5f0e19"
	gradyObjectID  = "e8ffb3b7-37cf-4ea6-a0f3-0c4a56b7e5a2"
)

// newDevIdP returns the development IdP, served at origin.
func newDevIdP(origin string, logger *slog.Logger) (*devidp.IdP, error) {
	return devidp.New(devidp.Options{LoginURL: origin, TenantID: devTenantID, Accounts: demoUsers(), Logger: logger})
}

// demoUsers are the development IdP's accounts.
func demoUsers() []devidp.Account {
	megan := make([]string, 150) // Entra's maximum before the overage claim
	for i := range megan {
		megan[i] = devidp.GUID(fmt.Sprintf("megan group %d", i))
	}
	user := func(oid, first, last, upn string, groups, roles []string) entratest.User {
		return entratest.User{ObjectID: oid, UPN: upn + "@" + devDomain, Email: upn + "@" + devDomain,
			GivenName: first, Surname: last, DisplayName: first + " " + last, Groups: groups, Roles: roles}
	}
	guid := devidp.GUID
	return []devidp.Account{
		{Key: "adele", Note: "3 groups, role Admin",
			User: user(adeleObjectID, "Adele", "Vance", "AdeleV",
				[]string{guid("sales"), guid("managers"), guid("all staff")}, []string{"Admin"}),
			Extra: []entratest.Attribute{{Name: "department", Values: []string{"R&D <Labs>"}}}},
		{Key: "megan", Note: "150 groups, Entra's maximum before overage",
			User: user(meganObjectID, "Megan", "Bowen", "MeganB", megan, []string{"Reader"})},
		{Key: "ursula", Note: "signs in at the IdP, but the app has no account for her",
			User: user(ursulaObjectID, "Ursula", "Unprovisioned", "UrsulaU", nil, nil)},
		{Key: "grady", Note: "over 150 groups: Entra sends groups.link instead",
			User: func() entratest.User {
				u := user(gradyObjectID, "Grady", "Overage", "GradyO", nil, nil)
				u.GroupsOverage = true
				return u
			}()},
	}
}
