package main

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entrasaml/entrasaml/examples/internal/apptest"
)

// runMainEnv makes the test binary run main instead of the tests, so that
// TestProcess can start the app as a real process.
const runMainEnv = "WEBAPP_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestProcess starts the app exactly as the acceptance suite does, signs
// in, and stops it with SIGTERM.
func TestProcess(t *testing.T) {
	t.Parallel()
	for _, viaEnv := range []bool{false, true} {
		name := "flags"
		if viaEnv {
			name = "environment"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			idp, md := newIdP(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // a small race with other processes; good enough for a test
			root := "http://" + addr

			cmd := exec.Command(os.Args[0], "-addr", addr, "-root-url", root, "-metadata", md, "-entity-id", testEntityID)
			cmd.Env = append(os.Environ(), runMainEnv+"=1")
			if viaEnv {
				cmd.Args = cmd.Args[:1]
				cmd.Env = append(cmd.Env, "WEBAPP_ADDR="+addr, "WEBAPP_ROOT_URL="+root, "WEBAPP_METADATA="+md, "WEBAPP_ENTITY_ID="+testEntityID,
					"WEBAPP_SESSION_KEY="+strings.Repeat("5a", 32))
			}
			var stderr apptest.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if sc.Text() == "open "+root+"/" {
						exited <- nil // started
					}
				}
				exited <- cmd.Wait()
			}()
			t.Cleanup(func() {
				cmd.Process.Kill()
				if t.Failed() {
					t.Logf("app log:\n%s", stderr.String())
				}
			})
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("the app exited: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the app did not print its URL")
			}

			a := &testApp{root: root, addr: addr}
			c := apptest.Browser()
			resp, _ := apptest.Get(t, c, root+"/deep/link")
			req := requireIdPRedirect(t, resp, idp.SignOnURL())
			if req.Issuer != testEntityID {
				t.Errorf("Issuer %q", req.Issuer)
			}
			s, err := idp.Response(req.Response(adele))
			if err != nil {
				t.Fatal(err)
			}
			if resp, _ := a.acs(t, c, s, req.RelayState); !apptest.IsRedirect(resp.StatusCode) || resp.Header.Get("Location") != "/deep/link" {
				t.Fatalf("ACS: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp, body := apptest.Get(t, c, root+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, adele.ObjectID) {
				t.Fatalf("GET /: %d", resp.StatusCode)
			}
			if !strings.Contains(stderr.String(), "level=INFO") {
				t.Errorf("no slog text lines on stderr:\n%s", stderr.String())
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("after SIGTERM: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("the app did not stop on SIGTERM")
			}
		})
	}
}
