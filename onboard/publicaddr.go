package onboard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"

	"github.com/entrasaml/entrasaml"
)

// nonPublicPrefixes are the ranges that PublicOnlyHTTPClient refuses,
// beyond what netip.Addr.IsGlobalUnicast and IsPrivate already exclude:
// every entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries
// that is not globally reachable, plus whole blocks where refusing a few
// globally reachable anycast entries inside them costs nothing (no
// metadata server lives at 192.0.0.9, 2001:1::1 or an ORCHID).
//
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) are not listed: they carry
// an IPv4 address, which is judged instead (see publicAddr).
var nonPublicPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		// IPv4 (RFC 6890 and successors).
		"0.0.0.0/8",          // "this network"
		"10.0.0.0/8",         // private
		"100.64.0.0/10",      // shared address space (carrier-grade NAT, some clouds' internal ranges)
		"127.0.0.0/8",        // loopback
		"169.254.0.0/16",     // link-local (cloud metadata services)
		"172.16.0.0/12",      // private
		"192.0.0.0/24",       // IETF protocol assignments (whole block, anycast 192.0.0.9/10 included)
		"192.0.2.0/24",       // TEST-NET-1
		"192.88.99.0/24",     // deprecated 6to4 relay anycast
		"192.168.0.0/16",     // private
		"198.18.0.0/15",      // benchmarking
		"198.51.100.0/24",    // TEST-NET-2
		"203.0.113.0/24",     // TEST-NET-3
		"224.0.0.0/4",        // multicast
		"240.0.0.0/4",        // reserved
		"255.255.255.255/32", // limited broadcast
		// IPv6: only 2000::/3 is global unicast (IANA IPv6 Address Space),
		// which leaves out ::/128, ::1/128, IPv4-compatible ::/96,
		// 64:ff9b:1::/48 (local-use NAT64), 100::/64 (discard),
		// 100:0:0:1::/64 (dummy), 5f00::/16 (SRv6 SIDs), fc00::/7, fe80::/10,
		// fec0::/10 and ff00::/8; within it:
		"2001::/23",     // IETF protocol assignments: Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID …
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64          = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known prefix: IPv4 in the last 32 bits
	sixToFour      = netip.MustParsePrefix("2002::/16")    // RFC 3056: IPv4 in bits 16–47
)

// publicAddr reports whether ip is globally reachable per the IANA
// special-purpose registries. An IPv4-mapped IPv6 address is the IPv4
// address it maps. A NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address
// reaches the IPv4 address it embeds, so it is public exactly when that
// one is: an IPv6-only host behind DNS64 sees Entra's public addresses in
// that form, while 64:ff9b::10.0.0.1 would reach the internal network
// through the translator. The local-use NAT64 prefix 64:ff9b:1::/48 is
// refused outright: where its IPv4 sits depends on the operator's prefix
// length, and it is not globally reachable by definition.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid() || ip.Zone() != "":
		return false
	case nat64.Contains(ip):
		b := ip.As16()
		return publicAddr(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		b := ip.As16()
		return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
	case ip.Is6() && !globalUnicast6.Contains(ip):
		return false
	case !ip.IsGlobalUnicast() || ip.IsPrivate():
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var errNonPublicAddress = errors.New("onboard: refusing to connect to a non-public address")

// PublicOnlyHTTPClient returns an HTTP client for URLs that come from
// outside, such as a metadata URL a customer's admin sends: it connects
// directly (no proxy) and only to globally reachable unicast addresses, on
// every redirect too: no loopback, private, link-local, 100.64.0.0/10,
// documentation, benchmarking, reserved or other special-purpose address
// of the IANA registries, and no NAT64 or 6to4 address embedding such an
// IPv4 address (Teredo and local-use NAT64 are refused outright). It has a
// entrasaml.DefaultMetadataTimeout timeout. [Check] uses it by default; give it to
// entrasaml.Config.HTTPClient when Config.MetadataURL came from a customer, so that
// refreshes cannot be aimed at internal hosts.
func PublicOnlyHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: entrasaml.DefaultMetadataTimeout, Control: refuseNonPublic}
	return &http.Client{
		Timeout: entrasaml.DefaultMetadataTimeout,
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: entrasaml.DefaultMetadataTimeout,
			DisableKeepAlives:   true,
			ForceAttemptHTTP2:   true,
		},
	}
}

func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !publicAddr(ip) {
		return fmt.Errorf("%w %s", errNonPublicAddress, ip.Unmap())
	}
	return nil
}
