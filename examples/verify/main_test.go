package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`RelayState "/orders/42"`, `"nameID": "adele@contoso.example"`, `"objectID": "5d0c3c8e-8f2b-4d9a-9e43-2b7f1c6a9d10"`, "assertion replayed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
