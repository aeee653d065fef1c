//! Every conformance suite against every in-memory default: the suites' own proof that
//! they pass on a correct backend, and the defaults' proof that they are correct.

use std::sync::Arc;

use legalops_core::conformance;
use legalops_core::mem::{
    MemoryBackupTarget, MemoryChannel, MemoryDocumentStore, MemoryRecords, MemorySink,
    MemoryTracker,
};

#[tokio::test]
async fn memory_records_pass_the_records_suites() {
    let db = MemoryRecords::new();
    conformance::settings(&db).await;
    conformance::rollups(&db).await;
    conformance::database(&db).await;
}

#[tokio::test]
async fn memory_records_pass_the_identity_audit_and_security_suites() {
    let db = MemoryRecords::new();
    conformance::users(&db).await;
    conformance::sessions(&db).await;
    conformance::api_keys(&db).await;
    conformance::audit_log(&db).await;
    conformance::security(&db).await;
}

#[tokio::test]
async fn suites_can_run_twice_against_the_same_backend() {
    let db = MemoryRecords::new();
    // One store for every records suite, as a SQL backend is: the suites share it.
    for _ in 0..2 {
        conformance::users(&db).await;
        conformance::sessions(&db).await;
        conformance::api_keys(&db).await;
        conformance::audit_log(&db).await;
        conformance::security(&db).await;
    }
    let docs = MemoryDocumentStore::new();
    let target = MemoryBackupTarget::new();
    let tracker = MemoryTracker::new();
    for _ in 0..2 {
        conformance::settings(&db).await;
        conformance::rollups(&db).await;
        conformance::document_store(&docs).await;
        conformance::backup_target(&target, true).await;
        conformance::incident_tracker(&tracker, true).await;
    }
}

#[tokio::test]
async fn memory_document_store_passes() {
    conformance::document_store(&MemoryDocumentStore::new()).await;
}

#[tokio::test]
async fn memory_backup_target_passes_with_object_lock() {
    conformance::backup_target(&MemoryBackupTarget::new(), true).await;
}

#[tokio::test]
async fn memory_backup_target_passes_without_object_lock() {
    conformance::backup_target(&MemoryBackupTarget::new().without_object_lock(), false).await;
}

#[tokio::test]
#[should_panic(expected = "capabilities().object_lock is false")]
async fn declaring_the_wrong_capability_fails_the_suite() {
    conformance::backup_target(&MemoryBackupTarget::new(), false).await;
}

#[tokio::test]
async fn memory_sink_passes() {
    let sink = MemorySink::new();
    conformance::metrics_sink(&sink).await;
    assert_eq!(sink.snapshots().len(), 4);
}

#[tokio::test]
async fn memory_channel_passes() {
    let channel = Arc::new(MemoryChannel::new());
    let probe = channel.clone();
    conformance::alert_channel(channel.as_ref(), &move || probe.sent()).await;
}

#[tokio::test]
#[should_panic(expected = "memory: send of a Firing notification")]
async fn a_failing_channel_fails_the_suite_with_its_name() {
    let channel = Arc::new(MemoryChannel::new());
    channel.fail_next(1);
    let probe = channel.clone();
    conformance::alert_channel(channel.as_ref(), &move || probe.sent()).await;
}

#[tokio::test]
async fn memory_tracker_passes() {
    conformance::incident_tracker(&MemoryTracker::new(), true).await;
}

#[tokio::test]
#[should_panic(expected = "get without queries")]
async fn a_queryable_tracker_declared_write_only_fails_the_suite() {
    conformance::incident_tracker(&MemoryTracker::new(), false).await;
}

/// Compiles only if `f` is `Send`, so that callers may `tokio::spawn` a suite.
fn assert_send<F: std::future::Future + Send>(f: F) -> F {
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_suite_is_send_and_runs_on_a_spawned_task() {
    let handle = tokio::spawn(async {
        let db = MemoryRecords::new();
        let channel = MemoryChannel::new();
        assert_send(conformance::settings(&db)).await;
        assert_send(conformance::rollups(&db)).await;
        assert_send(conformance::database(&db)).await;
        assert_send(conformance::users(&db)).await;
        assert_send(conformance::sessions(&db)).await;
        assert_send(conformance::api_keys(&db)).await;
        assert_send(conformance::audit_log(&db)).await;
        assert_send(conformance::security(&db)).await;
        assert_send(conformance::document_store(&MemoryDocumentStore::new())).await;
        assert_send(conformance::backup_target(&MemoryBackupTarget::new(), true)).await;
        assert_send(conformance::metrics_sink(&MemorySink::new())).await;
        assert_send(conformance::alert_channel(&channel, &|| channel.sent())).await;
        assert_send(conformance::incident_tracker(&MemoryTracker::new(), true)).await;
    });
    assert!(handle.await.is_ok());
}

#[tokio::test]
async fn wrappers_pass_the_sink_suite_and_fan_out_to_every_sink() {
    use legalops_core::metrics::{FanoutSink, NoopSink};
    conformance::metrics_sink(&NoopSink).await;
    let (a, b) = (Arc::new(MemorySink::new()), Arc::new(MemorySink::new()));
    let fanout = FanoutSink::new(vec![a.clone(), Arc::new(NoopSink), b.clone()]);
    conformance::metrics_sink(&fanout).await;
    assert_eq!(
        a.snapshots(),
        b.snapshots(),
        "every sink of a fan-out sees every snapshot"
    );
    assert!(!a.snapshots().is_empty());
}

#[tokio::test]
async fn a_failing_sink_in_a_fanout_does_not_starve_the_others() {
    use legalops_core::metrics::{FanoutSink, MetricsSink, MetricsSnapshot};
    let (bad, good) = (Arc::new(MemorySink::new()), Arc::new(MemorySink::new()));
    bad.fail_next(1);
    let fanout = FanoutSink::new(vec![bad.clone(), good.clone()]);
    let snap = MetricsSnapshot {
        at: time::OffsetDateTime::UNIX_EPOCH,
        samples: Vec::new(),
    };
    assert!(
        fanout.write(&snap).await.is_err(),
        "the failure is reported"
    );
    assert_eq!(
        good.snapshots().len(),
        1,
        "the healthy sink still got the snapshot"
    );
    assert_eq!(fanout.to_string(), "fanout[memory, memory]");
}

/// A records backend that breaks one rule of the contract, to prove the suites catch it.
mod broken {
    use std::fmt;

    use async_trait::async_trait;
    use legalops_core::Result;
    use legalops_core::audit::{AuditEntry, AuditLog, Checkpoint, NewAuditEntry};
    use legalops_core::identity::{Session, SessionStore, User, UserStore};
    use legalops_core::mem::MemoryRecords;
    use legalops_core::security::{
        Block, BlockSource, FailedLogin, Lockout, SecurityEvent, SecurityStore,
    };
    use time::{Duration, OffsetDateTime};

    /// The one rule broken.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fault {
        /// Nothing: the control.
        None,
        /// A taken email is reported as a Conflict instead of AlreadyExists.
        EmailTakenIsConflict,
        /// Emails are folded to lower case (a case-insensitive collation).
        EmailsFoldCase,
        /// A session still counts as active at its expires_at.
        ActiveAtExpiry,
        /// Times are stored at millisecond precision.
        AuditMilliseconds,
        /// `append` returns the entry as given, not normalised.
        AuditUnnormalised,
        /// The failed-login counts use `at > since`.
        SinceExclusive,
        /// Events come oldest first.
        EventsOldestFirst,
    }

    /// [`MemoryRecords`] with one [`Fault`].
    #[derive(Debug)]
    pub struct Broken(pub MemoryRecords, pub Fault);

    impl Broken {
        pub fn new(fault: Fault) -> Self {
            Self(MemoryRecords::new(), fault)
        }

        fn email(&self, email: &str) -> String {
            if self.1 == Fault::EmailsFoldCase {
                email.to_lowercase()
            } else {
                email.to_owned()
            }
        }

        fn user(&self, user: &User) -> User {
            User {
                email: self.email(&user.email),
                ..user.clone()
            }
        }

        fn since(&self, since: OffsetDateTime) -> OffsetDateTime {
            if self.1 == Fault::SinceExclusive {
                since + Duration::microseconds(1)
            } else {
                since
            }
        }
    }

    impl fmt::Display for Broken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broken")
        }
    }

    #[async_trait]
    impl UserStore for Broken {
        async fn create_user(&self, user: &User) -> Result<()> {
            match self.0.create_user(&self.user(user)).await {
                Err(legalops_core::Error::AlreadyExists { what })
                    if self.1 == Fault::EmailTakenIsConflict =>
                {
                    Err(legalops_core::Error::conflict(what))
                }
                other => other,
            }
        }
        async fn get_user(&self, id: &str) -> Result<User> {
            self.0.get_user(id).await
        }
        async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
            self.0.find_user_by_email(&self.email(email)).await
        }
        async fn update_user(&self, user: &User) -> Result<()> {
            self.0.update_user(&self.user(user)).await
        }
        async fn list_users(&self, offset: u64, limit: u64) -> Result<Vec<User>> {
            self.0.list_users(offset, limit).await
        }
    }

    #[async_trait]
    impl SessionStore for Broken {
        async fn create_session(&self, session: &Session) -> Result<()> {
            self.0.create_session(session).await
        }
        async fn find_session(&self, token_hash: &str) -> Result<Option<Session>> {
            self.0.find_session(token_hash).await
        }
        async fn touch_session(&self, id: &str, at: OffsetDateTime) -> Result<()> {
            self.0.touch_session(id, at).await
        }
        async fn revoke_session(&self, id: &str, at: OffsetDateTime) -> Result<()> {
            self.0.revoke_session(id, at).await
        }
        async fn revoke_user_sessions(&self, user_id: &str, at: OffsetDateTime) -> Result<u64> {
            self.0.revoke_user_sessions(user_id, at).await
        }
        async fn active_sessions(
            &self,
            user_id: &str,
            now: OffsetDateTime,
        ) -> Result<Vec<Session>> {
            let now = if self.1 == Fault::ActiveAtExpiry {
                now - Duration::microseconds(1)
            } else {
                now
            };
            self.0.active_sessions(user_id, now).await
        }
        async fn prune_sessions(&self, before: OffsetDateTime) -> Result<u64> {
            self.0.prune_sessions(before).await
        }
    }

    #[async_trait]
    impl AuditLog for Broken {
        async fn append(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
            let stored = self.0.append(entry).await?;
            Ok(if self.1 == Fault::AuditUnnormalised {
                AuditEntry {
                    entry: entry.clone(),
                    ..stored
                }
            } else {
                stored
            })
        }
        async fn entries(&self, from_seq: u64, limit: u64) -> Result<Vec<AuditEntry>> {
            let mut got = self.0.entries(from_seq, limit).await?;
            if self.1 == Fault::AuditMilliseconds {
                for e in &mut got {
                    let ms = e.entry.at.unix_timestamp_nanos() / 1_000_000;
                    e.entry.at = OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
                        .expect("a truncated valid time is valid");
                }
            }
            Ok(got)
        }
        async fn len(&self) -> Result<u64> {
            self.0.len().await
        }
        async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
            self.0.put_checkpoint(checkpoint).await
        }
        async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
            self.0.checkpoints().await
        }
    }

    #[async_trait]
    impl SecurityStore for Broken {
        async fn record_failed_login(&self, attempt: &FailedLogin) -> Result<()> {
            self.0.record_failed_login(attempt).await
        }
        async fn failed_logins(
            &self,
            since: OffsetDateTime,
            limit: u64,
        ) -> Result<Vec<FailedLogin>> {
            self.0.failed_logins(since, limit).await
        }
        async fn count_failed_by_ip(&self, ip: &str, since: OffsetDateTime) -> Result<u64> {
            self.0.count_failed_by_ip(ip, self.since(since)).await
        }
        async fn count_failed_by_account(
            &self,
            account: &str,
            since: OffsetDateTime,
        ) -> Result<u64> {
            self.0
                .count_failed_by_account(account, self.since(since))
                .await
        }
        async fn count_failed_by_account_ip(
            &self,
            account: &str,
            ip: &str,
            since: OffsetDateTime,
        ) -> Result<u64> {
            self.0
                .count_failed_by_account_ip(account, ip, self.since(since))
                .await
        }
        async fn prune_failed_logins(&self, before: OffsetDateTime) -> Result<u64> {
            self.0.prune_failed_logins(before).await
        }
        async fn add_block(&self, block: &Block) -> Result<()> {
            self.0.add_block(block).await
        }
        async fn lift_block(&self, id: &str, at: OffsetDateTime) -> Result<Block> {
            self.0.lift_block(id, at).await
        }
        async fn active_blocks(&self, now: OffsetDateTime) -> Result<Vec<Block>> {
            self.0.active_blocks(now).await
        }
        async fn count_blocks(&self, target: &str, source: BlockSource) -> Result<u64> {
            self.0.count_blocks(target, source).await
        }
        async fn get_lockout(&self, account: &str) -> Result<Option<Lockout>> {
            self.0.get_lockout(account).await
        }
        async fn put_lockout(&self, lockout: &Lockout) -> Result<()> {
            self.0.put_lockout(lockout).await
        }
        async fn clear_lockout(&self, account: &str) -> Result<()> {
            self.0.clear_lockout(account).await
        }
        async fn record_event(&self, event: &SecurityEvent) -> Result<SecurityEvent> {
            self.0.record_event(event).await
        }
        async fn events(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<SecurityEvent>> {
            let mut got = self.0.events(since, u64::MAX).await?;
            if self.1 == Fault::EventsOldestFirst {
                got.reverse();
            }
            got.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok(got)
        }
    }
}

use broken::{Broken, Fault};

#[tokio::test]
#[should_panic(
    expected = "broken: create_user with a taken email: expected Err(Error::AlreadyExists"
)]
async fn the_users_suite_catches_the_wrong_error_kind() {
    conformance::users(&Broken::new(Fault::EmailTakenIsConflict)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: create_user whose email differs only in case: expected Ok")]
async fn the_users_suite_catches_a_case_insensitive_email() {
    conformance::users(&Broken::new(Fault::EmailsFoldCase)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: a session is not active at its expires_at")]
async fn the_sessions_suite_catches_an_inclusive_expiry() {
    conformance::sessions(&Broken::new(Fault::ActiveAtExpiry)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: entries returns exactly what append returned")]
async fn the_audit_suite_catches_a_lossy_time_column() {
    conformance::audit_log(&Broken::new(Fault::AuditMilliseconds)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: append returns the entry normalised")]
async fn the_audit_suite_catches_an_unnormalised_entry() {
    conformance::audit_log(&Broken::new(Fault::AuditUnnormalised)).await;
}

#[tokio::test]
#[should_panic(expected = "an attempt at `since` counts")]
async fn the_security_suite_catches_an_exclusive_window_start() {
    conformance::security(&Broken::new(Fault::SinceExclusive)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: events lists only `at >= since`, newest first")]
async fn the_security_suite_catches_events_in_the_wrong_order() {
    conformance::security(&Broken::new(Fault::EventsOldestFirst)).await;
}

#[tokio::test]
async fn the_wrapper_without_a_fault_passes() {
    // The control: the wrapper itself is sound, so each test above fails for its fault.
    let db = Broken::new(Fault::None);
    conformance::users(&db).await;
    conformance::sessions(&db).await;
    conformance::audit_log(&db).await;
    conformance::security(&db).await;
}
