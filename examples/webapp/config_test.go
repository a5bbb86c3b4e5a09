package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
)

func resolveTCP(s string) (*net.TCPAddr, error) { return net.ResolveTCPAddr("tcp", s) }

func TestFlags(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("ab", 32)
	env := map[string]string{
		"WEBAPP_ADDR": "127.0.0.1:9000", "WEBAPP_ROOT_URL": "https://env.example", "WEBAPP_METADATA": "env.xml",
		"WEBAPP_ENTITY_ID": "urn:env", "WEBAPP_SESSION_KEY": key, "WEBAPP_ALLOW_IDP_INITIATED": "true",
	}
	getenv := func(k string) string { return env[k] }
	none := func(string) string { return "" }
	addr, _ := resolveTCP("127.0.0.1:8080")

	// Defaults.
	cfg, err := parseFlags(nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.complete(addr); err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:8080" || cfg.rootURL != "http://localhost:8080" || cfg.entityID != "http://localhost:8080/saml/metadata" ||
		cfg.metadataPath != "" || cfg.idpAddr != "127.0.0.1:0" || cfg.sessionKeys != nil || cfg.allowIdPInitiated {
		t.Errorf("defaults: %+v", cfg)
	}

	// The environment.
	cfg, err = parseFlags(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.complete(addr); err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:9000" || cfg.rootURL != "https://env.example" || cfg.entityID != "urn:env" ||
		cfg.metadataPath != "env.xml" || len(cfg.sessionKeys) != 1 || cfg.sessionKeys[0][0] != 0xab || !cfg.allowIdPInitiated {
		t.Errorf("from the environment: %+v", cfg)
	}

	// Flags win.
	cfg, err = parseFlags([]string{"-addr", "127.0.0.1:7000", "-root-url", "http://127.0.0.1:7000/", "-metadata", "flag.xml",
		"-session-key", strings.Repeat("cd", 32) + "," + key, "-allow-idp-initiated=false"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.complete(addr); err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:7000" || cfg.rootURL != "http://127.0.0.1:7000" || cfg.entityID != "urn:env" ||
		cfg.metadataPath != "flag.xml" || len(cfg.sessionKeys) != 2 || cfg.sessionKeys[0][0] != 0xcd || cfg.allowIdPInitiated {
		t.Errorf("flags over the environment: %+v", cfg)
	}

	// -h shows the environment's defaults, but not the key.
	var usage bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, getenv, &usage); err == nil || !strings.Contains(usage.String(), "env.example") || strings.Contains(usage.String(), key) {
		t.Errorf("-h: %v\n%s", err, usage.String())
	}

	// Mistakes.
	for _, args := range [][]string{
		{"-session-key", "abcd"},
		{"-session-key", strings.Repeat("zz", 32)},
		{"-no-such-flag"},
		{"extra"},
	} {
		if _, err := parseFlags(args, none, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
	for _, root := range []string{"localhost:8080", "ftp://x.example", "http://x.example/app", "http://x.example/?q", "http://u@x.example"} {
		cfg, _ := parseFlags([]string{"-root-url", root}, none, io.Discard)
		if err := cfg.complete(addr); err == nil {
			t.Errorf("-root-url %q accepted", root)
		}
	}
}

func TestRunFails(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-addr", "127.0.0.1:0", "-metadata", "/no/such/file.xml"},
		{"-addr", "127.0.0.1:0", "-metadata", "config_test.go"}, // not metadata
		{"-addr", "127.0.0.1:0", "-root-url", "http://x.example/path"},
		{"-addr", "no-port"},
	} {
		var stderr bytes.Buffer
		if err := run(context.Background(), args, io.Discard, &stderr); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
