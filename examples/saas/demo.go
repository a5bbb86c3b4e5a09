package main

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/entrasaml/entrasaml/entratest"
)

// demoTenant is a made-up customer whose Entra tenant is a development IdP
// started by the app.
type demoTenant struct {
	name, domain string
	people       []person
}

type person struct {
	key, first, last string
	groups, roles    []string
}

// builtinDemos are the customers the app starts with; extraDemos are
// suggested by the operator console's "demo tenant" button. Each has its
// own people, so the IdP's picker and the customer's page show whose
// tenant signed in.
var (
	builtinDemos = []string{"acme", "globex"}
	// selfServeDemos start with a development IdP but no SSO: their admin
	// sets it up at /admin.
	selfServeDemos = []string{"wayne"}
	extraDemos     = []string{"initech", "umbrella", "hooli"}
	demoTenants    = map[string]demoTenant{
		"acme": {"Acme Corporation", "acmecorp.onmicrosoft.com", []person{
			{"wile", "Wile E.", "Coyote", []string{"Rockets", "Anvils", "Schemes"}, []string{"Admin"}},
			{"roadrunner", "Road", "Runner", []string{"Couriers"}, nil},
		}},
		"globex": {"Globex Corporation", "globexcorp.onmicrosoft.com", []person{
			{"hank", "Hank", "Scorpio", []string{"Executives", "Doomsday devices"}, []string{"Owner"}},
			{"homer", "Homer", "Simpson", nil, nil},
		}},
		"initech": {"Initech", "initech.onmicrosoft.com", []person{
			{"peter", "Peter", "Gibbons", []string{"Software"}, nil},
			{"milton", "Milton", "Waddams", []string{"Basement"}, []string{"Stapler"}},
		}},
		"umbrella": {"Umbrella Corporation", "umbrellacorp.onmicrosoft.com", []person{
			{"alice", "Alice", "Abernathy", []string{"Security"}, nil},
			{"albert", "Albert", "Wesker", []string{"Research", "Security"}, []string{"Admin"}},
		}},
		"wayne": {"Wayne Enterprises", "wayneenterprises.onmicrosoft.com", []person{
			{"bruce", "Bruce", "Wayne", []string{"Board", "Applied Sciences"}, []string{"Owner"}},
			{"alfred", "Alfred", "Pennyworth", []string{"Household"}, nil},
		}},
		"hooli": {"Hooli", "hooli.onmicrosoft.com", []person{
			{"gavin", "Gavin", "Belson", []string{"Executives"}, []string{"Owner"}},
			{"jian", "Jian", "Yang", nil, nil},
		}},
	}
)

// demoFor returns the demo tenant of slug: a known one, or a generic one
// named after the slug.
func demoFor(slug string) demoTenant {
	if t, ok := demoTenants[slug]; ok {
		return t
	}
	return demoTenant{strings.ToUpper(slug[:1]) + slug[1:], slug + ".onmicrosoft.com", []person{
		{"alex", "Alex", "Wilber", []string{"Staff"}, nil},
		{"diego", "Diego", "Siciliani", []string{"Staff", "Managers"}, []string{"Admin"}},
	}}
}

// accounts are the tenant's accounts on its development IdP's picker, with
// ids derived from the slug, so that they are the same at every start.
func (t demoTenant) accounts(slug string) []entratest.Account {
	var out []entratest.Account
	for _, p := range t.people {
		u := entratest.User{
			ObjectID: guid(slug + "/" + p.key), UPN: p.key + "@" + t.domain, Email: p.key + "@" + t.domain,
			GivenName: p.first, Surname: p.last, DisplayName: p.first + " " + p.last, Roles: p.roles,
		}
		for _, g := range p.groups {
			u.Groups = append(u.Groups, guid(slug+" group "+g))
		}
		out = append(out, entratest.Account{Key: p.key, User: u,
			Note: fmt.Sprintf("%d groups%s", len(p.groups), roleNote(p.roles))})
	}
	return out
}

func roleNote(roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	return ", role " + strings.Join(roles, ", ")
}

// loopbackClient fetches the metadata of the development IdPs, which
// listen on loopback: onboard.Check's default client refuses loopback and
// private addresses, rightly, for URLs that come from outside. Never give
// it URLs a customer typed.
var loopbackClient = &http.Client{Timeout: 10 * time.Second}

// idpPool runs the development IdPs, each on its own port.
type idpPool struct {
	cfg    *config
	logger *slog.Logger

	mu      sync.Mutex
	started int // IdPs started, for -idp-addr's next port
	servers []*entratest.Server
}

// start starts the development IdP of the demo customer slug (entratest's
// Server with a "Pick an account" page), on another site than the
// customer's, and returns it with a function that stops it.
func (p *idpPool) start(slug string, t demoTenant) (*entratest.Server, func(), error) {
	ln, err := p.listen()
	if err != nil {
		return nil, nil, fmt.Errorf("development IdP of %s: %w", slug, err)
	}
	d, err := entratest.NewUnstartedServer(entratest.Options{TenantID: guid("parcelry demo tenant " + slug)})
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	d.Listener = ln
	if d.URL, err = entratest.CrossSiteURL(p.cfg.origin(slug), ln.Addr()); err != nil {
		d.Close()
		return nil, nil, err
	}
	d.Start()
	if err := d.SetPicker(&entratest.Picker{TenantName: t.name, Accounts: t.accounts(slug)}); err != nil {
		d.Close()
		return nil, nil, err
	}
	d.SetLogoutURL(p.cfg.origin(slug) + "/saml/logout") // as the customer's admin registers it in Entra
	p.logger.Info("development IdP started", "customer", slug, "url", d.URL)
	p.mu.Lock()
	p.servers = append(p.servers, d)
	p.mu.Unlock()
	return d, d.Close, nil
}

// listen listens on -idp-addr, on the next port when it names one.
func (p *idpPool) listen() (net.Listener, error) {
	host, port, _ := net.SplitHostPort(p.cfg.idpAddr)
	p.mu.Lock()
	n, _ := strconv.Atoi(port)
	if n != 0 {
		n += p.started
	}
	p.started++
	p.mu.Unlock()
	return net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(n)))
}

// shutdown stops every development IdP.
func (p *idpPool) shutdown() {
	p.mu.Lock()
	servers := p.servers
	p.mu.Unlock()
	for _, srv := range servers {
		srv.Close() // idempotent
	}
}

// guid derives a stable GUID-shaped id from s, for demo object, group
// and tenant ids.
func guid(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
