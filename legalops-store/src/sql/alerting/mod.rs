//! Alerting state over sqlx (rule states, silences, notification groups, deliveries) and
//! leases: the SQL, written once for SQLite and PostgreSQL, the rows, and
//! [`impl_alerting!`], which stamps out `AlertStore` and `LeaseStore` for a backend type.
//!
//! A batch of rule states is one transaction (an evaluation is stored whole or not at
//! all). A lease is taken by one conditional upsert, so the database decides between
//! racing replicas (see `leases.rs`).

mod leases;
mod rows;

pub(crate) use leases::{ACQUIRE_LEASE, GET_LEASE, RELEASE_LEASE, lease_expiry};
pub(crate) use rows::{DeliveryRow, GroupRow, RuleStateRow, SilenceRow};

pub(crate) const RULE_STATES: &str = "SELECT rule, state, active_since, firing_since, \
     last_true_at, resolved_at, evaluated_at, value, labels, annotations FROM rule_states \
     ORDER BY rule";

pub(crate) const PUT_RULE_STATE: &str = "INSERT INTO rule_states (rule, state, \
     active_since, firing_since, last_true_at, resolved_at, evaluated_at, value, labels, \
     annotations) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (rule) DO UPDATE SET state = excluded.state, \
     active_since = excluded.active_since, firing_since = excluded.firing_since, \
     last_true_at = excluded.last_true_at, resolved_at = excluded.resolved_at, \
     evaluated_at = excluded.evaluated_at, value = excluded.value, \
     labels = excluded.labels, annotations = excluded.annotations";

pub(crate) const DELETE_RULE_STATE: &str = "DELETE FROM rule_states WHERE rule = $1";

pub(crate) const INSERT_SILENCE: &str = "INSERT INTO silences (id, matchers, starts_at, \
     ends_at, created_by, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const SILENCES: &str = "SELECT id, matchers, starts_at, ends_at, created_by, \
     comment, created_at FROM silences ORDER BY created_at DESC, id DESC";

/// Matches the silence whatever its end, so that zero rows means "no such silence"; an
/// already expired silence keeps its end.
pub(crate) const EXPIRE_SILENCE: &str = "UPDATE silences SET ends_at = \
     CASE WHEN ends_at > $2 THEN $2 ELSE ends_at END WHERE id = $1 \
     RETURNING id, matchers, starts_at, ends_at, created_by, comment, created_at";

pub(crate) const GROUP_STATES: &str = "SELECT group_key, first_seen_at, last_notified_at, \
     last_notified_hash FROM alert_groups ORDER BY group_key";

pub(crate) const PUT_GROUP_STATE: &str = "INSERT INTO alert_groups (group_key, \
     first_seen_at, last_notified_at, last_notified_hash) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (group_key) DO UPDATE SET first_seen_at = excluded.first_seen_at, \
     last_notified_at = excluded.last_notified_at, \
     last_notified_hash = excluded.last_notified_hash";

pub(crate) const DELETE_GROUP_STATE: &str = "DELETE FROM alert_groups WHERE group_key = $1";

pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO deliveries (at, group_key, channel, \
     status, alerts, attempts, ok, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     RETURNING id";

/// Ties in time come out newest-stored first (ids only grow).
pub(crate) const DELIVERIES: &str = "SELECT id, at, group_key, channel, status, alerts, \
     attempts, ok, error FROM deliveries WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2";

/// Implements `AlertStore` and `LeaseStore` for a backend type with `pool` and `inst`
/// fields.
macro_rules! impl_alerting {
    ($ty:ty) => {
        $crate::sql::alerting::impl_leases!($ty);

        #[async_trait::async_trait]
        impl legalops_core::alerting::AlertStore for $ty {
            async fn rule_states(
                &self,
            ) -> legalops_core::Result<Vec<legalops_core::alerting::RuleStateRecord>> {
                let q = sqlx::query_as::<_, $crate::sql::alerting::RuleStateRow>(
                    $crate::sql::alerting::RULE_STATES,
                )
                .fetch_all(&self.pool);
                let rows = self.inst.run("alerts.rule_states", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn put_rule_states(
                &self,
                states: &[legalops_core::alerting::RuleStateRecord],
            ) -> legalops_core::Result<()> {
                let rows = states
                    .iter()
                    .map($crate::sql::alerting::RuleStateRow::encode)
                    .collect::<legalops_core::Result<Vec<_>>>()?;
                if rows.is_empty() {
                    return Ok(());
                }
                // One transaction: an evaluation's states are stored whole or not at all.
                let q = async {
                    let mut tx = self.pool.begin().await?;
                    for r in &rows {
                        sqlx::query($crate::sql::alerting::PUT_RULE_STATE)
                            .bind(&r.rule)
                            .bind(&r.state)
                            .bind(r.active_since)
                            .bind(r.firing_since)
                            .bind(r.last_true_at)
                            .bind(r.resolved_at)
                            .bind(r.evaluated_at)
                            .bind(r.value)
                            .bind(&r.labels)
                            .bind(&r.annotations)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                };
                self.inst.run("alerts.put_rule_states", q).await
            }

            async fn delete_rule_states(&self, rules: &[String]) -> legalops_core::Result<u64> {
                if rules.is_empty() {
                    return Ok(0);
                }
                // A name given twice matches no row the second time, so the sum counts
                // states removed.
                let q = async {
                    let mut tx = self.pool.begin().await?;
                    let mut removed = 0;
                    for rule in rules {
                        removed += sqlx::query($crate::sql::alerting::DELETE_RULE_STATE)
                            .bind(rule)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    }
                    tx.commit().await?;
                    Ok(removed)
                };
                self.inst.run("alerts.delete_rule_states", q).await
            }

            async fn put_silence(
                &self,
                silence: &legalops_core::alerting::Silence,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::alerting::SilenceRow::encode(silence)?;
                let q = sqlx::query($crate::sql::alerting::INSERT_SILENCE)
                    .bind(&r.id)
                    .bind(&r.matchers)
                    .bind(r.starts_at)
                    .bind(r.ends_at)
                    .bind(&r.created_by)
                    .bind(&r.comment)
                    .bind(r.created_at)
                    .execute(&self.pool);
                self.inst.run("alerts.put_silence", q).await.map(drop)
            }

            async fn silences(
                &self,
            ) -> legalops_core::Result<Vec<legalops_core::alerting::Silence>> {
                let q = sqlx::query_as::<_, $crate::sql::alerting::SilenceRow>(
                    $crate::sql::alerting::SILENCES,
                )
                .fetch_all(&self.pool);
                let rows = self.inst.run("alerts.silences", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn expire_silence(
                &self,
                id: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<legalops_core::alerting::Silence> {
                // Rounded down: the stored end is then never after `at`.
                let q = sqlx::query_as::<_, $crate::sql::alerting::SilenceRow>(
                    $crate::sql::alerting::EXPIRE_SILENCE,
                )
                .bind(id)
                .bind($crate::sql::codec::micros(at))
                .fetch_optional(&self.pool);
                match self.inst.run("alerts.expire_silence", q).await? {
                    Some(row) => row.decode(&self.inst.backend),
                    None => Err(legalops_core::Error::not_found(format!("silence {id:?}"))),
                }
            }

            async fn group_states(
                &self,
            ) -> legalops_core::Result<Vec<legalops_core::alerting::GroupState>> {
                let q = sqlx::query_as::<_, $crate::sql::alerting::GroupRow>(
                    $crate::sql::alerting::GROUP_STATES,
                )
                .fetch_all(&self.pool);
                let rows = self.inst.run("alerts.group_states", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn put_group_state(
                &self,
                state: &legalops_core::alerting::GroupState,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::alerting::GroupRow::encode(state);
                let q = sqlx::query($crate::sql::alerting::PUT_GROUP_STATE)
                    .bind(&r.group_key)
                    .bind(r.first_seen_at)
                    .bind(r.last_notified_at)
                    .bind(&r.last_notified_hash)
                    .execute(&self.pool);
                self.inst.run("alerts.put_group_state", q).await.map(drop)
            }

            async fn delete_group_state(&self, group_key: &str) -> legalops_core::Result<()> {
                let q = sqlx::query($crate::sql::alerting::DELETE_GROUP_STATE)
                    .bind(group_key)
                    .execute(&self.pool);
                self.inst
                    .run("alerts.delete_group_state", q)
                    .await
                    .map(drop)
            }

            async fn record_delivery(
                &self,
                delivery: &legalops_core::alerting::Delivery,
            ) -> legalops_core::Result<legalops_core::alerting::Delivery> {
                let r = $crate::sql::alerting::DeliveryRow::encode(delivery)?;
                let q = sqlx::query_scalar::<_, i64>($crate::sql::alerting::INSERT_DELIVERY)
                    .bind(r.at)
                    .bind(&r.group_key)
                    .bind(&r.channel)
                    .bind(&r.status)
                    .bind(r.alerts)
                    .bind(r.attempts)
                    .bind(r.ok)
                    .bind(&r.error)
                    .fetch_one(&self.pool);
                let id = self.inst.run("alerts.record_delivery", q).await?;
                $crate::sql::alerting::DeliveryRow { id, ..r }.decode(&self.inst.backend)
            }

            async fn deliveries(
                &self,
                since: time::OffsetDateTime,
                limit: u64,
            ) -> legalops_core::Result<Vec<legalops_core::alerting::Delivery>> {
                use $crate::sql::codec::{big, ceil_micros};
                let q = sqlx::query_as::<_, $crate::sql::alerting::DeliveryRow>(
                    $crate::sql::alerting::DELIVERIES,
                )
                .bind(ceil_micros(since))
                .bind(big(limit))
                .fetch_all(&self.pool);
                let rows = self.inst.run("alerts.deliveries", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }
        }
    };
}

pub(crate) use impl_alerting;
pub(crate) use leases::impl_leases;
