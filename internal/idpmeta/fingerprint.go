package idpmeta

import (
	"encoding/hex"
	"strings"
)

// ParseFingerprint parses a certificate's SHA-256 fingerprint written in
// hex, with or without colons or spaces (as openssl and the Entra portal
// show them), as Config.MetadataSigners and a registry's pinned signers
// hold them. ok is false for anything else.
func ParseFingerprint(s string) (fp [32]byte, ok bool) {
	h := strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(fp) {
		return fp, false
	}
	copy(fp[:], b)
	return fp, true
}
