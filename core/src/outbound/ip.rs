//! Which addresses are publicly routable. A callback URL chosen by a tenant must not reach the
//! service's own network: loopback, private and link-local ranges (cloud metadata lives at
//! 169.254.169.254), and every IPv6 form that embeds such an IPv4 address, since the kernel or a
//! NAT64 gateway turns those into connections to the embedded address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges that are not publicly routable (the IANA special-purpose registry).
const V4_NON_PUBLIC: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),     // "this network", 0.0.0.0 included
    (Ipv4Addr::new(10, 0, 0, 0), 8),    // private
    (Ipv4Addr::new(100, 64, 0, 0), 10), // carrier-grade NAT
    (Ipv4Addr::new(127, 0, 0, 0), 8),   // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16), // link-local
    (Ipv4Addr::new(172, 16, 0, 0), 12), // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),  // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),  // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 168, 0, 0), 16), // private
    (Ipv4Addr::new(198, 18, 0, 0), 15), // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24), // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),   // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),   // reserved, 255.255.255.255 (broadcast) included
];

/// IPv6 ranges that are not publicly routable, whatever follows the prefix.
const V6_NON_PUBLIC: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::UNSPECIFIED, 128),
    (Ipv6Addr::LOCALHOST, 128),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use NAT64
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),     // discard-only
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48),    // benchmarking
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),    // documentation
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),     // unique local
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),    // link-local
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),    // site-local (deprecated)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),     // multicast
];

/// IPv6 prefixes whose last 32 bits are an IPv4 address that the connection ends up at.
const V6_EMBEDDING_V4: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96), // IPv4-mapped
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96),      // IPv4-compatible (deprecated)
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96), // NAT64
];

/// 6to4 (`2002:AABB:CCDD::/48`) carries its IPv4 address in bits 16..48.
const SIX_TO_FOUR: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

fn in_v4(ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// True when `ip` is not publicly routable, or is an IPv6 form of such an IPv4 address.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => V4_NON_PUBLIC.iter().any(|&range| in_v4(v4, range)),
        IpAddr::V6(v6) => {
            if V6_NON_PUBLIC.iter().any(|&range| in_v6(v6, range)) {
                return true;
            }
            let bits = u128::from(v6);
            // Truncations keep the embedded address's bits.
            if V6_EMBEDDING_V4.iter().any(|&range| in_v6(v6, range)) {
                return is_non_public(IpAddr::V4(Ipv4Addr::from(bits as u32)));
            }
            if in_v6(v6, SIX_TO_FOUR) {
                return is_non_public(IpAddr::V4(Ipv4Addr::from((bits >> 80) as u32)));
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_ranges_are_recognised_at_their_edges() {
        // (address, non-public) pairs: each range's first and last address, and its neighbours.
        let cases: &[(&str, bool)] = &[
            ("0.0.0.0", true),
            ("0.255.255.255", true),
            ("1.0.0.0", false),
            ("10.0.0.0", true),
            ("10.255.255.255", true),
            ("11.0.0.0", false),
            ("100.63.255.255", false),
            ("100.64.0.0", true),
            ("100.127.255.255", true),
            ("100.128.0.0", false),
            ("127.0.0.1", true),
            ("127.255.255.254", true),
            ("169.254.169.254", true),
            ("169.255.0.0", false),
            ("172.15.255.255", false),
            ("172.16.0.0", true),
            ("172.31.255.255", true),
            ("172.32.0.0", false),
            ("192.0.0.8", true),
            ("192.0.2.1", true),
            ("192.0.3.0", false),
            ("192.168.1.1", true),
            ("192.169.0.0", false),
            ("198.17.255.255", false),
            ("198.18.0.0", true),
            ("198.19.255.255", true),
            ("198.20.0.0", false),
            ("198.51.100.7", true),
            ("203.0.113.9", true),
            ("203.0.114.0", false),
            ("224.0.0.1", true),
            ("239.255.255.255", true),
            ("240.0.0.1", true),
            ("255.255.255.255", true),
            ("8.8.8.8", false),
            ("93.184.216.34", false),
            ("::", true),
            ("::1", true),
            ("::2", true), // IPv4-compatible 0.0.0.2
            ("fc00::1", true),
            ("fdff:ffff::1", true),
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", true),
            ("feff::1", true),
            ("ff02::1", true),
            ("2001:db8::1", true),
            ("2001:db9::1", false),
            ("2001:2::1", true),
            ("3fff::1", true),
            ("100::1", true),
            ("64:ff9b:1::1", true),
            ("2606:4700:4700::1111", false),
            ("2a00:1450:4001::200e", false),
        ];
        for &(text, expected) in cases {
            let ip: IpAddr = text.parse().expect("test address");
            assert_eq!(is_non_public(ip), expected, "{text}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_judged_by_the_embedded_address() {
        let cases: &[(&str, bool)] = &[
            // IPv4-mapped.
            ("::ffff:127.0.0.1", true),
            ("::ffff:7f00:1", true),
            ("::ffff:10.0.0.1", true),
            ("::ffff:169.254.169.254", true),
            ("::ffff:100.64.0.1", true),
            ("::ffff:0.0.0.0", true),
            ("::ffff:255.255.255.255", true),
            ("::ffff:8.8.8.8", false),
            // IPv4-compatible (deprecated).
            ("::127.0.0.1", true),
            ("::192.168.0.1", true),
            ("::8.8.8.8", false),
            // NAT64.
            ("64:ff9b::127.0.0.1", true),
            ("64:ff9b::a00:1", true),
            ("64:ff9b::169.254.169.254", true),
            ("64:ff9b::8.8.8.8", false),
            // 6to4: 2002:AABB:CCDD:: embeds AA.BB.CC.DD.
            ("2002:7f00:1::", true),
            ("2002:a00:1:1::1", true),
            ("2002:a9fe:a9fe::", true),
            ("2002:c0a8:101::1", true),
            ("2002:808:808::1", false),
        ];
        for &(text, expected) in cases {
            let ip: IpAddr = text.parse().expect("test address");
            assert_eq!(is_non_public(ip), expected, "{text}");
        }
    }
}
