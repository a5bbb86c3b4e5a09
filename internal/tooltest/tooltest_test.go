package tooltest

import (
	"os/exec"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	t.Parallel()
	goPath, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	if got := (Tool{Commands: []string{"entrasaml-no-such-tool", "go"}}).Find(); got != goPath {
		t.Errorf("Find = %q, want the second command, %q", got, goPath)
	}
	if got := (Tool{Commands: []string{"entrasaml-no-such-tool"}, Globs: []string{"/entrasaml-no-such-dir/*"}}).Find(); got != "" {
		t.Errorf("Find = %q for a missing tool", got)
	}
	for _, tool := range []Tool{XMLSec1(), RedisServer(), Chromium(), PostgreSQL()} {
		if in := tool.Install(); !strings.Contains(in, "apt-get install "+tool.Debian) || !strings.Contains(in, "brew install "+tool.Homebrew) {
			t.Errorf("%s: Install() = %q", tool.Name, in)
		}
	}
}
