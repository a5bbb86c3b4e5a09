package entrasaml

import (
	"bytes"
	"testing"
	"time"
)

func TestSafeReturnPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/orders/42?tab=open#x", "/orders/42?tab=open#x"},
		{"/a%20b", "/a%20b"},
		{"/search?q=https://evil.example", "/search?q=https://evil.example"},
		{"", "/"},
		{"orders", "/"},
		{"//evil.example", "/"},
		{"//evil.example/path", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"https://evil.example", "/"},
		{"http:evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{"/%2Fevil.example", "/"},
		{"/%2fevil.example", "/"},
		{"%2F%2Fevil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%5cevil.example", "/"},
		{"/%252F%252Fevil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/a\\b", "/"},
		{"/%zz", "/"},
		{"%2Fevil", "/"},
		{"javascript%3Aalert(1)", "/"},
	}
	for _, tt := range tests {
		if got := safeReturnPath(tt.in); got != tt.want {
			t.Errorf("safeReturnPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSealer(t *testing.T) {
	t.Parallel()
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := newSealer([][]byte{k1})
	rotated, _ := newSealer([][]byte{k2, k1})
	only2, _ := newSealer([][]byte{k2})
	ad := []byte("ad")
	v := old.seal([]byte("payload"), ad)
	if got, err := rotated.open(v, ad); err != nil || string(got) != "payload" {
		t.Errorf("rotated keys: %q %v", got, err)
	}
	if _, err := only2.open(v, ad); err == nil {
		t.Error("opened with a key that did not seal")
	}
	if _, err := old.open(v, []byte("other")); err == nil {
		t.Error("opened with other additional data")
	}
	tampered := []byte(v)
	tampered[len(tampered)/2] ^= 1
	if _, err := old.open(string(tampered), ad); err == nil {
		t.Error("opened a tampered value")
	}
	for _, bad := range []string{"", "!!!", "AAAA", string(make([]byte, 5000))} {
		if _, err := old.open(bad, ad); err == nil {
			t.Errorf("opened %q", bad)
		}
	}
}

func TestPayload(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	p := encodePayload(now.Add(time.Minute), "id", "/path")
	if f, ok := decodePayload(p, now, 2); !ok || f[0] != "id" || f[1] != "/path" {
		t.Errorf("got %q %v", f, ok)
	}
	if _, ok := decodePayload(p, now.Add(time.Minute), 2); ok {
		t.Error("expired payload accepted")
	}
	if _, ok := decodePayload(p, now, 1); ok {
		t.Error("wrong field count accepted")
	}
	if _, ok := decodePayload([]byte{1, 2}, now, 1); ok {
		t.Error("short payload accepted")
	}
}
