//! What may be blocked or allowlisted: one IPv4 or IPv6 address or a CIDR range, parsed into
//! its canonical network so that `192.0.2.7`, `192.0.2.7/32` and `::ffff:192.0.2.7` are one
//! target, stored and compared as one string.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{Error, Result};

/// How [`parse_target_with`] judges a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRules {
    /// Accept ranges broader than /8 (IPv4) or /16 (IPv6). Off by default: a typo such as
    /// `10.0.0.0/1` would otherwise block half the internet, the operator included.
    pub allow_broad: bool,
    /// The field named in errors (`ipAddress` for the API, a config key for the allowlist).
    pub field: &'static str,
}

impl Default for TargetRules {
    fn default() -> Self {
        Self {
            allow_broad: false,
            field: "ipAddress",
        }
    }
}

/// The narrowest IPv4 prefix refused as too broad is `/7`.
const MIN_V4_PREFIX: u8 = 8;
/// The narrowest IPv6 prefix refused as too broad is `/15`.
const MIN_V6_PREFIX: u8 = 16;
/// Longer input cannot be an address (the longest IPv6 CIDR text is 49 bytes).
const MAX_TARGET_LEN: usize = 64;

/// Parses a block or allowlist target with the default [`TargetRules`] (field `ipAddress`,
/// broad ranges refused). See [`parse_target_with`].
pub fn parse_target(s: &str) -> Result<IpNet> {
    parse_target_with(s, TargetRules::default())
}

/// Parses an IPv4 or IPv6 address or CIDR range into its canonical network: host bits
/// cleared (`192.0.2.7/24` is `192.0.2.0/24`), a plain address as /32 or /128, and an
/// IPv4-mapped IPv6 address or range (`::ffff:192.0.2.7`) as IPv4, since a dual-stack socket
/// reports IPv4 clients that way. Zone ids (`fe80::1%eth0`) are refused: they name an
/// interface, not a host.
pub fn parse_target_with(s: &str, rules: TargetRules) -> Result<IpNet> {
    let invalid = |message: String| Error::invalid_input(rules.field, message);
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    let shape = "must be an IPv4 or IPv6 address or CIDR range (192.0.2.7, 198.51.100.0/24, \
                 2001:db8::/48)";
    if s.len() > MAX_TARGET_LEN {
        return Err(invalid(shape.into()));
    }
    let net = if s.contains('/') {
        s.parse::<IpNet>().map_err(|_| invalid(shape.into()))?
    } else {
        IpNet::from(s.parse::<IpAddr>().map_err(|_| invalid(shape.into()))?)
    };
    let net = canonical_net(net);
    if !rules.allow_broad {
        let (prefix, min, family) = match net {
            IpNet::V4(n) => (n.prefix_len(), MIN_V4_PREFIX, "IPv4"),
            IpNet::V6(n) => (n.prefix_len(), MIN_V6_PREFIX, "IPv6"),
        };
        if prefix < min {
            return Err(invalid(format!(
                "{family} range /{prefix} is too broad (narrowest refused is /{}); \
                 ranges broader than /{min} need an explicit override",
                min - 1
            )));
        }
    }
    Ok(net)
}

/// The address as the rules compare it: an IPv4-mapped IPv6 address becomes IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Host bits cleared and mapped IPv6 ranges that lie wholly in `::ffff:0:0/96` as IPv4.
fn canonical_net(net: IpNet) -> IpNet {
    match net.trunc() {
        IpNet::V6(n) if n.prefix_len() >= 96 => match n.addr().to_ipv4_mapped() {
            Some(v4) => match Ipv4Net::new(v4, n.prefix_len() - 96) {
                Ok(v4net) => IpNet::V4(v4net.trunc()),
                Err(_) => IpNet::V6(n),
            },
            None => IpNet::V6(n),
        },
        other => other,
    }
}

/// The single-host network of `ip`, canonical (for automatic bans of one address).
pub fn host_net(ip: IpAddr) -> IpNet {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::from(v4)),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::from(v6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn targets_parse_to_their_canonical_network() {
        let cases = [
            ("192.0.2.7", "192.0.2.7/32"),
            (" 192.0.2.7/32 ", "192.0.2.7/32"),
            ("192.0.2.7/24", "192.0.2.0/24"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("2001:DB8:0:0::1", "2001:db8::1/128"),
            ("2001:db8:aa:bb::1/48", "2001:db8:aa::/48"),
            ("::ffff:192.0.2.7", "192.0.2.7/32"),
            ("::ffff:192.0.2.7/120", "192.0.2.0/24"),
            ("::1", "::1/128"),
        ];
        for (input, want) in cases {
            let got = parse_target(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.to_string(), want, "{input}");
        }
    }

    #[test]
    fn malformed_targets_name_the_field() {
        for bad in [
            "",
            "   ",
            "example.com",
            "192.0.2",
            "192.0.2.256",
            "010.0.0.1",
            "192.0.2.7/33",
            "2001:db8::/129",
            "fe80::1%eth0",
            "192.0.2.7/",
            "/24",
            "1.2.3.4/-1",
            "1.2.3.4 5.6.7.8",
            &"1".repeat(100),
        ] {
            match parse_target(bad) {
                Err(Error::InvalidInput { field, message }) => {
                    assert_eq!(field, "ipAddress");
                    assert!(!message.is_empty());
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn broad_ranges_need_the_override() {
        for (input, ok_by_default) in [
            ("0.0.0.0/0", false),
            ("10.0.0.0/7", false),
            ("10.0.0.0/8", true),
            ("::/0", false),
            ("2001::/15", false),
            ("2001::/16", true),
        ] {
            assert_eq!(parse_target(input).is_ok(), ok_by_default, "{input}");
            let broad = TargetRules {
                allow_broad: true,
                ..TargetRules::default()
            };
            assert!(parse_target_with(input, broad).is_ok(), "{input}");
        }
    }

    #[test]
    fn errors_use_the_configured_field() {
        let rules = TargetRules {
            field: "security.ignoreip",
            ..TargetRules::default()
        };
        match parse_target_with("nope", rules) {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "security.ignoreip"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mapped_addresses_become_ipv4() {
        let mapped: IpAddr = "::ffff:198.51.100.9".parse().expect("literal");
        assert_eq!(canonical_ip(mapped).to_string(), "198.51.100.9");
        let v6: IpAddr = "2001:db8::9".parse().expect("literal");
        assert_eq!(canonical_ip(v6), v6);
        assert_eq!(host_net(mapped).to_string(), "198.51.100.9/32");
    }

    proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point(a in any::<u32>(), p in 8u8..=32, b in any::<u128>(), q in 16u8..=128) {
            for input in [
                format!("{}/{p}", std::net::Ipv4Addr::from(a)),
                format!("{}/{q}", std::net::Ipv6Addr::from(b)),
            ] {
                let first = parse_target(&input).expect("valid by construction");
                let again = parse_target(&first.to_string()).expect("canonical text parses");
                prop_assert_eq!(first, again);
                prop_assert_eq!(first, first.trunc());
            }
        }

        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = parse_target(&s);
        }
    }
}
