//! A compiled set of networks checked on every request: the allowlist (`ignoreip`) and the
//! blocklist of active blocks.
//!
//! Lookup masks the address once per distinct prefix length present and probes a hash map,
//! longest prefix first: a list of single addresses (the common case: automatic bans) costs
//! one hash probe however long it grows, and the most specific entry wins.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use time::OffsetDateTime;

use super::target::{TargetRules, canonical_ip, parse_target_with};
use crate::error::Result;
use crate::security::Block;

/// A set of IPv4/IPv6 networks, each carrying a label `T` (`()` for a plain set, the
/// [`Block`] for the blocklist).
#[derive(Debug, Clone)]
pub struct IpSet<T = ()> {
    entries: Vec<(IpNet, T)>,
    /// (prefix length, masked network -> entry index), longest prefix first.
    v4: Vec<(u8, HashMap<u32, usize>)>,
    v6: Vec<(u8, HashMap<u128, usize>)>,
    skipped: usize,
}

impl<T> Default for IpSet<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            v4: Vec::new(),
            v6: Vec::new(),
            skipped: 0,
        }
    }
}

/// fail2ban's default `ignoreip`: the loopback networks, so that an operator on the host
/// can never lock themselves out.
pub fn default_allowlist() -> IpSet {
    // Literal, valid networks: parsing cannot fail.
    IpSet::new(
        ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|s| s.parse().ok()),
    )
}

/// Inserts `key -> index` unless `key` is already there; whether it was inserted.
fn vacant_insert<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, usize>,
    key: K,
    index: usize,
) -> bool {
    match map.entry(key) {
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(index);
            true
        }
        std::collections::hash_map::Entry::Occupied(_) => false,
    }
}

fn mask4(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

impl IpSet<()> {
    /// A set of `nets` (canonicalised; duplicates keep the first).
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        Self::from_entries(nets.into_iter().map(|n| (n, ())))
    }

    /// Parses every item with `rules` (a config list such as `security.ignoreip`); the first
    /// bad item fails the whole list, so that a typo never silently shrinks an allowlist.
    pub fn parse<S: AsRef<str>>(items: &[S], rules: TargetRules) -> Result<Self> {
        let nets = items
            .iter()
            .map(|s| parse_target_with(s.as_ref(), rules))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::new(nets))
    }
}

impl IpSet<Block> {
    /// The blocklist at `now`: the blocks in force, each matched by its target. A stored
    /// target that no longer parses (it was validated on the way in, so only a hand-edited
    /// row) is left out and counted in [`IpSet::skipped`] for the caller to report.
    pub fn from_blocks(blocks: &[Block], now: OffsetDateTime) -> Self {
        let broad = TargetRules {
            allow_broad: true,
            ..TargetRules::default()
        };
        let mut skipped = 0;
        let entries: Vec<(IpNet, Block)> = blocks
            .iter()
            .filter(|b| b.is_active(now))
            .filter_map(|b| match parse_target_with(&b.target, broad) {
                Ok(net) => Some((net, b.clone())),
                Err(_) => {
                    skipped += 1;
                    None
                }
            })
            .collect();
        let mut set = Self::from_entries(entries);
        set.skipped = skipped;
        set
    }

    /// The block in force for `ip`, the most specific if several match.
    pub fn block_for(&self, ip: IpAddr) -> Option<&Block> {
        self.get(ip).map(|(_, b)| b)
    }
}

impl<T> IpSet<T> {
    /// A set of labelled networks (canonicalised: host bits cleared; a network listed twice
    /// keeps its first label).
    pub fn from_entries(entries: impl IntoIterator<Item = (IpNet, T)>) -> Self {
        let mut set = Self::default();
        let mut v4: HashMap<u8, HashMap<u32, usize>> = HashMap::new();
        let mut v6: HashMap<u8, HashMap<u128, usize>> = HashMap::new();
        for (net, label) in entries {
            let net = net.trunc();
            let index = set.entries.len();
            let fresh = match net {
                IpNet::V4(n) => vacant_insert(
                    v4.entry(n.prefix_len()).or_default(),
                    u32::from(n.network()),
                    index,
                ),
                IpNet::V6(n) => vacant_insert(
                    v6.entry(n.prefix_len()).or_default(),
                    u128::from(n.network()),
                    index,
                ),
            };
            if fresh {
                set.entries.push((net, label));
            }
        }
        set.v4 = v4.into_iter().collect();
        set.v4.sort_by_key(|level| std::cmp::Reverse(level.0));
        set.v6 = v6.into_iter().collect();
        set.v6.sort_by_key(|level| std::cmp::Reverse(level.0));
        set
    }

    /// Whether `ip` (or its IPv4 form, if it is IPv4-mapped) lies in any network of the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.index_of(ip).is_some()
    }

    /// The index (in insertion order, after duplicates were dropped) of the most specific
    /// network holding `ip`.
    pub fn index_of(&self, ip: IpAddr) -> Option<usize> {
        match canonical_ip(ip) {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(p, level)| level.get(&(a & mask4(*p))).copied())
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(p, level)| level.get(&(a & mask6(*p))).copied())
            }
        }
    }

    /// The most specific network holding `ip`, with its label.
    pub fn get(&self, ip: IpAddr) -> Option<&(IpNet, T)> {
        self.index_of(ip).and_then(|i| self.entries.get(i))
    }

    /// The networks and labels, in insertion order.
    pub fn entries(&self) -> &[(IpNet, T)] {
        &self.entries
    }

    /// How many networks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many inputs were left out because their target did not parse.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::BlockSource;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test literal")
    }

    fn set(items: &[&str]) -> IpSet {
        IpSet::parse(items, TargetRules::default()).expect("valid test targets")
    }

    #[test]
    fn membership_table() {
        let s = set(&[
            "192.0.2.7",
            "198.51.100.0/24",
            "10.0.0.0/8",
            "2001:db8::/48",
            "::1",
        ]);
        for (addr, want) in [
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("198.51.100.255", true),
            ("198.51.101.0", false),
            ("10.255.255.255", true),
            ("11.0.0.0", false),
            ("2001:db8:0:ffff::1", true),
            ("2001:db8:1::1", false),
            ("::1", true),
            ("::2", false),
            ("::ffff:192.0.2.7", true),
            ("::ffff:10.9.9.9", true),
        ] {
            assert_eq!(s.contains(ip(addr)), want, "{addr}");
        }
    }

    #[test]
    fn default_allowlist_holds_loopback_only() {
        let s = default_allowlist();
        assert!(s.contains(ip("127.0.0.1")));
        assert!(s.contains(ip("127.8.9.10")));
        assert!(s.contains(ip("::1")));
        assert!(s.contains(ip("::ffff:127.0.0.1")));
        assert!(!s.contains(ip("192.0.2.1")));
        assert!(!s.contains(ip("::2")));
    }

    #[test]
    fn most_specific_entry_wins_and_duplicates_keep_the_first() {
        let s = set(&["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "10.0.0.0/8"]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.index_of(ip("10.1.2.3")), Some(2));
        assert_eq!(s.index_of(ip("10.1.9.9")), Some(1));
        assert_eq!(s.index_of(ip("10.9.9.9")), Some(0));
    }

    #[test]
    fn a_bad_allowlist_item_fails_the_whole_list() {
        assert!(IpSet::parse(&["127.0.0.1", "localhost"], TargetRules::default()).is_err());
    }

    fn block(id: &str, target: &str, expires: Option<OffsetDateTime>) -> Block {
        Block {
            id: id.into(),
            target: target.into(),
            reason: "test".into(),
            source: BlockSource::Manual,
            created_by: "admin-token".into(),
            created_at: datetime!(2026-01-01 00:00 UTC),
            expires_at: expires,
            lifted_at: None,
        }
    }

    #[test]
    fn blocklist_keeps_only_active_blocks_and_names_the_match() {
        let now = datetime!(2026-01-01 12:00 UTC);
        let mut lifted = block("b3", "192.0.2.9", None);
        lifted.lifted_at = Some(now);
        let blocks = vec![
            block("b1", "192.0.2.7/32", None),
            block(
                "b2",
                "198.51.100.0/24",
                Some(datetime!(2026-01-01 11:00 UTC)),
            ),
            lifted,
            block("b4", "2001:db8::/32", Some(datetime!(2026-01-02 00:00 UTC))),
            block("b5", "garbage", None),
        ];
        let s = IpSet::from_blocks(&blocks, now);
        assert_eq!(s.len(), 2);
        assert_eq!(s.skipped(), 1);
        assert_eq!(
            s.block_for(ip("192.0.2.7")).map(|b| b.id.as_str()),
            Some("b1")
        );
        assert!(s.block_for(ip("198.51.100.1")).is_none(), "expired");
        assert!(s.block_for(ip("192.0.2.9")).is_none(), "lifted");
        assert_eq!(
            s.block_for(ip("2001:db8::5")).map(|b| b.id.as_str()),
            Some("b4")
        );
    }

    proptest! {
        #[test]
        fn set_agrees_with_linear_containment(
            nets in proptest::collection::vec((any::<u32>(), 8u8..=32), 0..20),
            probes in proptest::collection::vec(any::<u32>(), 1..50),
        ) {
            let nets: Vec<IpNet> = nets
                .into_iter()
                .filter_map(|(a, p)| ipnet::Ipv4Net::new(a.into(), p).ok().map(|n| IpNet::V4(n.trunc())))
                .collect();
            let s = IpSet::new(nets.clone());
            // Probe inside each network too, not only at random addresses.
            let near = nets.iter().filter_map(|n| match n {
                IpNet::V4(v) => Some(u32::from(v.network())),
                IpNet::V6(_) => None,
            });
            let near: Vec<u32> = near.zip(probes.iter()).map(|(n, a)| n | (a & 0xff)).collect();
            for a in probes.iter().chain(near.iter()) {
                let addr = IpAddr::V4((*a).into());
                prop_assert_eq!(s.contains(addr), nets.iter().any(|n| n.contains(&addr)));
            }
        }
    }
}
