//! The security engine end to end over the in-memory records: bans and their growth, the
//! allowlist, blocks shared by two engines (two replicas) over one store, the lockout that a
//! flood cannot turn against the account's owner, detectors, DoS mode and manual blocks.
//! Time is a ManualClock; nothing sleeps.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use legalops_core::mem::MemoryRecords;
use legalops_core::security::rules::BanPolicy;
use legalops_core::security::{BlockSource, SecurityStore};
use legalops_core::{ManualClock, SharedClock};
use legalops_ops::identity::{LoginAttempt, LoginGuard};
use legalops_ops::ratelimit::{GROUP_API, RateLimitConfig, RateLimiter};
use legalops_ops::security::{SecurityConfig, SecurityEngine};
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

struct World {
    clock: ManualClock,
    records: Arc<MemoryRecords>,
}

impl World {
    fn new() -> Self {
        let clock = ManualClock::new(START);
        let records = Arc::new(MemoryRecords::with_clock(Arc::new(clock.clone())));
        Self { clock, records }
    }

    fn engine(&self, config: SecurityConfig) -> SecurityEngine {
        let clock: SharedClock = Arc::new(self.clock.clone());
        SecurityEngine::new(self.records.clone(), self.records.clone(), clock, config)
            .expect("valid config")
    }

    fn attempt(&self, ip: &str, account: &str, password: u8) -> LoginAttempt {
        LoginAttempt {
            at: self.clock_now(),
            ip: ip.parse().expect("test address"),
            account: account.into(),
            user_agent: Some("test-agent".into()),
            password_tag: [password; 32],
            request_id: None,
        }
    }

    fn clock_now(&self) -> OffsetDateTime {
        use legalops_core::Clock;
        self.clock.now()
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn kind(e: &legalops_core::Error) -> &'static str {
    e.kind()
}

/// One attempt that the password check then fails: asks the guard first, as identity does.
async fn fail(
    w: &World,
    engine: &SecurityEngine,
    ip: &str,
    account: &str,
) -> legalops_core::Result<()> {
    let a = w.attempt(ip, account, 7);
    engine.before_login(&a).await?;
    engine.login_failed(&a).await
}

#[tokio::test]
async fn five_failures_do_not_ban_the_sixth_does() {
    let w = World::new();
    let engine = w.engine(SecurityConfig::default());
    // Distinct accounts, so that only the IP rule is at work.
    for i in 0..5 {
        fail(&w, &engine, "192.0.2.7", &format!("user{i}@example.com"))
            .await
            .expect("not blocked yet");
        w.clock.advance(Duration::from_secs(10));
    }
    assert!(engine.check_ip(ip("192.0.2.7")).is_none());
    fail(&w, &engine, "192.0.2.7", "user5@example.com")
        .await
        .expect("sixth is checked");
    let block = engine
        .check_ip(ip("192.0.2.7"))
        .expect("banned on the sixth failure");
    assert_eq!(block.source, BlockSource::Automatic);
    assert_eq!(block.target, "192.0.2.7/32");
    assert_eq!(
        block.expires_at,
        Some(w.clock_now() + time::Duration::minutes(10))
    );
    let e = engine
        .before_login(&w.attempt("192.0.2.7", "x@example.com", 1))
        .await
        .expect_err("blocked");
    assert_eq!(kind(&e), "permission_denied");
    // Served from memory at once; the store agrees.
    assert_eq!(engine.blocks().await.expect("store").len(), 1);
    let events = engine.events(START, 100).await.expect("store");
    assert!(events.iter().any(|e| e.kind == "ip_blocked"));
}

#[tokio::test]
async fn repeat_offenders_are_banned_longer_up_to_the_cap() {
    let w = World::new();
    let config = SecurityConfig {
        ban: BanPolicy {
            max_ban_time: Duration::from_secs(25 * 60),
            ..BanPolicy::default()
        },
        ..SecurityConfig::default()
    };
    let engine = w.engine(config);
    let mut bans = Vec::new();
    for round in 0..3 {
        for i in 0..6 {
            let a = w.attempt("198.51.100.4", &format!("r{round}u{i}@example.com"), 1);
            engine.login_failed(&a).await.expect("store");
        }
        let b = engine.check_ip(ip("198.51.100.4")).expect("banned");
        bans.push(b.expires_at.expect("automatic bans expire") - b.created_at);
        // Past the ban and past the 15-minute window, so the next round starts clean.
        w.clock.advance(Duration::from_secs(60 * 60));
        assert!(
            engine.check_ip(ip("198.51.100.4")).is_none(),
            "expired between reloads"
        );
    }
    assert_eq!(
        bans,
        vec![
            time::Duration::minutes(10),
            time::Duration::minutes(20),
            time::Duration::minutes(25)
        ]
    );
}

#[tokio::test]
async fn allowlisted_addresses_are_never_banned() {
    let w = World::new();
    let config = SecurityConfig {
        allowlist: vec!["127.0.0.0/8".into(), "::1/128".into(), "10.0.0.0/8".into()],
        ..SecurityConfig::default()
    };
    let engine = w.engine(config);
    for addr in ["127.0.0.1", "::1", "10.20.30.40", "::ffff:10.1.1.1"] {
        for i in 0..50 {
            let a = w.attempt(addr, &format!("u{i}@example.com"), 1);
            engine.login_failed(&a).await.expect("store");
        }
        assert!(engine.check_ip(ip(addr)).is_none(), "{addr}");
    }
    assert!(engine.blocks().await.expect("store").is_empty());
    let e = engine
        .block("10.0.0.0/16", "no", None, "admin")
        .await
        .expect_err("holds allowlisted");
    assert_eq!(kind(&e), "conflict");
    assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
    let e = engine
        .block("::1", "no", None, "admin")
        .await
        .expect_err("allowlisted");
    assert_eq!(kind(&e), "conflict");
}

#[tokio::test]
async fn a_block_made_on_one_replica_applies_on_another_after_its_reload() {
    let w = World::new();
    let a = w.engine(SecurityConfig::default());
    let b = w.engine(SecurityConfig::default());
    let block = a
        .block("198.51.100.0/24", "scanner network", None, "admin-token")
        .await
        .expect("valid block");
    assert!(
        a.check_ip(ip("198.51.100.9")).is_some(),
        "the deciding replica applies it at once"
    );
    assert!(
        b.check_ip(ip("198.51.100.9")).is_none(),
        "the other has not reloaded yet"
    );
    b.refresh_now().await.expect("store");
    assert_eq!(
        b.check_ip(ip("198.51.100.9")).map(|x| x.id),
        Some(block.id.clone())
    );
    a.unblock(&block.id, "admin-token")
        .await
        .expect("active block");
    assert!(a.check_ip(ip("198.51.100.9")).is_none());
    b.refresh_now().await.expect("store");
    assert!(b.check_ip(ip("198.51.100.9")).is_none());
    let e = a
        .unblock(&block.id, "admin-token")
        .await
        .expect_err("already lifted");
    assert_eq!(kind(&e), "not_found");
}

#[tokio::test]
async fn the_owner_logs_in_from_a_clean_address_during_a_flood() {
    let w = World::new();
    let engine = w.engine(SecurityConfig::default());
    let owner = "owner@example.com";
    // Ten addresses, one failure each: the account is locked against them.
    let flood: Vec<String> = (1..=10).map(|i| format!("203.0.113.{i}")).collect();
    for addr in &flood {
        match fail(&w, &engine, addr, owner).await {
            Ok(()) => {}
            // The growing delay answers some of the flood without a password check.
            Err(e) => assert_eq!(kind(&e), "rate_limited"),
        }
        w.clock.advance(Duration::from_secs(31));
    }
    let events = engine.events(START, 100).await.expect("store");
    assert!(events.iter().any(|e| e.kind == "account_locked"));
    for addr in &flood[..5] {
        let e = engine
            .before_login(&w.attempt(addr, owner, 1))
            .await
            .expect_err("locked against flood");
        assert_eq!(kind(&e), "permission_denied", "{addr}");
    }
    // The owner's own address never failed: the password gets checked.
    let mine = w.attempt("198.51.100.50", owner, 2);
    engine
        .before_login(&mine)
        .await
        .expect("owner is not locked out");
    engine.login_succeeded(&mine).await.expect("store");
    let lockout = SecurityStore::get_lockout(&*w.records, owner)
        .await
        .expect("store");
    assert!(lockout.is_none(), "a successful login clears the lockout");
}

#[tokio::test]
async fn a_lockout_ends_after_its_window() {
    let w = World::new();
    let engine = w.engine(SecurityConfig::default());
    for _ in 0..5 {
        let a = w.attempt("192.0.2.55", "victim@example.com", 1);
        engine.login_failed(&a).await.expect("store");
    }
    let e = engine
        .before_login(&w.attempt("192.0.2.55", "victim@example.com", 1))
        .await
        .expect_err("locked");
    assert_eq!(kind(&e), "permission_denied");
    w.clock.advance(Duration::from_secs(15 * 60 + 1));
    engine
        .before_login(&w.attempt("192.0.2.55", "victim@example.com", 1))
        .await
        .expect("lockout over");
}

#[tokio::test]
async fn stuffing_and_spraying_become_events_on_every_outlet() {
    let w = World::new();
    let engine = w.engine(SecurityConfig::default());
    let mut rx = engine.subscribe();
    // Stuffing: eleven accounts from one address.
    for i in 0..11 {
        let a = w.attempt("192.0.2.99", &format!("s{i}@example.com"), i as u8);
        engine.login_failed(&a).await.expect("store");
    }
    // Spraying: one password against six accounts from six addresses.
    for i in 0..6 {
        let a = w.attempt(
            &format!("198.51.100.{}", 100 + i),
            &format!("p{i}@example.com"),
            42,
        );
        engine.login_failed(&a).await.expect("store");
    }
    let kinds: Vec<String> = engine
        .events(START, 100)
        .await
        .expect("store")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.iter().any(|k| k == "credential_stuffing"),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k == "password_spraying"), "{kinds:?}");
    let mut seen = Vec::new();
    while let Ok(e) = rx.try_recv() {
        assert!(e.id > 0, "broadcast after storing");
        seen.push(e.kind);
    }
    assert!(seen.iter().any(|k| k == "password_spraying"), "{seen:?}");
    let report = engine.report().await.expect("store");
    assert_eq!(report.failed_logins_last_hour, 17);
    assert_eq!(report.events_last_24h.get("credential_stuffing"), Some(&1));
    assert_eq!(
        report.active_blocks.automatic, 1,
        "the stuffing address was also banned"
    );
}

#[tokio::test]
async fn admin_probing_by_an_anonymous_client_is_an_event() {
    let w = World::new();
    let engine = w.engine(SecurityConfig::default());
    let mut raised = Vec::new();
    for _ in 0..4 {
        raised.extend(
            engine
                .observe_request(ip("192.0.2.200"), Some("curl"), true, false)
                .await,
        );
        w.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(
        raised.iter().filter(|e| e.kind == "admin_probing").count(),
        1
    );
    // Loopback monitoring is never judged.
    for _ in 0..10 {
        assert!(
            engine
                .observe_request(ip("127.0.0.1"), None, true, false)
                .await
                .is_empty()
        );
    }
}

#[tokio::test]
async fn dos_mode_is_shared_through_the_settings_store() {
    let w = World::new();
    let a = w.engine(SecurityConfig::default());
    let b = w.engine(SecurityConfig::default());
    let clock: SharedClock = Arc::new(w.clock.clone());
    let limiter = RateLimiter::new(RateLimitConfig::default(), clock).expect("valid");
    b.attach_rate_limiter(limiter.clone())
        .expect("first limiter");
    assert!(!a.set_dos_mode(true, "admin-token").await.expect("store"));
    assert!(a.dos_mode());
    assert!(!b.dos_mode(), "until b reloads");
    b.refresh_now().await.expect("store");
    assert!(b.dos_mode());
    assert_eq!(limiter.quota(GROUP_API).expect("known").per_minute, 20);
    // A restarted replica reads it back.
    let c = w.engine(SecurityConfig::default());
    c.refresh_now().await.expect("store");
    assert!(c.dos_mode());
    assert!(c.report().await.expect("store").dos_mode);
    a.set_dos_mode(false, "admin-token").await.expect("store");
    b.refresh_now().await.expect("store");
    assert_eq!(limiter.quota(GROUP_API).expect("known").per_minute, 100);
}

#[tokio::test]
async fn manual_blocks_are_validated_and_expire_without_a_reload() {
    let w = World::new();
    let engine = w.engine(SecurityConfig::default());
    for (target, reason, field) in [
        ("not-an-ip", "x", "ipAddress"),
        ("10.0.0.0/4", "x", "ipAddress"),
        ("192.0.2.1", "", "reason"),
        ("192.0.2.1", &"x".repeat(501), "reason"),
    ] {
        match engine.block(target, reason, None, "admin").await {
            Err(legalops_core::Error::InvalidInput { field: f, .. }) => {
                assert_eq!(f, field, "{target}")
            }
            other => panic!("{target}: expected invalid input, got {other:?}"),
        }
    }
    let e = engine
        .block(
            "192.0.2.1",
            "x",
            Some(START - time::Duration::SECOND),
            "admin",
        )
        .await
        .expect_err("expiry in the past");
    assert_eq!(kind(&e), "invalid_input");
    assert!(
        engine.blocks().await.expect("store").is_empty(),
        "nothing changed"
    );

    let b = engine
        .block(
            "2001:db8::/48",
            "abuse",
            Some(START + time::Duration::MINUTE),
            "admin",
        )
        .await
        .expect("valid");
    assert_eq!(b.target, "2001:db8::/48");
    let e = engine
        .block("2001:db8::/48", "again", None, "admin")
        .await
        .expect_err("duplicate");
    assert_eq!(kind(&e), "already_exists");
    assert!(engine.check_ip(ip("2001:db8::1")).is_some());
    w.clock.advance(Duration::from_secs(61));
    assert!(
        engine.check_ip(ip("2001:db8::1")).is_none(),
        "expired before any reload"
    );
}
