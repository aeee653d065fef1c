//! Tests of the suspicious-activity detectors: each fires past its threshold and not
//! before, once per window, again after the window, and stays bounded under a flood.

use super::*;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-05-01 09:00 UTC);
const TAG: [u8; 32] = [7; 32];

fn at(secs: i64) -> OffsetDateTime {
    T0 + time::Duration::seconds(secs)
}

fn ip(n: u32) -> IpAddr {
    IpAddr::V4((0xC000_0200 + n).into())
}

fn kinds(f: &[Finding]) -> Vec<FindingKind> {
    f.iter().map(|f| f.kind).collect()
}

/// Feeds `n` events (index, time) and returns the indices at which `kind` fired.
fn fired_at(n: u32, mut event: impl FnMut(u32) -> Vec<Finding>, kind: FindingKind) -> Vec<u32> {
    (0..n)
        .filter(|i| event(*i).iter().any(|f| f.kind == kind))
        .collect()
}

#[test]
fn credential_stuffing_fires_on_the_eleventh_account_once_per_window() {
    let mut d = Detectors::default();
    let kind = FindingKind::CredentialStuffing;
    let hits = fired_at(
        30,
        |i| {
            d.on_failed_login(
                ip(1),
                &format!("user{i}@example.com"),
                [i as u8; 32],
                at(i64::from(i)),
            )
        },
        kind,
    );
    assert_eq!(
        hits,
        vec![10],
        "11th distinct account, then quiet for the window"
    );
    // A repeat of a known account is not a new one.
    let mut d = Detectors::default();
    for i in 0..50 {
        let f = d.on_failed_login(
            ip(1),
            &format!("user{}@example.com", i % 10),
            TAG,
            at(i64::from(i)),
        );
        assert!(!kinds(&f).contains(&kind));
    }
    let f = d.on_failed_login(ip(1), "eleven@example.com", TAG, at(60));
    let stuffing = f.iter().find(|f| f.kind == kind).expect("fires");
    assert_eq!((stuffing.key.as_str(), stuffing.count), ("192.0.2.1", 11));
}

#[test]
fn credential_stuffing_fires_again_after_the_window() {
    let mut d = Detectors::default();
    let kind = FindingKind::CredentialStuffing;
    let first = fired_at(
        11,
        |i| d.on_failed_login(ip(1), &format!("a{i}"), TAG, at(0)),
        kind,
    );
    assert_eq!(first, vec![10]);
    // The window is inclusive (like the store's `at >= since`): a second later it has passed.
    let again = fired_at(
        11,
        |i| d.on_failed_login(ip(1), &format!("b{i}"), TAG, at(601)),
        kind,
    );
    assert_eq!(again, vec![10]);
}

#[test]
fn password_spraying_fires_on_the_sixth_account_and_never_reveals_the_tag() {
    let mut d = Detectors::default();
    let kind = FindingKind::PasswordSpraying;
    let mut seen = Vec::new();
    let hits = fired_at(
        20,
        |i| {
            let f = d.on_failed_login(
                ip(i),
                &format!("victim{i}@example.com"),
                TAG,
                at(i64::from(i) * 10),
            );
            seen.extend(f.clone());
            f
        },
        kind,
    );
    assert_eq!(hits, vec![5]);
    let spray = seen.iter().find(|f| f.kind == kind).expect("fired");
    assert_eq!((spray.key.as_str(), spray.count), ("6", 6));
    let tag_hex: String = TAG.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!spray.message.contains(&tag_hex));
    // Different passwords against many accounts are not spraying.
    let mut d = Detectors::default();
    let hits = fired_at(
        20,
        |i| d.on_failed_login(ip(i), &format!("v{i}"), [i as u8; 32], at(0)),
        kind,
    );
    assert!(hits.is_empty());
}

#[test]
fn many_ips_against_one_account_fires_on_the_eleventh_ip() {
    let mut d = Detectors::default();
    let kind = FindingKind::ManyIpsOneAccount;
    let hits = fired_at(
        40,
        |i| d.on_failed_login(ip(i), "owner@example.com", [i as u8; 32], at(i64::from(i))),
        kind,
    );
    assert_eq!(hits, vec![10]);
    // The same address in IPv4-mapped form is the same address.
    let mut d = Detectors::default();
    for i in 0..10 {
        d.on_failed_login(ip(i), "owner@example.com", TAG, at(0));
        let mapped: IpAddr = format!("::ffff:{}", ip(i)).parse().expect("mapped literal");
        let f = d.on_failed_login(mapped, "owner@example.com", TAG, at(0));
        assert!(!kinds(&f).contains(&kind));
    }
}

#[test]
fn many_user_agents_fires_on_the_sixth_agent() {
    let mut d = Detectors::default();
    let kind = FindingKind::ManyUserAgents;
    let hits = fired_at(
        20,
        |i| {
            d.on_request(
                ip(1),
                Some(&format!("agent/{i}")),
                false,
                false,
                at(i64::from(i) * 7),
            )
        },
        kind,
    );
    assert_eq!(hits, vec![5]);
    // One agent, many requests: nothing.
    let mut d = Detectors::default();
    let hits = fired_at(
        100,
        |i| d.on_request(ip(2), Some("curl/8"), false, false, at(i64::from(i) * 7)),
        kind,
    );
    assert!(hits.is_empty());
}

#[test]
fn admin_probing_fires_on_the_fourth_unauthenticated_request() {
    let mut d = Detectors::default();
    let kind = FindingKind::AdminProbing;
    let hits = fired_at(
        10,
        |i| d.on_request(ip(1), Some("x"), true, false, at(i64::from(i) * 13)),
        kind,
    );
    assert_eq!(hits, vec![3]);
    // Admins working on admin paths, and anonymous requests elsewhere, are not probing.
    let mut d = Detectors::default();
    let hits = fired_at(
        10,
        |i| d.on_request(ip(2), Some("x"), true, true, at(i64::from(i) * 13)),
        kind,
    );
    assert!(hits.is_empty());
    let hits = fired_at(
        10,
        |i| d.on_request(ip(3), Some("x"), false, false, at(i64::from(i) * 13)),
        kind,
    );
    assert!(hits.is_empty());
    // Probing spread thinner than the window never adds up.
    let hits = fired_at(
        10,
        |i| d.on_request(ip(4), Some("x"), true, false, at(i64::from(i) * 201)),
        kind,
    );
    assert!(hits.is_empty());
}

#[test]
fn admin_probing_fires_again_after_the_window() {
    let mut d = Detectors::default();
    let kind = FindingKind::AdminProbing;
    assert_eq!(
        fired_at(4, |_| d.on_request(ip(1), None, true, false, at(0)), kind),
        vec![3]
    );
    assert_eq!(
        fired_at(4, |_| d.on_request(ip(1), None, true, false, at(599)), kind),
        Vec::<u32>::new()
    );
    assert_eq!(
        fired_at(4, |_| d.on_request(ip(1), None, true, false, at(600)), kind),
        vec![0]
    );
}

#[test]
fn robotic_timing_fires_at_the_twentieth_metronomic_request() {
    let mut d = Detectors::default();
    let kind = FindingKind::RoboticTiming;
    // Every 5 s: the 20th request (t = 95 s) fires, then nothing until a window later
    // (t = 695 s, the 140th request).
    let hits = fired_at(
        200,
        |i| d.on_request(ip(1), Some("bot"), false, false, at(i64::from(i) * 5)),
        kind,
    );
    assert_eq!(hits, vec![19, 139]);
}

#[test]
fn irregular_or_bursty_timing_is_not_robotic() {
    let kind = FindingKind::RoboticTiming;
    let mut d = Detectors::default();
    // Human-like gaps: 1..=9 s in a shuffled pattern (CV well above 0.1).
    let gaps = [3, 9, 1, 7, 2, 8, 4, 6, 5];
    let mut t = 0;
    let hits = fired_at(
        60,
        |i| {
            t += gaps[i as usize % gaps.len()];
            d.on_request(ip(1), Some("human"), false, false, at(t))
        },
        kind,
    );
    assert!(hits.is_empty());
    // A burst at one instant has no timing to judge.
    let hits = fired_at(
        60,
        |_| d.on_request(ip(2), Some("burst"), false, false, at(0)),
        kind,
    );
    assert!(hits.is_empty());
}

#[test]
fn timing_jitter_under_ten_percent_is_still_robotic() {
    let mut d = Detectors::default();
    let mut t = 0;
    // Gaps alternate 9.5 and 10.5 s: CV 0.05.
    let hits = fired_at(
        20,
        |i| {
            t += if i % 2 == 0 { 9500 } else { 10500 };
            d.on_request(
                ip(1),
                None,
                false,
                false,
                T0 + time::Duration::milliseconds(t),
            )
        },
        FindingKind::RoboticTiming,
    );
    assert_eq!(hits, vec![19]);
}

#[test]
fn a_flood_of_distinct_keys_stays_bounded() {
    let config = DetectorConfig {
        max_keys: 500,
        ..DetectorConfig::default()
    };
    let mut d = Detectors::new(config);
    for i in 0..20_000u32 {
        let mut tag = [0u8; 32];
        tag[..4].copy_from_slice(&i.to_be_bytes());
        d.on_failed_login(ip(i), &format!("user{i}@example.com"), tag, at(0));
        d.on_request(ip(i), Some(&format!("ua{i}")), true, false, at(0));
    }
    assert!(d.stuffing.len() <= 500);
    assert!(d.spraying.len() <= 500);
    assert!(d.many_ips.len() <= 500);
    assert!(d.user_agents.len() <= 500);
    assert!(d.admin.len() <= 500);
    assert!(d.timing.len() <= 500);
    d.prune(at(601));
    assert!(d.spraying.is_empty(), "tags are held for the window only");
    assert!(d.stuffing.is_empty() && d.timing.is_empty());
}

#[test]
fn long_account_names_are_truncated_at_a_character_boundary() {
    let mut d = Detectors::default();
    let long = "é".repeat(400);
    for i in 0..11 {
        let f = d.on_failed_login(ip(i), &long, TAG, at(0));
        if let Some(f) = f.iter().find(|f| f.kind == FindingKind::ManyIpsOneAccount) {
            assert!(f.key.len() <= MAX_ACCOUNT_LEN);
        }
    }
}

#[test]
fn default_config_is_valid_and_bad_values_name_their_key() {
    let base = DetectorConfig::default();
    assert!(base.validate().is_ok());
    let rule0 = Rule::new(0, TEN_MIN);
    let cases = [
        (
            DetectorConfig {
                stuffing: rule0,
                ..base
            },
            "security.detect_stuffing_threshold",
        ),
        (
            DetectorConfig {
                spraying: Rule::new(5, Duration::ZERO),
                ..base
            },
            "security.detect_spraying_window_secs",
        ),
        (
            DetectorConfig {
                many_ips: Rule::new(64, TEN_MIN),
                ..base
            },
            "security.detect_many_ips_threshold",
        ),
        (
            DetectorConfig {
                robotic: Rule::new(2, TEN_MIN),
                ..base
            },
            "security.detect_robotic_threshold",
        ),
        (
            DetectorConfig {
                robotic_max_cv: f64::NAN,
                ..base
            },
            "security.detect_robotic_max_cv",
        ),
        (
            DetectorConfig {
                robotic_max_cv: 0.0,
                ..base
            },
            "security.detect_robotic_max_cv",
        ),
        (
            DetectorConfig {
                max_keys: 0,
                ..base
            },
            "security.detect_max_keys",
        ),
    ];
    for (config, key) in cases {
        match config.validate() {
            Err(Error::InvalidConfig { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[test]
fn finding_kinds_name_their_events() {
    assert_eq!(
        FindingKind::CredentialStuffing.to_string(),
        "credential_stuffing"
    );
    assert_eq!(FindingKind::PasswordSpraying.severity(), "critical");
    assert_eq!(FindingKind::RoboticTiming.severity(), "info");
    let json = serde_json::to_string(&FindingKind::ManyIpsOneAccount).expect("serialises");
    assert_eq!(json, "\"many_ips_one_account\"");
}
