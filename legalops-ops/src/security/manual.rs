//! What an operator does by hand (the `/api/security/*` routes and the CLI): block and
//! unblock addresses and ranges, read blocks, failed logins and events, switch DoS mode.
//! Each returns what the server needs to answer and to audit; the engine itself records a
//! security event for every change.

use ipnet::IpNet;
use legalops_core::security::rules::parse_target;
use legalops_core::security::{Block, BlockSource, FailedLogin, SecurityEvent};
use legalops_core::{Error, Result};
use serde_json::json;
use time::OffsetDateTime;

use super::{DOS_MODE_SETTING, SecurityEngine, new_event};

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Most rows one listing returns.
pub const MAX_LIST: u64 = 1000;

impl SecurityEngine {
    /// Blocks an address or CIDR range (`ipAddress`) until `expires_at` (or until lifted).
    /// `InvalidInput` naming the field for a malformed or too-broad target, a reason that
    /// is empty or longer than 500 characters, or an expiry not in the future; `Conflict`
    /// naming the allowlist entry if the target is or holds an allowlisted address;
    /// `AlreadyExists` if the same target is already blocked.
    pub async fn block(
        &self,
        target: &str,
        reason: &str,
        expires_at: Option<OffsetDateTime>,
        actor: &str,
    ) -> Result<Block> {
        let net = parse_target(target)?;
        let reason = reason.trim();
        let chars = reason.chars().count();
        if chars == 0 || chars > MAX_REASON_CHARS {
            return Err(Error::invalid_input(
                "reason",
                format!("must be 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        let now = self.inner.clock.now();
        if expires_at.is_some_and(|e| e <= now) {
            return Err(Error::invalid_input("expiresAt", "must be in the future"));
        }
        if let Some(allowed) = self.inner.allow_nets.iter().find(|a| overlaps(a, &net)) {
            return Err(Error::conflict(format!(
                "{net} is or holds the allowlisted {allowed}; remove it from \
                 security.allowlist before blocking it"
            )));
        }
        let target = net.to_string();
        let active = self.inner.store.active_blocks(now).await?;
        if let Some(existing) = active.iter().find(|b| b.target == target) {
            return Err(Error::already_exists(format!(
                "an active block of {target} ({})",
                existing.id
            )));
        }
        let block = Block {
            id: uuid::Uuid::new_v4().to_string(),
            target: target.clone(),
            reason: reason.to_owned(),
            source: BlockSource::Manual,
            created_by: actor.to_owned(),
            created_at: now,
            expires_at,
            lifted_at: None,
        };
        self.inner.store.add_block(&block).await?;
        self.update_blocklist(Some(&block), None).await;
        self.emit(new_event(
            now,
            "ip_blocked",
            "warning",
            Some(target.clone()),
            None,
            format!("{target} blocked by {actor}: {reason}"),
            json!({ "blockId": block.id, "source": "manual", "actor": actor }),
        ))
        .await;
        Ok(block)
    }

    /// Lifts the active block `id`; `NotFound` if there is none.
    pub async fn unblock(&self, id: &str, actor: &str) -> Result<Block> {
        let now = self.inner.clock.now();
        let block = self.inner.store.lift_block(id, now).await?;
        self.update_blocklist(None, Some(id)).await;
        self.emit(new_event(
            now,
            "ip_unblocked",
            "info",
            Some(block.target.clone()),
            None,
            format!("{} unblocked by {actor}", block.target),
            json!({ "blockId": block.id, "actor": actor }),
        ))
        .await;
        Ok(block)
    }

    /// The blocks in force now.
    pub async fn blocks(&self) -> Result<Vec<Block>> {
        self.inner.store.active_blocks(self.inner.clock.now()).await
    }

    /// Failed logins since `since`, newest first, at most `limit` (1 to 1000).
    pub async fn failed_logins(
        &self,
        since: OffsetDateTime,
        limit: u64,
    ) -> Result<Vec<FailedLogin>> {
        self.inner
            .store
            .failed_logins(since, check_limit(limit)?)
            .await
    }

    /// Security events since `since`, newest first, at most `limit` (1 to 1000).
    pub async fn events(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<SecurityEvent>> {
        self.inner.store.events(since, check_limit(limit)?).await
    }

    /// Switches DoS mode (every rate limit tightened by `dos_tightening`) on every replica:
    /// the flag is stored in the settings and each replica follows on its next reload.
    /// Returns whether it was on before.
    pub async fn set_dos_mode(&self, on: bool, actor: &str) -> Result<bool> {
        let value = if on { "on" } else { "off" };
        self.inner
            .settings
            .put_setting(DOS_MODE_SETTING, value)
            .await?;
        let was = self
            .inner
            .dos_mode
            .swap(on, std::sync::atomic::Ordering::Relaxed);
        self.apply_dos_mode(on);
        let now = self.inner.clock.now();
        self.emit(new_event(
            now,
            "dos_mode",
            if on { "critical" } else { "info" },
            None,
            None,
            format!("DoS mode switched {value} by {actor}"),
            json!({ "on": on, "was": was, "actor": actor }),
        ))
        .await;
        Ok(was)
    }
}

fn check_limit(limit: u64) -> Result<u64> {
    if (1..=MAX_LIST).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::invalid_input(
            "limit",
            format!("must be 1 to {MAX_LIST}"),
        ))
    }
}

/// Whether two networks share any address (CIDR ranges either nest or are disjoint).
fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("test literal")
    }

    #[test]
    fn ranges_overlap_when_one_holds_the_other() {
        assert!(overlaps(&net("127.0.0.0/8"), &net("127.0.0.1/32")));
        assert!(overlaps(&net("127.0.0.1/32"), &net("126.0.0.0/7")));
        assert!(!overlaps(&net("127.0.0.0/8"), &net("128.0.0.0/8")));
        assert!(!overlaps(&net("::1/128"), &net("127.0.0.0/8")));
    }

    #[test]
    fn listing_limits_are_bounded() {
        assert!(check_limit(0).is_err());
        assert!(check_limit(1001).is_err());
        assert_eq!(check_limit(50).expect("in range"), 50);
    }
}
