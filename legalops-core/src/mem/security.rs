//! [`SecurityStore`] of [`MemoryRecords`]: failed logins, IP blocks, account lockouts and
//! security events.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryRecords;
use super::identity::saturating_usize;
use crate::error::{Error, Result};
use crate::security::{Block, BlockSource, FailedLogin, Lockout, SecurityEvent, SecurityStore};

/// Security state. Failed logins and events are kept in the order recorded, so that ties
/// in time come out newest-recorded first.
#[derive(Debug, Default)]
pub(super) struct SecurityState {
    failed: Vec<FailedLogin>,
    blocks: BTreeMap<String, Block>,
    lockouts: BTreeMap<String, Lockout>,
    // Index i holds the event with id i + 1; events are never removed.
    events: Vec<SecurityEvent>,
}

impl SecurityState {
    fn count_failed(&self, since: OffsetDateTime, pred: impl Fn(&FailedLogin) -> bool) -> u64 {
        self.failed
            .iter()
            .filter(|f| f.at >= since && pred(f))
            .count() as u64
    }
}

#[async_trait]
impl SecurityStore for MemoryRecords {
    async fn record_failed_login(&self, attempt: &FailedLogin) -> Result<()> {
        self.query("security.record_failed_login", |s| {
            s.security.failed.push(attempt.clone())
        });
        Ok(())
    }

    async fn failed_logins(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<FailedLogin>> {
        Ok(self.query("security.failed_logins", |s| {
            // Reverse first, then a stable sort: equal times stay newest-recorded first.
            let mut v: Vec<&FailedLogin> = s
                .security
                .failed
                .iter()
                .rev()
                .filter(|f| f.at >= since)
                .collect();
            v.sort_by_key(|f| Reverse(f.at));
            v.into_iter()
                .take(saturating_usize(limit))
                .cloned()
                .collect()
        }))
    }

    async fn count_failed_by_ip(&self, ip: &str, since: OffsetDateTime) -> Result<u64> {
        Ok(self.query("security.count_failed_by_ip", |s| {
            s.security.count_failed(since, |f| f.ip == ip)
        }))
    }

    async fn count_failed_by_account(&self, account: &str, since: OffsetDateTime) -> Result<u64> {
        Ok(self.query("security.count_failed_by_account", |s| {
            s.security
                .count_failed(since, |f| f.account.as_deref() == Some(account))
        }))
    }

    async fn count_failed_by_account_ip(
        &self,
        account: &str,
        ip: &str,
        since: OffsetDateTime,
    ) -> Result<u64> {
        Ok(self.query("security.count_failed_by_account_ip", |s| {
            s.security.count_failed(since, |f| {
                f.ip == ip && f.account.as_deref() == Some(account)
            })
        }))
    }

    async fn prune_failed_logins(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(self.query("security.prune_failed_logins", |s| {
            let n = s.security.failed.len();
            s.security.failed.retain(|f| f.at >= before);
            (n - s.security.failed.len()) as u64
        }))
    }

    async fn add_block(&self, block: &Block) -> Result<()> {
        self.query("security.add_block", |s| {
            if s.security.blocks.contains_key(&block.id) {
                return Err(Error::already_exists(format!("block {:?}", block.id)));
            }
            s.security.blocks.insert(block.id.clone(), block.clone());
            Ok(())
        })
    }

    async fn lift_block(&self, id: &str, at: OffsetDateTime) -> Result<Block> {
        self.query("security.lift_block", |s| {
            // Only a block in force can be lifted: lifting a lifted or expired one would
            // rewrite history (when it really ended).
            match s.security.blocks.get_mut(id) {
                Some(b) if b.is_active(at) => {
                    b.lifted_at = Some(at);
                    Ok(b.clone())
                }
                _ => Err(Error::not_found(format!("active block {id:?}"))),
            }
        })
    }

    async fn active_blocks(&self, now: OffsetDateTime) -> Result<Vec<Block>> {
        Ok(self.query("security.active_blocks", |s| {
            let mut v: Vec<Block> = s
                .security
                .blocks
                .values()
                .filter(|b| b.is_active(now))
                .cloned()
                .collect();
            v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            v
        }))
    }

    async fn count_blocks(&self, target: &str, source: BlockSource) -> Result<u64> {
        Ok(self.query("security.count_blocks", |s| {
            // Lifted and expired blocks count: a repeat offender's history is the point.
            s.security
                .blocks
                .values()
                .filter(|b| b.target == target && b.source == source)
                .count() as u64
        }))
    }

    async fn get_lockout(&self, account: &str) -> Result<Option<Lockout>> {
        Ok(self.query("security.get_lockout", |s| {
            s.security.lockouts.get(account).cloned()
        }))
    }

    async fn put_lockout(&self, lockout: &Lockout) -> Result<()> {
        self.query("security.put_lockout", |s| {
            s.security
                .lockouts
                .insert(lockout.account.clone(), lockout.clone())
        });
        Ok(())
    }

    async fn clear_lockout(&self, account: &str) -> Result<()> {
        self.query("security.clear_lockout", |s| {
            s.security.lockouts.remove(account)
        });
        Ok(())
    }

    async fn record_event(&self, event: &SecurityEvent) -> Result<SecurityEvent> {
        Ok(self.query("security.record_event", |s| {
            let stored = SecurityEvent {
                id: s.security.events.len() as u64 + 1,
                ..event.clone()
            };
            s.security.events.push(stored.clone());
            stored
        }))
    }

    async fn events(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<SecurityEvent>> {
        Ok(self.query("security.events", |s| {
            let mut v: Vec<&SecurityEvent> =
                s.security.events.iter().filter(|e| e.at >= since).collect();
            v.sort_by_key(|e| Reverse((e.at, e.id)));
            v.into_iter()
                .take(saturating_usize(limit))
                .cloned()
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::block_on;
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-01-01 10:00 UTC);

    fn block(id: &str, expires: Option<i64>) -> Block {
        Block {
            id: id.to_owned(),
            target: "192.0.2.7/32".to_owned(),
            reason: "test".to_owned(),
            source: BlockSource::Automatic,
            created_by: "system".to_owned(),
            created_at: T,
            expires_at: expires.map(|m| T + Duration::minutes(m)),
            lifted_at: None,
        }
    }

    #[test]
    fn a_duplicate_block_id_is_already_exists() {
        let db = MemoryRecords::new();
        assert!(block_on(db.add_block(&block("b1", None))).is_ok());
        let err = block_on(db.add_block(&block("b1", Some(5))));
        assert!(matches!(err, Err(Error::AlreadyExists { .. })), "{err:?}");
    }

    #[test]
    fn an_expired_block_cannot_be_lifted_and_keeps_no_lifted_at() {
        let db = MemoryRecords::new();
        assert!(block_on(db.add_block(&block("b1", Some(10)))).is_ok());
        let err = block_on(db.lift_block("b1", T + Duration::minutes(10)));
        assert!(matches!(err, Err(Error::NotFound { .. })), "{err:?}");
        assert!(block_on(db.active_blocks(T)).is_ok_and(|v| v[0].lifted_at.is_none()));
    }

    #[test]
    fn failed_logins_at_the_same_time_come_newest_recorded_first() {
        let db = MemoryRecords::new();
        for ip in ["192.0.2.1", "192.0.2.2"] {
            let f = FailedLogin {
                at: T,
                ip: ip.to_owned(),
                account: None,
                user_agent: None,
            };
            assert!(block_on(db.record_failed_login(&f)).is_ok());
        }
        let got = block_on(db.failed_logins(T, 10)).unwrap_or_default();
        let ips: Vec<&str> = got.iter().map(|f| f.ip.as_str()).collect();
        assert_eq!(ips, ["192.0.2.2", "192.0.2.1"]);
    }

    proptest! {
        // The three counts agree with a direct count over what was recorded, for any
        // attempts and any window start.
        #[test]
        fn counts_match_a_model(
            attempts in proptest::collection::vec((0u8..3, proptest::option::of(0u8..3), -30i64..30), 0..40),
            since in -40i64..40,
        ) {
            let db = MemoryRecords::new();
            let recorded: Vec<FailedLogin> = attempts.iter().map(|(ip, acct, m)| FailedLogin {
                at: T + Duration::minutes(*m),
                ip: format!("192.0.2.{ip}"),
                account: acct.map(|a| format!("a{a}@x.test")),
                user_agent: None,
            }).collect();
            for f in &recorded {
                prop_assert!(block_on(db.record_failed_login(f)).is_ok());
            }
            let since = T + Duration::minutes(since);
            let ip = "192.0.2.1";
            let acct = "a1@x.test";
            let model = |p: &dyn Fn(&FailedLogin) -> bool| {
                recorded.iter().filter(|f| f.at >= since && p(f)).count() as u64
            };
            prop_assert_eq!(block_on(db.count_failed_by_ip(ip, since)).ok(), Some(model(&|f| f.ip == ip)));
            prop_assert_eq!(
                block_on(db.count_failed_by_account(acct, since)).ok(),
                Some(model(&|f| f.account.as_deref() == Some(acct)))
            );
            prop_assert_eq!(
                block_on(db.count_failed_by_account_ip(acct, ip, since)).ok(),
                Some(model(&|f| f.ip == ip && f.account.as_deref() == Some(acct)))
            );
            let listed = block_on(db.failed_logins(since, u64::MAX)).unwrap_or_default();
            prop_assert_eq!(listed.len() as u64, model(&|_| true));
            prop_assert!(listed.windows(2).all(|w| w[0].at >= w[1].at));
        }
    }
}
