package onboard

import (
	"errors"
	"net"
	"testing"
)

// PublicOnlyHTTPClient's dialer refuses every address that the IANA IPv4
// and IPv6 Special-Purpose Address Registries do not mark globally
// reachable (one row per registry entry, plus the blocks outside IPv6
// global unicast), and still connects to public addresses, including
// NAT64 and 6to4 forms of a public IPv4 address.
func TestRefuseNonPublic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr   string
		public bool
		what   string
	}{
		// IPv4 Special-Purpose Address Registry.
		{"0.0.0.0", false, "0.0.0.0/8 this host on this network"},
		{"0.1.2.3", false, "0.0.0.0/8 this network"},
		{"10.0.0.1", false, "10.0.0.0/8 private"},
		{"100.64.0.1", false, "100.64.0.0/10 shared address space"},
		{"100.127.255.254", false, "100.64.0.0/10 shared address space, last"},
		{"127.0.0.1", false, "127.0.0.0/8 loopback"},
		{"127.255.0.1", false, "127.0.0.0/8 loopback"},
		{"169.254.169.254", false, "169.254.0.0/16 link-local"},
		{"172.16.0.1", false, "172.16.0.0/12 private"},
		{"172.31.255.254", false, "172.16.0.0/12 private, last"},
		{"192.0.0.1", false, "192.0.0.0/24 IETF protocol assignments"},
		{"192.0.0.0", false, "192.0.0.0/29 IPv4 service continuity prefix"},
		{"192.0.0.8", false, "192.0.0.8/32 IPv4 dummy address"},
		{"192.0.0.9", false, "192.0.0.9/32 PCP anycast (globally reachable; refused with its block)"},
		{"192.0.0.10", false, "192.0.0.10/32 TURN anycast (globally reachable; refused with its block)"},
		{"192.0.0.170", false, "192.0.0.170/32 NAT64/DNS64 discovery"},
		{"192.0.0.171", false, "192.0.0.171/32 NAT64/DNS64 discovery"},
		{"192.0.2.1", false, "192.0.2.0/24 TEST-NET-1"},
		{"192.88.99.1", false, "192.88.99.0/24 deprecated 6to4 relay anycast"},
		{"192.168.1.1", false, "192.168.0.0/16 private"},
		{"198.18.0.1", false, "198.18.0.0/15 benchmarking"},
		{"198.19.255.254", false, "198.18.0.0/15 benchmarking, last"},
		{"198.51.100.1", false, "198.51.100.0/24 TEST-NET-2"},
		{"203.0.113.1", false, "203.0.113.0/24 TEST-NET-3"},
		{"224.0.0.1", false, "224.0.0.0/4 multicast"},
		{"240.0.0.1", false, "240.0.0.0/4 reserved"},
		{"255.255.255.254", false, "240.0.0.0/4 reserved, last"},
		{"255.255.255.255", false, "255.255.255.255/32 limited broadcast"},
		{"192.31.196.1", true, "192.31.196.0/24 AS112-v4 (globally reachable)"},
		{"192.52.193.1", true, "192.52.193.0/24 AMT (globally reachable)"},
		{"192.175.48.1", true, "192.175.48.0/24 AS112 direct delegation (globally reachable)"},

		// IPv6 Special-Purpose Address Registry.
		{"::1", false, "::1/128 loopback"},
		{"::", false, "::/128 unspecified"},
		{"::ffff:10.0.0.1", false, "::ffff:0:0/96 IPv4-mapped private"},
		{"::ffff:127.0.0.1", false, "::ffff:0:0/96 IPv4-mapped loopback"},
		{"::10.0.0.1", false, "::/96 IPv4-compatible (deprecated)"},
		{"::8.8.8.8", false, "::/96 IPv4-compatible, public IPv4"},
		{"64:ff9b::a00:1", false, "64:ff9b::/96 NAT64 of 10.0.0.1"},
		{"64:ff9b::7f00:1", false, "64:ff9b::/96 NAT64 of 127.0.0.1"},
		{"64:ff9b::a9fe:a9fe", false, "64:ff9b::/96 NAT64 of 169.254.169.254"},
		{"64:ff9b::c612:1", false, "64:ff9b::/96 NAT64 of 198.18.0.1"},
		{"64:ff9b:1::a00:1", false, "64:ff9b:1::/48 local-use NAT64"},
		{"64:ff9b:1::808:808", false, "64:ff9b:1::/48 local-use NAT64, public IPv4"},
		{"100::1", false, "100::/64 discard-only"},
		{"100:0:0:1::1", false, "100:0:0:1::/64 dummy prefix"},
		{"2001::1", false, "2001::/32 Teredo"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "2001::/32 Teredo"},
		{"2001:1::1", false, "2001:1::1/128 PCP anycast (globally reachable; refused with 2001::/23)"},
		{"2001:1::2", false, "2001:1::2/128 TURN anycast (globally reachable; refused with 2001::/23)"},
		{"2001:1::3", false, "2001:1::3/128 DNS-SD SRP anycast (globally reachable; refused with 2001::/23)"},
		{"2001:2::1", false, "2001:2::/48 benchmarking"},
		{"2001:3::1", false, "2001:3::/32 AMT (globally reachable; refused with 2001::/23)"},
		{"2001:4:112::1", false, "2001:4:112::/48 AS112-v6 (globally reachable; refused with 2001::/23)"},
		{"2001:10::1", false, "2001:10::/28 deprecated ORCHID"},
		{"2001:20::1", false, "2001:20::/28 ORCHIDv2 (refused with 2001::/23)"},
		{"2001:30::1", false, "2001:30::/28 drone remote ID (refused with 2001::/23)"},
		{"2001:1ff:ffff::1", false, "2001::/23, last"},
		{"2001:db8::1", false, "2001:db8::/32 documentation"},
		{"2002:a00:1::1", false, "2002::/16 6to4 of 10.0.0.1"},
		{"2002:7f00:1::1", false, "2002::/16 6to4 of 127.0.0.1"},
		{"2002:c000:201::1", false, "2002::/16 6to4 of 192.0.2.1"},
		{"3fff::1", false, "3fff::/20 documentation"},
		{"5f00::1", false, "5f00::/16 segment routing SIDs"},
		{"fc00::1", false, "fc00::/7 unique local"},
		{"fd12:3456::1", false, "fc00::/7 unique local"},
		{"fe80::1", false, "fe80::/10 link-local"},
		{"fe80::1%eth0", false, "fe80::/10 link-local with zone"},
		{"fec0::1", false, "fec0::/10 deprecated site-local"},
		{"ff02::1", false, "ff00::/8 multicast"},
		{"4000::1", false, "outside 2000::/3, unassigned"},
		{"2620:4f:8000::1", true, "2620:4f:8000::/48 AS112 direct delegation (globally reachable)"},

		// Public addresses connect.
		{"8.8.8.8", true, "public IPv4"},
		{"20.190.128.1", true, "Entra login (public IPv4)"},
		{"1.1.1.1", true, "public IPv4"},
		{"223.255.255.254", true, "last before multicast"},
		{"::ffff:8.8.8.8", true, "IPv4-mapped public"},
		{"2603:1026::1", true, "public IPv6"},
		{"2001:200::1", true, "2001:200::/23, just past the IETF block"},
		{"2001:4860:4860::8888", true, "public IPv6"},
		{"64:ff9b::808:808", true, "NAT64 of 8.8.8.8 (DNS64 on an IPv6-only host)"},
		{"64:ff9b::14be:8001", true, "NAT64 of 20.190.128.1"},
		{"2002:808:808::1", true, "6to4 of 8.8.8.8"},
	} {
		err := refuseNonPublic("tcp", net.JoinHostPort(tc.addr, "443"), nil)
		if tc.public && err != nil {
			t.Errorf("%s (%s): refused: %v", tc.addr, tc.what, err)
		}
		if !tc.public && !errors.Is(err, errNonPublicAddress) {
			t.Errorf("%s (%s): %v, want errNonPublicAddress", tc.addr, tc.what, err)
		}
	}
}
