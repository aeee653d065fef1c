//! The built-in incident tracker over sqlx: the SQL, written once for SQLite and
//! PostgreSQL, and [`impl_incidents!`], which stamps out `IncidentTracker` for a backend.
//!
//! Every write (trigger, acknowledge, resolve, note, set_status) is one transaction under
//! the incident writers' lock (each backend's `begin_incidents`: `BEGIN IMMEDIATE` on
//! SQLite, a transaction-scoped advisory lock on PostgreSQL, so replicas queue too): it
//! finds the incident, applies the tracker's rules (`change.rs`, pure), stores the row and
//! its new timeline entries, and reads the incident back as stored. Two replicas
//! triggering one dedup key at once therefore end with one open incident; the partial
//! unique index on open dedup keys holds that rule in the schema as well. Reads are one
//! statement (incidents joined to their timelines), so each sees one consistent snapshot.

mod change;
mod rows;

pub(crate) use change::{Write, acknowledge, note, resolve, set_status, trigger};
pub(crate) use rows::{IncidentRow, ListedRow, fold};

/// The advisory lock key PostgreSQL incident writers hold (`"LOINCID1"` in ASCII): fixed,
/// so that every replica and release takes the same one.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) const INCIDENT_LOCK_KEY: i64 = 0x4C4F_494E_4349_4431;

/// `SELECT` of an incident row for a write, with `$where` appended.
macro_rules! row_select {
    ($where:literal) => {
        concat!(
            "SELECT id, num, dedup_key, summary, severity, status, opened_at, \
             acknowledged_at, resolved_at, trigger_count, source, component, details, \
             COALESCE((SELECT MAX(t.seq) FROM incident_timeline t \
             WHERE t.incident_id = incidents.id), 0) AS last_seq FROM incidents ",
            $where
        )
    };
}

/// The listing join's columns over `incidents i` and `incident_timeline t`.
macro_rules! listed {
    ($from_where_order:literal) => {
        concat!(
            "SELECT i.id, i.dedup_key, i.summary, i.severity, i.status, i.opened_at, \
             i.acknowledged_at, i.resolved_at, i.trigger_count, t.at AS entry_at, t.actor, \
             t.kind, t.text ",
            $from_where_order
        )
    };
}

/// The open incident with dedup key `$1` (at most one, by the partial unique index).
pub(crate) const OPEN_BY_KEY: &str = row_select!(
    "WHERE dedup_key = $1 AND status IN ('triggered', 'acknowledged', 'investigating') \
     ORDER BY num DESC LIMIT 1"
);

/// The newest incident with dedup key `$1`, open or not.
pub(crate) const NEWEST_BY_KEY: &str =
    row_select!("WHERE dedup_key = $1 ORDER BY num DESC LIMIT 1");

pub(crate) const BY_ID: &str = row_select!("WHERE id = $1");

/// Incidents are never deleted, so numbers only grow (and `num` is UNIQUE besides).
pub(crate) const NEXT_NUM: &str = "SELECT COALESCE(MAX(num), 0) + 1 FROM incidents";

pub(crate) const INSERT_INCIDENT: &str = "INSERT INTO incidents (id, num, dedup_key, \
     summary, severity, status, opened_at, acknowledged_at, resolved_at, trigger_count, \
     source, component, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

pub(crate) const UPDATE_INCIDENT: &str = "UPDATE incidents SET severity = $2, status = $3, \
     acknowledged_at = $4, resolved_at = $5, trigger_count = $6 WHERE id = $1";

pub(crate) const INSERT_ENTRY: &str = "INSERT INTO incident_timeline \
     (incident_id, seq, at, actor, kind, text) VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) const GET: &str = listed!(
    "FROM incidents i LEFT JOIN incident_timeline t ON t.incident_id = i.id \
     WHERE i.id = $1 ORDER BY t.seq"
);

/// Oldest first; equal opening times in creation order.
pub(crate) const LIST_OPEN: &str = listed!(
    "FROM incidents i LEFT JOIN incident_timeline t ON t.incident_id = i.id \
     WHERE i.status IN ('triggered', 'acknowledged', 'investigating') \
     ORDER BY i.opened_at, i.num, t.seq"
);

/// Newest first; equal opening times newest-created first. The limit applies to
/// incidents, not to joined rows.
pub(crate) const LIST_RECENT: &str = listed!(
    "FROM (SELECT id, num, dedup_key, summary, severity, status, opened_at, \
     acknowledged_at, resolved_at, trigger_count FROM incidents WHERE opened_at >= $1 \
     ORDER BY opened_at DESC, num DESC LIMIT $2) i \
     LEFT JOIN incident_timeline t ON t.incident_id = i.id \
     ORDER BY i.opened_at DESC, i.num DESC, t.seq"
);

/// How a write finds the incident it changes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Find<'a> {
    /// The open incident with this dedup key.
    Open(&'a str),
    /// The newest incident with this dedup key.
    Newest(&'a str),
    /// The incident with this id.
    Id(&'a str),
}

impl<'a> Find<'a> {
    /// The query and its one parameter.
    pub(crate) fn parts(self) -> (&'static str, &'a str) {
        match self {
            Self::Open(key) => (OPEN_BY_KEY, key),
            Self::Newest(key) => (NEWEST_BY_KEY, key),
            Self::Id(id) => (BY_ID, id),
        }
    }
}

/// Implements `IncidentTracker` for a backend type with `pool` and `inst` fields and an
/// inherent `begin_incidents()` that opens a transaction holding the writers' lock.
macro_rules! impl_incidents {
    ($ty:ty) => {
        impl $ty {
            /// One incident write: under the writers' lock, finds the incident, applies
            /// `change`, stores the result and returns the incident as stored. Errors of
            /// `change` roll back (the transaction is dropped) and are returned as they are.
            async fn write_incident<F>(
                &self,
                operation: &'static str,
                find: $crate::sql::incidents::Find<'_>,
                change: F,
            ) -> legalops_core::Result<legalops_core::incidents::Incident>
            where
                F: FnOnce(
                        Option<$crate::sql::incidents::IncidentRow>,
                    ) -> legalops_core::Result<$crate::sql::incidents::Write>
                    + Send,
            {
                use $crate::sql::incidents as inc;
                let (sql, key) = find.parts();
                let q = async {
                    let mut tx = self.begin_incidents().await?;
                    let current = sqlx::query_as::<_, inc::IncidentRow>(sql)
                        .bind(key)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let mut w = match change(current) {
                        Ok(w) => w,
                        Err(e) => return Ok(Err(e)),
                    };
                    if w.is_new {
                        let num = sqlx::query_scalar::<_, i64>(inc::NEXT_NUM)
                            .fetch_one(&mut *tx)
                            .await?;
                        w.number(num);
                        let r = &w.row;
                        sqlx::query(inc::INSERT_INCIDENT)
                            .bind(&r.id)
                            .bind(r.num)
                            .bind(&r.dedup_key)
                            .bind(&r.summary)
                            .bind(&r.severity)
                            .bind(&r.status)
                            .bind(r.opened_at)
                            .bind(r.acknowledged_at)
                            .bind(r.resolved_at)
                            .bind(r.trigger_count)
                            .bind(&r.source)
                            .bind(&r.component)
                            .bind(&r.details)
                            .execute(&mut *tx)
                            .await?;
                    } else if !w.entries.is_empty() {
                        let r = &w.row;
                        sqlx::query(inc::UPDATE_INCIDENT)
                            .bind(&r.id)
                            .bind(&r.severity)
                            .bind(&r.status)
                            .bind(r.acknowledged_at)
                            .bind(r.resolved_at)
                            .bind(r.trigger_count)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for (seq, e) in w.numbered_entries() {
                        sqlx::query(inc::INSERT_ENTRY)
                            .bind(&w.row.id)
                            .bind(seq)
                            .bind(e.at)
                            .bind(&e.actor)
                            .bind(&e.kind)
                            .bind(&e.text)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let rows = sqlx::query_as::<_, inc::ListedRow>(inc::GET)
                        .bind(&w.row.id)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Ok(rows))
                };
                let rows = self.inst.run(operation, q).await??;
                let mut found = inc::fold(&self.inst.backend, rows)?;
                found.pop().ok_or_else(|| {
                    $crate::sql::codec::corrupt(
                        &self.inst.backend,
                        format!("incident {operation} wrote is not stored"),
                    )
                })
            }
        }

        #[async_trait::async_trait]
        impl legalops_core::incidents::IncidentTracker for $ty {
            async fn trigger(
                &self,
                trigger: &legalops_core::incidents::Trigger,
            ) -> legalops_core::Result<legalops_core::incidents::Incident> {
                use $crate::sql::incidents::{Find, trigger as change};
                legalops_core::incidents::validate_trigger(trigger)?;
                let backend = self.inst.backend.as_str();
                let find = Find::Open(&trigger.dedup_key);
                self.write_incident("incidents.trigger", find, |open| {
                    change(backend, open, trigger)
                })
                .await
            }

            async fn acknowledge(
                &self,
                dedup_key: &str,
                actor: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<legalops_core::incidents::Incident> {
                use $crate::sql::incidents::{Find, acknowledge as change};
                let backend = self.inst.backend.as_str();
                self.write_incident("incidents.acknowledge", Find::Open(dedup_key), |open| {
                    change(backend, open, dedup_key, actor, at)
                })
                .await
            }

            async fn resolve(
                &self,
                dedup_key: &str,
                actor: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<legalops_core::incidents::Incident> {
                use $crate::sql::incidents::{Find, resolve as change};
                self.write_incident("incidents.resolve", Find::Open(dedup_key), |open| {
                    change(open, dedup_key, actor, at)
                })
                .await
            }

            async fn note(
                &self,
                dedup_key: &str,
                actor: &str,
                text: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<legalops_core::incidents::Incident> {
                use $crate::sql::incidents::{Find, note as change};
                self.write_incident("incidents.note", Find::Newest(dedup_key), |newest| {
                    change(newest, dedup_key, actor, text, at)
                })
                .await
            }

            async fn set_status(
                &self,
                id: &str,
                status: legalops_core::incidents::IncidentStatus,
                actor: &str,
                at: time::OffsetDateTime,
            ) -> legalops_core::Result<legalops_core::incidents::Incident> {
                use $crate::sql::incidents::{Find, set_status as change};
                let backend = self.inst.backend.as_str();
                self.write_incident("incidents.set_status", Find::Id(id), |found| {
                    change(backend, found, id, status, actor, at)
                })
                .await
            }

            async fn get(
                &self,
                id: &str,
            ) -> legalops_core::Result<legalops_core::incidents::Incident> {
                let q = sqlx::query_as::<_, $crate::sql::incidents::ListedRow>(
                    $crate::sql::incidents::GET,
                )
                .bind(id)
                .fetch_all(&self.pool);
                let rows = self.inst.run("incidents.get", q).await?;
                let mut found = $crate::sql::incidents::fold(&self.inst.backend, rows)?;
                found
                    .pop()
                    .ok_or_else(|| legalops_core::Error::not_found(format!("incident {id:?}")))
            }

            async fn list_open(
                &self,
            ) -> legalops_core::Result<Vec<legalops_core::incidents::Incident>> {
                let q = sqlx::query_as::<_, $crate::sql::incidents::ListedRow>(
                    $crate::sql::incidents::LIST_OPEN,
                )
                .fetch_all(&self.pool);
                let rows = self.inst.run("incidents.list_open", q).await?;
                $crate::sql::incidents::fold(&self.inst.backend, rows)
            }

            async fn list_recent(
                &self,
                since: time::OffsetDateTime,
                limit: u64,
            ) -> legalops_core::Result<Vec<legalops_core::incidents::Incident>> {
                use $crate::sql::codec::{big, ceil_micros};
                let q = sqlx::query_as::<_, $crate::sql::incidents::ListedRow>(
                    $crate::sql::incidents::LIST_RECENT,
                )
                .bind(ceil_micros(since))
                .bind(big(limit))
                .fetch_all(&self.pool);
                let rows = self.inst.run("incidents.list_recent", q).await?;
                $crate::sql::incidents::fold(&self.inst.backend, rows)
            }

            async fn healthcheck(&self) -> legalops_core::Result<()> {
                legalops_core::records::Database::healthcheck(self).await
            }
        }
    };
}

pub(crate) use impl_incidents;

#[cfg(test)]
mod tests {
    use super::*;
    use rows::STATUSES;

    #[test]
    fn every_open_status_list_in_the_sql_is_is_open() {
        let open: Vec<String> = STATUSES
            .into_iter()
            .filter(|s| s.is_open())
            .map(|s| format!("'{}'", rows::status_str(s)))
            .collect();
        let list = format!("status IN ({})", open.join(", "));
        for sql in [OPEN_BY_KEY, LIST_OPEN] {
            assert!(sql.contains(&list), "{sql} lacks {list}");
        }
        for migration in [
            include_str!("../../../migrations/sqlite/0003_alerting_incidents.sql"),
            include_str!("../../../migrations/postgres/0003_alerting_incidents.sql"),
        ] {
            assert!(migration.contains(&list), "the partial index lacks {list}");
        }
    }
}
