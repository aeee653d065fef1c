//! A records backend that breaks one rule of the contract, to prove the suites catch it:
//! [`MemoryRecords`] behind a wrapper with one [`Fault`].

use std::fmt;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use legalops_core::Result;
use legalops_core::alerting::{
    AlertStore, Delivery, GroupState, LeaseStore, RuleStateRecord, Silence,
};
use legalops_core::audit::{AuditEntry, AuditLog, Checkpoint, NewAuditEntry};
use legalops_core::identity::{Session, SessionStore, User, UserStore};
use legalops_core::incidents::{Incident, IncidentStatus, IncidentTracker, Trigger};
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
    /// Rule values are stored as `f32` (a lossy column).
    LossyRuleValues,
    /// `release` frees the lease whoever asks.
    ReleaseByAnyone,
    /// `try_acquire` reads, yields, then overwrites: a lost update under concurrency.
    LeaseCheckThenAct,
    /// An illegal lifecycle move is `InvalidInput` instead of `Conflict`.
    IllegalMoveIsInvalidInput,
    /// `list_recent` comes oldest first.
    RecentOldestFirst,
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
    async fn active_sessions(&self, user_id: &str, now: OffsetDateTime) -> Result<Vec<Session>> {
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
    async fn failed_logins(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<FailedLogin>> {
        self.0.failed_logins(since, limit).await
    }
    async fn count_failed_by_ip(&self, ip: &str, since: OffsetDateTime) -> Result<u64> {
        self.0.count_failed_by_ip(ip, self.since(since)).await
    }
    async fn count_failed_by_account(&self, account: &str, since: OffsetDateTime) -> Result<u64> {
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

#[async_trait]
impl AlertStore for Broken {
    async fn rule_states(&self) -> Result<Vec<RuleStateRecord>> {
        let mut got = self.0.rule_states().await?;
        if self.1 == Fault::LossyRuleValues {
            for r in &mut got {
                r.value = r.value.map(|v| f64::from(v as f32));
            }
        }
        Ok(got)
    }
    async fn put_rule_states(&self, states: &[RuleStateRecord]) -> Result<()> {
        self.0.put_rule_states(states).await
    }
    async fn delete_rule_states(&self, rules: &[String]) -> Result<u64> {
        self.0.delete_rule_states(rules).await
    }
    async fn put_silence(&self, silence: &Silence) -> Result<()> {
        self.0.put_silence(silence).await
    }
    async fn silences(&self) -> Result<Vec<Silence>> {
        self.0.silences().await
    }
    async fn expire_silence(&self, id: &str, at: OffsetDateTime) -> Result<Silence> {
        self.0.expire_silence(id, at).await
    }
    async fn group_states(&self) -> Result<Vec<GroupState>> {
        self.0.group_states().await
    }
    async fn put_group_state(&self, state: &GroupState) -> Result<()> {
        self.0.put_group_state(state).await
    }
    async fn delete_group_state(&self, group_key: &str) -> Result<()> {
        self.0.delete_group_state(group_key).await
    }
    async fn record_delivery(&self, delivery: &Delivery) -> Result<Delivery> {
        self.0.record_delivery(delivery).await
    }
    async fn deliveries(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<Delivery>> {
        self.0.deliveries(since, limit).await
    }
}

/// Returns `Pending` once, so that concurrent callers interleave at this point.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[async_trait]
impl LeaseStore for Broken {
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: StdDuration,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if self.1 != Fault::LeaseCheckThenAct {
            return self.0.try_acquire(name, holder, ttl, now).await;
        }
        let seen = self.0.lease(name).await?;
        let free = seen.is_none_or(|(h, until)| h == holder || until <= now);
        YieldNow(false).await;
        if free {
            // Acts on what it saw before the yield: whoever took it meanwhile is overwritten.
            if let Some((current, _)) = self.0.lease(name).await? {
                self.0.release(name, &current).await?;
            }
            self.0.try_acquire(name, holder, ttl, now).await?;
        }
        Ok(free)
    }
    async fn release(&self, name: &str, holder: &str) -> Result<()> {
        match self.0.lease(name).await? {
            Some((current, _)) if self.1 == Fault::ReleaseByAnyone => {
                self.0.release(name, &current).await
            }
            _ => self.0.release(name, holder).await,
        }
    }
    async fn lease(&self, name: &str) -> Result<Option<(String, OffsetDateTime)>> {
        self.0.lease(name).await
    }
}

#[async_trait]
impl IncidentTracker for Broken {
    async fn trigger(&self, trigger: &Trigger) -> Result<Incident> {
        self.0.trigger(trigger).await
    }
    async fn acknowledge(
        &self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        self.0.acknowledge(dedup_key, actor, at).await
    }
    async fn resolve(&self, dedup_key: &str, actor: &str, at: OffsetDateTime) -> Result<Incident> {
        self.0.resolve(dedup_key, actor, at).await
    }
    async fn note(
        &self,
        dedup_key: &str,
        actor: &str,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        self.0.note(dedup_key, actor, text, at).await
    }
    async fn set_status(
        &self,
        id: &str,
        status: IncidentStatus,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        match self.0.set_status(id, status, actor, at).await {
            Err(legalops_core::Error::Conflict { message })
                if self.1 == Fault::IllegalMoveIsInvalidInput =>
            {
                Err(legalops_core::Error::invalid_input("status", message))
            }
            other => other,
        }
    }
    async fn get(&self, id: &str) -> Result<Incident> {
        self.0.get(id).await
    }
    async fn list_open(&self) -> Result<Vec<Incident>> {
        self.0.list_open().await
    }
    async fn list_recent(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<Incident>> {
        let mut got = self.0.list_recent(since, u64::MAX).await?;
        if self.1 == Fault::RecentOldestFirst {
            got.reverse();
        }
        got.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(got)
    }
    async fn healthcheck(&self) -> Result<()> {
        IncidentTracker::healthcheck(&self.0).await
    }
}
