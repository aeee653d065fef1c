//! The engine as the identity service's [`LoginGuard`]: refuse blocked addresses and
//! locked-out sources before a password is checked, and learn from each failure (IP ban
//! with fail2ban's growing ban time, account lockout bound to the failing sources, the
//! detectors).

use std::net::IpAddr;

use async_trait::async_trait;
use legalops_core::security::rules::{
    Finding, FindingKind, LoginDecision, canonical_ip, host_net, lockout_after_failure,
    login_decision,
};
use legalops_core::security::{Block, BlockSource, FailedLogin};
use legalops_core::{Error, Result};
use serde_json::json;
use time::OffsetDateTime;

use super::{SecurityEngine, new_event};
use crate::identity::{LoginAttempt, LoginGuard};

/// Past this many accounts, the last-failure memory forgets those whose delay has passed.
const LAST_FAILURE_PRUNE_AT: usize = 10_000;
/// Hard bound of the last-failure memory (a flood of distinct accounts).
const LAST_FAILURE_MAX: usize = 100_000;

#[async_trait]
impl LoginGuard for SecurityEngine {
    async fn before_login(&self, attempt: &LoginAttempt) -> Result<()> {
        let ip = canonical_ip(attempt.ip);
        if self.check_ip(ip).is_some() {
            return Err(Error::PermissionDenied {
                message: "this address is blocked".into(),
            });
        }
        let now = self.inner.clock.now();
        let policy = &self.inner.config.lockout;
        let since = policy.window_start(now);
        let store = &self.inner.store;
        let account = attempt.account.as_str();
        let lockout = store.get_lockout(account).await?;
        let for_account = store.count_failed_by_account(account, since).await?;
        let from_here = store
            .count_failed_by_account_ip(account, &ip.to_string(), since)
            .await?;
        let last = self.last_failure(account);
        match login_decision(policy, now, lockout.as_ref(), for_account, from_here, last) {
            LoginDecision::Allow => Ok(()),
            LoginDecision::Delay { retry_after } => Err(Error::RateLimited { retry_after }),
            LoginDecision::Locked { .. } => {
                // A source that keeps trying a locked account is still failing: the attempt
                // counts toward its address's ban (fail2ban's rule sees every attempt), but
                // not toward the account, so the flood cannot extend the lockout itself.
                store
                    .record_failed_login(&FailedLogin {
                        at: attempt.at,
                        ip: ip.to_string(),
                        account: None,
                        user_agent: attempt.user_agent.clone(),
                    })
                    .await?;
                self.maybe_ban(ip, now).await?;
                Err(Error::PermissionDenied {
                    message: "too many failed logins; try again later".into(),
                })
            }
        }
    }

    async fn login_failed(&self, attempt: &LoginAttempt) -> Result<()> {
        let ip = canonical_ip(attempt.ip);
        let now = self.inner.clock.now();
        let account = attempt.account.as_str();
        self.inner
            .store
            .record_failed_login(&FailedLogin {
                at: attempt.at,
                ip: ip.to_string(),
                account: Some(account.to_owned()),
                user_agent: attempt.user_agent.clone(),
            })
            .await?;
        self.note_failure(account, now);
        self.maybe_ban(ip, now).await?;
        self.maybe_lock(account, now).await?;
        let findings = self
            .detectors()
            .on_failed_login(ip, account, attempt.password_tag, now);
        for f in findings {
            self.emit(finding_event(&f, Some(ip), now)).await;
        }
        Ok(())
    }

    async fn login_succeeded(&self, attempt: &LoginAttempt) -> Result<()> {
        self.inner.store.clear_lockout(&attempt.account).await?;
        self.inner
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&attempt.account);
        Ok(())
    }
}

impl SecurityEngine {
    /// Bans `ip` if its failures in the window earn it and it is neither allowlisted nor
    /// already blocked; the ban grows with the address's earlier automatic bans.
    async fn maybe_ban(&self, ip: IpAddr, now: OffsetDateTime) -> Result<Option<Block>> {
        let policy = &self.inner.config.ban;
        let store = &self.inner.store;
        let failures = store
            .count_failed_by_ip(&ip.to_string(), policy.window_start(now))
            .await?;
        if !policy.should_ban(failures) || self.is_allowlisted(ip) || self.check_ip(ip).is_some() {
            return Ok(None);
        }
        let target = host_net(ip).to_string();
        let previous = store.count_blocks(&target, BlockSource::Automatic).await?;
        let duration = policy.ban_duration(previous);
        let expires_at =
            now.saturating_add(time::Duration::try_from(duration).unwrap_or(time::Duration::MAX));
        let block = Block {
            id: uuid::Uuid::new_v4().to_string(),
            target: target.clone(),
            reason: format!(
                "{failures} failed logins within {} s",
                policy.find_time.as_secs()
            ),
            source: BlockSource::Automatic,
            created_by: "system".into(),
            created_at: now,
            expires_at: Some(expires_at),
            lifted_at: None,
        };
        store.add_block(&block).await?;
        self.update_blocklist(Some(&block), None).await;
        self.emit(new_event(
            now,
            "ip_blocked",
            "warning",
            Some(ip.to_string()),
            None,
            format!(
                "{target} blocked for {} s after {failures} failed logins (ban number {})",
                duration.as_secs(),
                previous + 1
            ),
            json!({
                "blockId": block.id,
                "source": "automatic",
                "failures": failures,
                "banSeconds": duration.as_secs(),
                "previousBans": previous,
            }),
        ))
        .await;
        Ok(Some(block))
    }

    /// Locks `account` against its failing sources if its failures reach the threshold.
    async fn maybe_lock(&self, account: &str, now: OffsetDateTime) -> Result<()> {
        let policy = &self.inner.config.lockout;
        let store = &self.inner.store;
        let failures = store
            .count_failed_by_account(account, policy.window_start(now))
            .await?;
        let current = store.get_lockout(account).await?;
        let Some(lockout) = lockout_after_failure(policy, account, now, current.as_ref(), failures)
        else {
            return Ok(());
        };
        store.put_lockout(&lockout).await?;
        let until = lockout
            .until
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        self.emit(new_event(
            now,
            "account_locked",
            "warning",
            None,
            Some(account),
            format!(
                "{account} locked until {until} against the addresses that failed on it \
                 ({failures} failures)"
            ),
            json!({ "until": until, "level": lockout.level, "failures": failures }),
        ))
        .await;
        Ok(())
    }

    fn note_failure(&self, account: &str, now: OffsetDateTime) {
        let keep = self.inner.config.lockout.max_delay;
        let mut map = self
            .inner
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if map.len() >= LAST_FAILURE_PRUNE_AT && !map.contains_key(account) {
            // A delay never exceeds max_delay, so older failures no longer matter.
            map.retain(|_, at| now - *at < keep);
            if map.len() >= LAST_FAILURE_MAX {
                map.clear();
            }
        }
        map.insert(account.to_owned(), now);
    }

    fn last_failure(&self, account: &str) -> Option<OffsetDateTime> {
        self.inner
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .copied()
    }
}

/// The event of a detector's finding. The finding's key is the IP, or the account for
/// many-IPs; for spraying it is a count, never the password tag.
pub(super) fn finding_event(
    f: &Finding,
    ip: Option<IpAddr>,
    now: OffsetDateTime,
) -> legalops_core::security::SecurityEvent {
    let account = matches!(f.kind, FindingKind::ManyIpsOneAccount).then_some(f.key.as_str());
    let ip = match f.kind {
        FindingKind::ManyIpsOneAccount | FindingKind::PasswordSpraying => None,
        _ => ip.map(|i| i.to_string()),
    };
    new_event(
        now,
        f.kind.as_str(),
        f.kind.severity(),
        ip,
        account,
        f.message.clone(),
        json!({ "count": f.count }),
    )
}
