package entrasaml

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// A session is stored in the Store in a compact binary form that holds
// each value once: the typed claim fields (Groups, Email, …) are written
// out, and an attribute whose values are exactly its typed field's is
// written as a one-byte reference to it; a GUID (a group id) takes 17
// bytes instead of 36. Decoding makes the strings of the Session
// substrings of one copy of the stored bytes (and of one string per list
// for its GUIDs' text), and an attribute and its typed field share one
// slice: a 150-group session is 3.2 KB stored and 13.6 KB in the cache.
//
// Layout (uvarint: encoding/binary's; str: uvarint length, then bytes):
//
//	0x01                                   format
//	16 × str                               NameID … IdentityProvider, in sessionStrings order
//	2 × (varint seconds, uvarint nanos)    AuthnInstant, ExpiresAt (Unix)
//	3 × (uvarint n, n × val)               AuthnMethods, Groups, Roles
//	byte                                   flags: 1 = GroupsOverage
//	uvarint n+1 (0: nil map)               Attributes, n entries in key order:
//	    uvarint k, [str if k = 0]          key: 0 literal, k ≥ 1 sessionClaimNames[k-1]
//	    uvarint v, [(v-1) × val if v ≥ 1]  values: 0 the typed field's, else v-1 values
//
// A val is a GUID in canonical form (lower-case, as Entra writes group and
// object ids) as 0 and its 16 bytes, or any other string as its length
// plus one (uvarint) and its bytes.
//
// Sessions stored by earlier versions are JSON objects of Session (first
// byte '{'); they still decode, so an upgrade signs nobody out. Anything
// else decodes to an error, and the request is treated as signed out.
const sessionFormat1 = 0x01

// sessionClaimNames are the attribute names written as a one-byte code.
// The codes are stored: append only, never reorder.
var sessionClaimNames = [...]string{
	claimTenantID, claimObjectID, claimDisplayName, claimIdentityProvider,
	claimAuthnMethods, claimName, claimEmail, claimGivenName, claimSurname,
	claimGroups, claimRole, claimWIDs, claimGroupsLink,
}

var errSessionEncoding = errors.New("entrasaml: malformed stored session")

// sessionStrings returns pointers to s's single-string fields in their
// stored order.
func sessionStrings(s *Session) [16]*string {
	return [...]*string{
		&s.NameID, &s.NameIDFormat, &s.SessionIndex, &s.AuthnContextClassRef,
		&s.Issuer, &s.AssertionID, &s.InResponseTo, &s.UserID,
		&s.TenantID, &s.ObjectID, &s.Name, &s.Email,
		&s.GivenName, &s.Surname, &s.DisplayName, &s.IdentityProvider,
	}
}

// typedClaim returns the typed field that holds claim name: a list, or a
// single string (the first value). ok is false for a claim without one.
func typedClaim(s *Session, name string) (list *[]string, one *string, ok bool) {
	switch name {
	case claimAuthnMethods:
		return &s.AuthnMethods, nil, true
	case claimGroups:
		return &s.Groups, nil, true
	case claimRole:
		return &s.Roles, nil, true
	case claimTenantID:
		return nil, &s.TenantID, true
	case claimObjectID:
		return nil, &s.ObjectID, true
	case claimName:
		return nil, &s.Name, true
	case claimEmail:
		return nil, &s.Email, true
	case claimGivenName:
		return nil, &s.GivenName, true
	case claimSurname:
		return nil, &s.Surname, true
	case claimDisplayName:
		return nil, &s.DisplayName, true
	case claimIdentityProvider:
		return nil, &s.IdentityProvider, true
	}
	return nil, nil, false
}

// sameAsTyped reports whether vals, attribute name's values, are exactly
// what its typed field holds.
func sameAsTyped(s *Session, name string, vals []string) bool {
	list, one, ok := typedClaim(s, name)
	switch {
	case !ok || len(vals) == 0:
		return false
	case list != nil:
		return slices.Equal(*list, vals)
	default:
		return len(vals) == 1 && vals[0] == *one
	}
}

// encodeSession returns s in the stored form.
func encodeSession(s *Session) []byte {
	b := make([]byte, 0, 512+40*len(s.Groups))
	b = append(b, sessionFormat1)
	for _, p := range sessionStrings(s) {
		b = appendStr(b, *p)
	}
	for _, t := range [...]time.Time{s.AuthnInstant, s.ExpiresAt} {
		b = binary.AppendVarint(b, t.Unix())
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	for _, l := range [...][]string{s.AuthnMethods, s.Groups, s.Roles} {
		b = appendList(b, l)
	}
	var flags byte
	if s.GroupsOverage {
		flags |= 1
	}
	b = append(b, flags)
	if s.Attributes == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Attributes))+1)
	keys := make([]string, 0, len(s.Attributes))
	for k := range s.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if i := slices.Index(sessionClaimNames[:], k); i >= 0 {
			b = binary.AppendUvarint(b, uint64(i)+1)
		} else {
			b = appendStr(append(b, 0), k)
		}
		vals := s.Attributes[k]
		if sameAsTyped(s, k, vals) {
			b = append(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(vals))+1)
		b = appendElems(b, vals)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendList(b []byte, l []string) []byte {
	return appendElems(binary.AppendUvarint(b, uint64(len(l))), l)
}

// appendElems appends the values of a list: a GUID in its canonical form
// (as Entra writes group and object ids) as 0 and its 16 bytes, anything
// else as its length plus one and its bytes.
func appendElems(b []byte, l []string) []byte {
	for _, v := range l {
		if isGUID(v) {
			b = append(b, 0)
			for i := 0; i < len(v); i += 2 {
				if v[i] == '-' {
					i++
				}
				b = append(b, unhex(v[i])<<4|unhex(v[i+1]))
			}
			continue
		}
		b = append(binary.AppendUvarint(b, uint64(len(v))+1), v...)
	}
	return b
}

// isGUID reports whether v is a GUID in canonical form: 36 characters,
// lower-case hex digits with hyphens after the 8th, 12th, 16th and 20th.
func isGUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := range len(v) {
		switch c := v[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f'):
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// decodeSession decodes a stored session, in either form, and returns it
// with an estimate of the bytes of memory it holds besides raw (the strings
// of the binary form are substrings of raw, those of the JSON form
// copies).
func decodeSession(raw string) (*Session, int, error) {
	if raw == "" {
		return nil, 0, errSessionEncoding
	}
	switch raw[0] {
	case sessionFormat1:
		return decodeSession1(raw)
	case '{':
		return decodeSessionJSON(raw)
	}
	return nil, 0, errSessionEncoding
}

// decodeSession1 decodes the binary form; every string of the result is a
// substring of raw, or of one string per list holding its GUIDs' text.
func decodeSession1(raw string) (*Session, int, error) {
	d := decoder{s: raw, i: 1}
	s := new(Session)
	for _, p := range sessionStrings(s) {
		*p = d.str()
	}
	for _, t := range [...]*time.Time{&s.AuthnInstant, &s.ExpiresAt} {
		sec, nsec := d.varint(), d.uvarint()
		if nsec >= 1e9 {
			d.fail()
		}
		*t = time.Unix(sec, int64(nsec)).UTC()
	}
	for _, l := range [...]*[]string{&s.AuthnMethods, &s.Groups, &s.Roles} {
		*l = d.list(d.uvarint())
	}
	flags := d.byte()
	s.GroupsOverage = flags&1 != 0
	if flags&^1 != 0 {
		d.fail()
	}
	if n := d.uvarint(); n > 0 && !d.bad {
		n--
		if n > uint64(len(d.s)-d.i) {
			return nil, 0, errSessionEncoding // more entries than bytes left
		}
		s.Attributes = make(map[string][]string, n)
		last := ""
		for i := range n {
			var k string
			switch c := d.uvarint(); {
			case c == 0:
				k = d.str()
			case c <= uint64(len(sessionClaimNames)):
				k = sessionClaimNames[c-1]
			default:
				d.fail()
			}
			if d.bad || (i > 0 && k <= last) {
				return nil, 0, errSessionEncoding // keys are stored sorted, once each
			}
			last = k
			v := d.uvarint()
			if v > 0 {
				s.Attributes[k] = d.list(v - 1)
				continue
			}
			list, one, ok := typedClaim(s, k)
			switch {
			case !ok:
				d.fail()
			case list != nil && len(*list) > 0:
				s.Attributes[k] = *list
			case list != nil:
				d.fail()
			default:
				s.Attributes[k] = []string{*one}
			}
		}
	}
	if d.bad || d.i != len(d.s) {
		return nil, 0, errSessionEncoding
	}
	return s, sessionHeld(s) + 36*d.guids, nil
}

// decodeSessionJSON decodes a session stored as JSON by earlier versions.
// The attributes that repeat a typed field are made to share it.
func decodeSessionJSON(raw string) (*Session, int, error) {
	s := new(Session)
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		return nil, 0, errSessionEncoding
	}
	held := 0
	for _, p := range sessionStrings(s) {
		held += len(*p)
	}
	for _, l := range [...][]string{s.AuthnMethods, s.Groups, s.Roles} {
		for _, v := range l {
			held += len(v)
		}
	}
	for k, vals := range s.Attributes {
		held += len(k)
		if !sameAsTyped(s, k, vals) {
			for _, v := range vals {
				held += len(v)
			}
			continue
		}
		if list, one, _ := typedClaim(s, k); list != nil {
			s.Attributes[k] = *list
		} else {
			vals[0] = *one
		}
	}
	return s, held + sessionHeld(s), nil
}

// Sizes on 64-bit platforms (checked by TestSessionSizes): a string header,
// a slice header, and the allocation of a Session struct (392 bytes, in the
// allocator's 416-byte size class).
const (
	stringBytes        = 16
	sliceBytes         = 24
	sessionStructBytes = 416
)

// sessionHeld estimates the memory of s's struct, slices and map, without
// the bytes of its strings.
func sessionHeld(s *Session) int {
	n := sessionStructBytes
	n += stringBytes * (cap(s.AuthnMethods) + cap(s.Groups) + cap(s.Roles))
	if s.Attributes != nil {
		n += 48 // map header
	}
	for k, vals := range s.Attributes {
		// A map slot holds a key and a slice header, with about an eighth
		// of a control group; a slice not shared with a typed field has its
		// own backing array.
		n += stringBytes + sliceBytes + 8
		if list, _, ok := typedClaim(s, k); !ok || list == nil || len(vals) == 0 || len(*list) == 0 || &(*list)[0] != &vals[0] {
			n += stringBytes * cap(vals)
		}
	}
	return n
}

// decoder reads the binary form; after the first error, every read
// returns a zero value and bad stays set.
type decoder struct {
	s     string
	i, j  int
	bad   bool
	guids int // GUIDs read: their text is 36 bytes each, outside s
}

func (d *decoder) fail() { d.bad = true; d.i = len(d.s) }

func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := 0; d.i < len(d.s) && shift < 64; shift += 7 {
		c := d.s[d.i]
		d.i++
		if shift == 63 && c > 1 {
			break // overflows 64 bits
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.fail()
	return 0
}

// varint reads a zig-zag encoded signed value (binary.AppendVarint).
func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) byte() byte {
	if d.i >= len(d.s) {
		d.fail()
		return 0
	}
	d.i++
	return d.s[d.i-1]
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.i) {
		d.fail()
		return ""
	}
	v := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return v
}

// list reads a list of n values (appendElems); nil for n = 0. The text of
// the GUIDs is made in one string, which they are substrings of.
func (d *decoder) list(n uint64) []string {
	if n == 0 || d.bad {
		return nil
	}
	if n > uint64(len(d.s)-d.i) {
		d.fail() // every value takes at least a byte
		return nil
	}
	// First pass: check the values and count the GUIDs.
	start, guids := d.i, 0
	for range n {
		if d.elem() {
			guids++
		}
	}
	if d.bad {
		return nil
	}
	end := d.i
	var all string
	if guids > 0 {
		var text strings.Builder
		text.Grow(36 * guids)
		for d.i = start; d.i < end; {
			if d.elem() {
				g := d.s[d.i-16 : d.i]
				for k := range 16 {
					if k == 4 || k == 6 || k == 8 || k == 10 {
						text.WriteByte('-')
					}
					text.WriteByte(hexDigits[g[k]>>4])
					text.WriteByte(hexDigits[g[k]&15])
				}
			}
		}
		all = text.String()
		d.guids += guids
	}
	l := make([]string, n)
	d.i = start
	for i := range l {
		if d.elem() {
			l[i], all = all[:36], all[36:]
		} else {
			l[i] = d.s[d.j:d.i]
		}
	}
	return l
}

const hexDigits = "0123456789abcdef"

// elem reads one value of a list: it reports whether it is a GUID, whose
// 16 bytes end at d.i, or else leaves the value in d.s[d.j:d.i].
func (d *decoder) elem() (guid bool) {
	if d.i < len(d.s) && d.s[d.i] == 0 {
		if len(d.s)-d.i < 17 {
			d.fail()
			return false
		}
		d.i += 17
		return true
	}
	m := d.uvarint()
	if m == 0 || m-1 > uint64(len(d.s)-d.i) {
		d.fail()
		return false
	}
	d.j = d.i
	d.i += int(m - 1)
	return false
}
