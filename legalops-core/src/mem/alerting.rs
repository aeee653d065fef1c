//! [`AlertStore`], [`LeaseStore`] and the built-in [`IncidentTracker`] of
//! [`MemoryRecords`]: rule states, silences, notification groups, deliveries, leases and
//! incidents, each over its part of the one records state.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryRecords;
use super::identity::saturating_usize;
use crate::alerting::{AlertStore, Delivery, GroupState, LeaseStore, RuleStateRecord, Silence};
use crate::error::{Error, Result};
use crate::incidents::{Incident, IncidentStatus, IncidentTracker, Trigger};

/// Alerting state. Silences and deliveries are kept in the order stored, so that ties in
/// time come out newest-stored first.
#[derive(Debug, Default)]
pub(super) struct AlertingState {
    rules: BTreeMap<String, RuleStateRecord>,
    silences: Vec<Silence>,
    groups: BTreeMap<String, GroupState>,
    // Index i holds the delivery with id i + 1; deliveries are never removed.
    deliveries: Vec<Delivery>,
    // Lease name -> (holder, expires_at).
    leases: BTreeMap<String, (String, OffsetDateTime)>,
}

#[async_trait]
impl AlertStore for MemoryRecords {
    async fn rule_states(&self) -> Result<Vec<RuleStateRecord>> {
        Ok(self.query("alerts.rule_states", |s| {
            s.alerting.rules.values().cloned().collect()
        }))
    }

    async fn put_rule_states(&self, states: &[RuleStateRecord]) -> Result<()> {
        // Under one lock: the batch is seen whole or not at all.
        self.query("alerts.put_rule_states", |s| {
            for r in states {
                s.alerting.rules.insert(r.rule.clone(), r.clone());
            }
        });
        Ok(())
    }

    async fn delete_rule_states(&self, rules: &[String]) -> Result<u64> {
        Ok(self.query("alerts.delete_rule_states", |s| {
            // A name given twice is removed once, so the count is of states removed.
            rules
                .iter()
                .filter(|r| s.alerting.rules.remove(r.as_str()).is_some())
                .count() as u64
        }))
    }

    async fn put_silence(&self, silence: &Silence) -> Result<()> {
        self.query("alerts.put_silence", |s| {
            if s.alerting.silences.iter().any(|x| x.id == silence.id) {
                return Err(Error::already_exists(format!("silence {:?}", silence.id)));
            }
            s.alerting.silences.push(silence.clone());
            Ok(())
        })
    }

    async fn silences(&self) -> Result<Vec<Silence>> {
        Ok(self.query("alerts.silences", |s| {
            // Reverse first, then a stable sort: equal times stay newest-stored first.
            let mut v: Vec<Silence> = s.alerting.silences.iter().rev().cloned().collect();
            v.sort_by_key(|x| Reverse(x.created_at));
            v
        }))
    }

    async fn expire_silence(&self, id: &str, at: OffsetDateTime) -> Result<Silence> {
        self.query("alerts.expire_silence", |s| {
            let silence = s
                .alerting
                .silences
                .iter_mut()
                .find(|x| x.id == id)
                .ok_or_else(|| Error::not_found(format!("silence {id:?}")))?;
            // An already expired silence keeps its end: expiring is idempotent.
            if silence.ends_at > at {
                silence.ends_at = at;
            }
            Ok(silence.clone())
        })
    }

    async fn group_states(&self) -> Result<Vec<GroupState>> {
        Ok(self.query("alerts.group_states", |s| {
            s.alerting.groups.values().cloned().collect()
        }))
    }

    async fn put_group_state(&self, state: &GroupState) -> Result<()> {
        self.query("alerts.put_group_state", |s| {
            s.alerting
                .groups
                .insert(state.group_key.clone(), state.clone())
        });
        Ok(())
    }

    async fn delete_group_state(&self, group_key: &str) -> Result<()> {
        self.query("alerts.delete_group_state", |s| {
            s.alerting.groups.remove(group_key)
        });
        Ok(())
    }

    async fn record_delivery(&self, delivery: &Delivery) -> Result<Delivery> {
        Ok(self.query("alerts.record_delivery", |s| {
            let stored = Delivery {
                id: s.alerting.deliveries.len() as u64 + 1,
                ..delivery.clone()
            };
            s.alerting.deliveries.push(stored.clone());
            stored
        }))
    }

    async fn deliveries(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<Delivery>> {
        Ok(self.query("alerts.deliveries", |s| {
            let mut v: Vec<&Delivery> = s
                .alerting
                .deliveries
                .iter()
                .rev()
                .filter(|d| d.at >= since)
                .collect();
            v.sort_by_key(|d| Reverse(d.at));
            v.into_iter()
                .take(saturating_usize(limit))
                .cloned()
                .collect()
        }))
    }
}

/// `now + ttl`, or `InvalidInput` naming `ttl` when that is past the end of time.
fn lease_expiry(now: OffsetDateTime, ttl: Duration) -> Result<OffsetDateTime> {
    time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| now.checked_add(ttl))
        .ok_or_else(|| Error::invalid_input("ttl", format!("{ttl:?} from {now} is out of range")))
}

#[async_trait]
impl LeaseStore for MemoryRecords {
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let expires = lease_expiry(now, ttl)?;
        // Check and take under one lock: that is what makes it atomic.
        Ok(self.query("leases.try_acquire", |s| {
            let free = match s.alerting.leases.get(name) {
                None => true,
                // Expired at `now` counts as free: the holder had until then, not longer.
                Some((h, until)) => h == holder || *until <= now,
            };
            if free {
                s.alerting
                    .leases
                    .insert(name.to_owned(), (holder.to_owned(), expires));
            }
            free
        }))
    }

    async fn release(&self, name: &str, holder: &str) -> Result<()> {
        self.query("leases.release", |s| {
            if s.alerting
                .leases
                .get(name)
                .is_some_and(|(h, _)| h == holder)
            {
                s.alerting.leases.remove(name);
            }
        });
        Ok(())
    }

    async fn lease(&self, name: &str) -> Result<Option<(String, OffsetDateTime)>> {
        Ok(self.query("leases.get", |s| s.alerting.leases.get(name).cloned()))
    }
}

// The built-in tracker is the memory tracker's logic over the records state, so the two
// cannot drift apart.
#[async_trait]
impl IncidentTracker for MemoryRecords {
    async fn trigger(&self, trigger: &Trigger) -> Result<Incident> {
        self.query("incidents.trigger", |s| s.incidents.trigger(trigger))
    }

    async fn acknowledge(
        &self,
        dedup_key: &str,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        self.query("incidents.acknowledge", |s| {
            s.incidents.acknowledge(dedup_key, actor, at)
        })
    }

    async fn resolve(&self, dedup_key: &str, actor: &str, at: OffsetDateTime) -> Result<Incident> {
        self.query("incidents.resolve", |s| {
            s.incidents.resolve(dedup_key, actor, at)
        })
    }

    async fn note(
        &self,
        dedup_key: &str,
        actor: &str,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        self.query("incidents.note", |s| {
            s.incidents.note(dedup_key, actor, text, at)
        })
    }

    async fn set_status(
        &self,
        id: &str,
        status: IncidentStatus,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Incident> {
        self.query("incidents.set_status", |s| {
            s.incidents.set_status(id, status, actor, at)
        })
    }

    async fn get(&self, id: &str) -> Result<Incident> {
        self.query("incidents.get", |s| s.incidents.get(id))
    }

    async fn list_open(&self) -> Result<Vec<Incident>> {
        Ok(self.query("incidents.list_open", |s| s.incidents.list_open()))
    }

    async fn list_recent(&self, since: OffsetDateTime, limit: u64) -> Result<Vec<Incident>> {
        Ok(self.query("incidents.list_recent", |s| {
            s.incidents.list_recent(since, limit)
        }))
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::block_on;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn delivery(at: OffsetDateTime, channel: &str) -> Delivery {
        Delivery {
            id: 0,
            at,
            group_key: "{}:{alertname=\"X\"}".to_owned(),
            channel: channel.to_owned(),
            status: "firing".to_owned(),
            alerts: 1,
            attempts: 1,
            ok: true,
            error: None,
        }
    }

    #[test]
    fn a_ttl_past_the_end_of_time_is_refused_naming_ttl_and_takes_nothing() {
        let db = MemoryRecords::new();
        let got = block_on(db.try_acquire("l", "a", Duration::MAX, T0));
        assert!(
            matches!(got, Err(Error::InvalidInput { ref field, .. }) if field == "ttl"),
            "{got:?}"
        );
        assert!(matches!(block_on(db.lease("l")), Ok(None)));
    }

    #[test]
    fn deliveries_at_the_same_time_come_newest_recorded_first() {
        let db = MemoryRecords::new();
        for channel in ["a", "b", "c"] {
            assert!(block_on(db.record_delivery(&delivery(T0, channel))).is_ok());
        }
        let got: Vec<(u64, String)> = block_on(db.deliveries(T0, 10))
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.id, d.channel))
            .collect();
        assert_eq!(
            got,
            [
                (3, "c".to_owned()),
                (2, "b".to_owned()),
                (1, "a".to_owned())
            ]
        );
    }

    #[test]
    fn expiring_an_already_ended_silence_keeps_its_end() {
        let db = MemoryRecords::new();
        let s = Silence {
            id: "s".to_owned(),
            matchers: Vec::new(),
            starts_at: T0,
            ends_at: T0 + time::Duration::hours(1),
            created_by: "ann".to_owned(),
            comment: String::new(),
            created_at: T0,
        };
        assert!(block_on(db.put_silence(&s)).is_ok());
        let later = T0 + time::Duration::hours(2);
        assert_eq!(block_on(db.expire_silence("s", later)).ok(), Some(s));
        assert!(matches!(
            block_on(db.expire_silence("t", later)),
            Err(Error::NotFound { .. })
        ));
    }

    proptest! {
        // Against a model of the contract: try_acquire succeeds exactly when the lease is
        // free, expired at `now` or the caller's, and then the caller holds it until
        // now + ttl; release frees it only for its holder.
        #[test]
        fn leases_follow_the_model(ops in proptest::collection::vec((0u8..3, any::<bool>(), 0i64..100, 0u64..40), 0..60)) {
            let db = MemoryRecords::new();
            let mut model: Option<(String, OffsetDateTime)> = None;
            for (who, acquire, second, ttl) in ops {
                let holder = format!("h{who}");
                if acquire {
                    let now = T0 + time::Duration::seconds(second);
                    let got = block_on(db.try_acquire("l", &holder, Duration::from_secs(ttl), now));
                    let free = model.as_ref().is_none_or(|(h, until)| *h == holder || *until <= now);
                    prop_assert_eq!(got.ok(), Some(free));
                    if free {
                        model = Some((holder, now + time::Duration::seconds(ttl as i64)));
                    }
                } else {
                    prop_assert!(block_on(db.release("l", &holder)).is_ok());
                    if model.as_ref().is_some_and(|(h, _)| *h == holder) {
                        model = None;
                    }
                }
                prop_assert_eq!(block_on(db.lease("l")).ok(), Some(model.clone()));
            }
        }
    }
}
