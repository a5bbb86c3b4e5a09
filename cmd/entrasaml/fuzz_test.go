package main

import (
	"encoding/base64"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExplain: whatever is pasted, explain (display only, no metadata)
// neither panics nor reports a usage error, and says what it found.
func FuzzExplain(f *testing.F) {
	for _, name := range []string{"response-signed.xml", "response-error.xml", "response-unsolicited.xml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		b64 := base64.StdEncoding.EncodeToString(data)
		f.Add(string(data))
		f.Add(b64)
		f.Add("SAMLResponse=" + url.QueryEscape(b64) + "&RelayState=x")
	}
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		var out strings.Builder
		code := run([]string{"explain", "-json"}, strings.NewReader(in), &out, io.Discard)
		if code != exitOK && code != exitProblem || !strings.Contains(out.String(), `"findings"`) {
			t.Fatalf("exit %d\n%s", code, out.String())
		}
	})
}
