package tenants_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml"
	"github.com/entrasaml/entrasaml/tenants"
)

const fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

func TestCustomerValidate(t *testing.T) {
	t.Parallel()
	md := []byte("<EntityDescriptor/>") // Validate does not parse metadata
	good := tenants.Customer{Key: "acme.vendor.example", EntityID: "https://acme.vendor.example/saml",
		BaseURL: "https://acme.vendor.example", Metadata: md, Enabled: true, Enforced: true,
		MetadataSigners: []string{fp}, Options: tenants.Options{ClockSkew: time.Minute, SessionMaxAge: time.Hour}}
	for _, tc := range []struct {
		name string
		mod  func(*tenants.Customer)
		ok   bool
	}{
		{"good", func(*tenants.Customer) {}, true},
		{"path mode", func(c *tenants.Customer) { c.Key, c.BaseURL = "acme", "https://vendor.example/acme/" }, true},
		{"IPv6 host", func(c *tenants.Customer) { c.Key, c.BaseURL = "2001:db8::1", "https://[2001:db8::1]:8443" }, true},
		{"port in BaseURL", func(c *tenants.Customer) { c.BaseURL = "https://acme.vendor.example:8443" }, true},
		{"URL only", func(c *tenants.Customer) {
			c.Metadata, c.MetadataURL = nil, "https://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml?appid=a"
		}, true},
		{"disabled without metadata", func(c *tenants.Customer) { c.Metadata, c.Enabled, c.Enforced = nil, false, false }, true},
		{"no key", func(c *tenants.Customer) { c.Key = "" }, false},
		{"key not canonical", func(c *tenants.Customer) { c.Key = "ACME.vendor.example" }, false},
		{"key with port", func(c *tenants.Customer) { c.Key = "acme.vendor.example:443" }, false},
		{"key with slash", func(c *tenants.Customer) { c.Key, c.BaseURL = "a/b", "https://vendor.example/a/b" }, false},
		{"no EntityID", func(c *tenants.Customer) { c.EntityID = "" }, false},
		{"BaseURL of another host", func(c *tenants.Customer) { c.BaseURL = "https://globex.vendor.example" }, false},
		{"BaseURL of a suffix host", func(c *tenants.Customer) { c.BaseURL = "https://acme.vendor.example.evil.example" }, false},
		{"BaseURL deeper path", func(c *tenants.Customer) { c.Key, c.BaseURL = "acme", "https://vendor.example/x/acme" }, false},
		{"BaseURL relative", func(c *tenants.Customer) { c.BaseURL = "/acme" }, false},
		{"BaseURL with query", func(c *tenants.Customer) { c.BaseURL = "https://acme.vendor.example?x=1" }, false},
		{"BaseURL ftp", func(c *tenants.Customer) { c.BaseURL = "ftp://acme.vendor.example" }, false},
		{"enabled without metadata", func(c *tenants.Customer) { c.Metadata = nil }, false},
		{"enforced but disabled", func(c *tenants.Customer) { c.Enabled = false }, false},
		{"metadata too large", func(c *tenants.Customer) { c.Metadata = make([]byte, entrasaml.MaxMetadataSize+1) }, false},
		{"metadata URL not http", func(c *tenants.Customer) { c.MetadataURL = "file:///etc/passwd" }, false},
		{"bad fingerprint", func(c *tenants.Customer) { c.MetadataSigners = []string{"abc"} }, false},
		{"negative skew", func(c *tenants.Customer) { c.Options.ClockSkew = -time.Second }, false},
		{"huge skew", func(c *tenants.Customer) { c.Options.ClockSkew = time.Hour }, false},
		{"tiny session", func(c *tenants.Customer) { c.Options.SessionMaxAge = time.Second }, false},
	} {
		c := good
		tc.mod(&c)
		err := c.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, tenants.ErrInvalidCustomer)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestCustomerConfig(t *testing.T) {
	t.Parallel()
	store := entrasaml.NewMemoryStore(nil)
	provision := func(context.Context, *entrasaml.Session) error { return nil }
	tmpl := entrasaml.Config{EntityID: "template", BaseURL: "https://template.example", Metadata: []byte("x"),
		Store: store, SessionKeys: vendorKeys, Provision: provision, Logger: quietLogger, ClockSkew: time.Minute,
		AllowSHA1: true, MetadataMaxAge: time.Hour}
	c := tenants.Customer{Key: "acme.vendor.example", EntityID: "https://acme.vendor.example/saml", BaseURL: "https://acme.vendor.example",
		MetadataURL: "https://login.example/md", MetadataSigners: []string{fp},
		Options: tenants.Options{AllowIdPInitiated: true, SessionMaxAge: time.Hour, LocalLogoutOnly: true}}
	cfg := c.Config(tmpl)
	switch {
	case cfg.EntityID != c.EntityID || cfg.BaseURL != c.BaseURL || cfg.Metadata != nil || cfg.MetadataURL != c.MetadataURL:
		t.Errorf("customer fields not set: %+v", cfg)
	case len(cfg.MetadataSigners) != 1 || !cfg.AllowIdPInitiated || cfg.AllowSHA1 || cfg.ClockSkew != 0 ||
		cfg.SessionMaxAge != time.Hour || !cfg.LocalLogoutOnly:
		t.Errorf("options not set over the template: %+v", cfg)
	case cfg.Store != store || cfg.Logger != quietLogger || cfg.Provision == nil || len(cfg.SessionKeys) != 1 ||
		cfg.MetadataMaxAge != time.Hour:
		t.Errorf("template fields lost: %+v", cfg)
	}
	if tmpl.EntityID != "template" {
		t.Error("Config changed the template")
	}
}

// The MemoryRegistry's writes follow the RegistryWriter contract.
func TestMemoryRegistryWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var reg tenants.MemoryRegistry
	c := fleetCustomer(1, []byte("<md/>"))
	if _, err := reg.Lookup(ctx, c.Key); !errors.Is(err, tenants.ErrNotFound) {
		t.Fatalf("empty registry: %v", err)
	}
	c.Version = 7 // expects an existing customer
	if _, err := reg.Put(ctx, c); !errors.Is(err, tenants.ErrConflict) {
		t.Errorf("Put of a new customer with a version: %v", err)
	}
	c.Version = 0
	v1, err := reg.Put(ctx, c)
	if err != nil || v1 <= 0 {
		t.Fatalf("Put: %d %v", v1, err)
	}
	if _, err := reg.Put(ctx, c); !errors.Is(err, tenants.ErrConflict) {
		t.Errorf("second create: %v", err)
	}
	got, err := reg.Lookup(ctx, c.Key)
	if err != nil || got.Version != v1 || got.EntityID != c.EntityID || !got.Enabled {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	got.Enforced = true
	v2, err := reg.Put(ctx, got)
	if err != nil || v2 <= v1 {
		t.Fatalf("update: %d %v", v2, err)
	}
	if _, err := reg.Put(ctx, got); !errors.Is(err, tenants.ErrConflict) { // got.Version is v1: stale
		t.Errorf("update from a stale read: %v", err)
	}
	bad := got
	bad.Version, bad.BaseURL = v2, "https://evil.example"
	if _, err := reg.Put(ctx, bad); !errors.Is(err, tenants.ErrInvalidCustomer) {
		t.Errorf("invalid customer: %v", err)
	}
	v3, err := reg.Disable(ctx, c.Key)
	if got, _ := reg.Lookup(ctx, c.Key); err != nil || v3 <= v2 || got.Version != v3 || got.Enabled || got.Enforced {
		t.Errorf("Disable: %d %v %+v", v3, err, got)
	}
	if _, err := reg.Disable(ctx, "nobody.example"); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("Disable of nobody: %v", err)
	}
	if err := reg.Delete(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	if err := reg.Delete(ctx, c.Key); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if _, err := reg.Lookup(ctx, c.Key); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("Lookup after Delete: %v", err)
	}
	// Created again, it gets a version never seen for any key.
	v4, err := reg.Put(ctx, c)
	if err != nil || v4 <= v3 || reg.Len() != 1 {
		t.Errorf("re-create: %d %v, %d customers", v4, err, reg.Len())
	}
}

// Watch says "" first, then every written key, and stops with ctx.
func TestMemoryRegistryWatch(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var reg tenants.MemoryRegistry
	var mu sync.Mutex
	var seen []string
	subscribed, got := make(chan struct{}), make(chan struct{}, 16)
	done := make(chan error)
	go func() {
		done <- reg.Watch(ctx, func(key string) {
			if key == "" {
				close(subscribed)
				return
			}
			mu.Lock()
			seen = append(seen, key)
			mu.Unlock()
			got <- struct{}{}
		})
	}()
	<-subscribed
	c := fleetCustomer(2, []byte("<md/>"))
	if _, err := reg.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	<-got
	reg.Disable(ctx, c.Key)
	<-got
	reg.Delete(ctx, c.Key)
	<-got
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch returned %v", err)
	}
	if strings.Join(seen, ",") != strings.Repeat(c.Key+",", 2)+c.Key {
		t.Errorf("seen %q", seen)
	}
}
