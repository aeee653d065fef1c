//! The audit trail over sqlx: the SQL, written once for SQLite and PostgreSQL, the rows,
//! and [`impl_audit!`], which stamps out `AuditLog` for a backend type.
//!
//! Appending is one transaction that first serializes every appender of the database
//! (each backend's `begin_append`: `BEGIN IMMEDIATE` on SQLite, a transaction-scoped
//! advisory lock on PostgreSQL, so replicas queue too), then reads the last entry, chains
//! the new one to it with `legalops_core::audit::chain` and inserts it. `seq` is the
//! primary key: should serialization ever fail, a duplicate position is refused rather
//! than forking the chain.

use legalops_core::Result;
use legalops_core::audit::{AuditEntry, Checkpoint, NewAuditEntry, Outcome, chain};

use super::codec::{corrupt, from_micros, micros, parse_json, unsigned};

/// The advisory lock key PostgreSQL appenders hold (`"LOAUDIT1"` in ASCII): fixed, so that
/// every replica and release takes the same one.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) const APPEND_LOCK_KEY: i64 = 0x4C4F_4155_4449_5431;

pub(crate) const LAST_ENTRY: &str =
    "SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1";

pub(crate) const INSERT_ENTRY: &str = "INSERT INTO audit_log (seq, at_us, actor, action, \
     target, outcome, ip, user_agent, request_id, details, prev_hash, entry_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub(crate) const ENTRIES: &str = "SELECT seq, at_us, actor, action, target, outcome, ip, \
     user_agent, request_id, details, prev_hash, entry_hash FROM audit_log \
     WHERE seq >= $1 ORDER BY seq LIMIT $2";

pub(crate) const LEN: &str = "SELECT COALESCE(MAX(seq), 0) FROM audit_log";

pub(crate) const INSERT_CHECKPOINT: &str =
    "INSERT INTO audit_checkpoints (tree_size, root_hash, at) VALUES ($1, $2, $3)";

pub(crate) const CHECKPOINTS: &str =
    "SELECT tree_size, root_hash, at FROM audit_checkpoints ORDER BY tree_size";

/// An `audit_log` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EntryRow {
    pub(crate) seq: i64,
    pub(crate) at_us: i64,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target: Option<String>,
    pub(crate) outcome: String,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) details: String,
    pub(crate) prev_hash: String,
    pub(crate) entry_hash: String,
}

impl EntryRow {
    /// Numbers and chains `entry` after the entry `last` (`(seq, entry_hash)`, `None` for
    /// an empty log). Returns the row to insert and the entry as stored.
    pub(crate) fn chain(
        backend: &str,
        entry: &NewAuditEntry,
        last: Option<(i64, String)>,
    ) -> Result<(Self, AuditEntry)> {
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (unsigned(backend, "audit_log.seq", seq)? + 1, hash),
            None => (1, chain::GENESIS_HASH.to_owned()),
        };
        let mut entry = entry.clone();
        chain::normalize(&mut entry);
        let entry_hash = chain::entry_hash(seq, &entry, &prev_hash);
        let row = Self {
            // `seq` came from an i64 column plus one; past i64::MAX the insert would be
            // the least of our worries, but refuse it rather than wrap.
            seq: i64::try_from(seq)
                .map_err(|_| corrupt(backend, "audit log is full".to_owned()))?,
            at_us: micros(entry.at),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            outcome: entry.outcome.as_str().to_owned(),
            ip: entry.ip.clone(),
            user_agent: entry.user_agent.clone(),
            request_id: entry.request_id.clone(),
            details: chain::canonical_json(&entry.details),
            prev_hash: prev_hash.clone(),
            entry_hash: entry_hash.clone(),
        };
        let stored = AuditEntry {
            seq,
            entry,
            prev_hash,
            entry_hash,
        };
        Ok((row, stored))
    }

    /// The stored entry, exactly as written (nothing is re-hashed here: a verifier must
    /// see what the database holds).
    pub(crate) fn decode(self, backend: &str) -> Result<AuditEntry> {
        let outcome = parse_outcome(&self.outcome).ok_or_else(|| {
            corrupt(
                backend,
                format!("stored audit outcome {:?} is unknown", self.outcome),
            )
        })?;
        Ok(AuditEntry {
            seq: unsigned(backend, "audit_log.seq", self.seq)?,
            entry: NewAuditEntry {
                at: from_micros(backend, "audit_log.at_us", self.at_us)?,
                actor: self.actor,
                action: self.action,
                target: self.target,
                outcome,
                ip: self.ip,
                user_agent: self.user_agent,
                request_id: self.request_id,
                details: parse_json(backend, "audit_log.details", &self.details)?,
            },
            prev_hash: self.prev_hash,
            entry_hash: self.entry_hash,
        })
    }
}

/// An `audit_checkpoints` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    pub(crate) tree_size: i64,
    pub(crate) root_hash: String,
    pub(crate) at: i64,
}

impl CheckpointRow {
    pub(crate) fn encode(c: &Checkpoint) -> Result<Self> {
        let tree_size = i64::try_from(c.tree_size).map_err(|_| {
            legalops_core::Error::invalid_input("checkpoint.tree_size", "must be at most 2^63 - 1")
        })?;
        Ok(Self {
            tree_size,
            root_hash: c.root_hash.clone(),
            at: micros(c.at),
        })
    }

    pub(crate) fn decode(self, backend: &str) -> Result<Checkpoint> {
        Ok(Checkpoint {
            tree_size: unsigned(backend, "audit_checkpoints.tree_size", self.tree_size)?,
            at: from_micros(backend, "audit_checkpoints.at", self.at)?,
            root_hash: self.root_hash,
        })
    }
}

fn parse_outcome(s: &str) -> Option<Outcome> {
    [Outcome::Success, Outcome::Failure, Outcome::Denied]
        .into_iter()
        .find(|o| o.as_str() == s)
}

/// Implements `AuditLog` for a backend type with `pool` and `inst` fields and an
/// inherent `begin_append()` that opens a transaction holding the appenders' lock.
macro_rules! impl_audit {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl legalops_core::audit::AuditLog for $ty {
            async fn append(
                &self,
                entry: &legalops_core::audit::NewAuditEntry,
            ) -> legalops_core::Result<legalops_core::audit::AuditEntry> {
                use $crate::sql::audit::{EntryRow, INSERT_ENTRY, LAST_ENTRY};
                let backend = &self.inst.backend;
                // Chaining errors (a corrupt last row) are not sqlx errors: carry them out
                // of the timed block beside its sqlx result, rolling back by dropping `tx`.
                let q = async {
                    let mut tx = self.begin_append().await?;
                    let last = sqlx::query_as::<_, (i64, String)>(LAST_ENTRY)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let (row, stored) = match EntryRow::chain(backend, entry, last) {
                        Ok(chained) => chained,
                        Err(e) => return Ok(Err(e)),
                    };
                    sqlx::query(INSERT_ENTRY)
                        .bind(row.seq)
                        .bind(row.at_us)
                        .bind(&row.actor)
                        .bind(&row.action)
                        .bind(&row.target)
                        .bind(&row.outcome)
                        .bind(&row.ip)
                        .bind(&row.user_agent)
                        .bind(&row.request_id)
                        .bind(&row.details)
                        .bind(&row.prev_hash)
                        .bind(&row.entry_hash)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Ok(stored))
                };
                self.inst.run("audit.append", q).await?
            }

            async fn entries(
                &self,
                from_seq: u64,
                limit: u64,
            ) -> legalops_core::Result<Vec<legalops_core::audit::AuditEntry>> {
                use $crate::sql::codec::big;
                let q =
                    sqlx::query_as::<_, $crate::sql::audit::EntryRow>($crate::sql::audit::ENTRIES)
                        .bind(big(from_seq))
                        .bind(big(limit))
                        .fetch_all(&self.pool);
                let rows = self.inst.run("audit.entries", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }

            async fn len(&self) -> legalops_core::Result<u64> {
                let q = sqlx::query_scalar::<_, i64>($crate::sql::audit::LEN).fetch_one(&self.pool);
                let n = self.inst.run("audit.len", q).await?;
                $crate::sql::codec::unsigned(&self.inst.backend, "audit_log.seq", n)
            }

            async fn put_checkpoint(
                &self,
                checkpoint: &legalops_core::audit::Checkpoint,
            ) -> legalops_core::Result<()> {
                let r = $crate::sql::audit::CheckpointRow::encode(checkpoint)?;
                let q = sqlx::query($crate::sql::audit::INSERT_CHECKPOINT)
                    .bind(r.tree_size)
                    .bind(&r.root_hash)
                    .bind(r.at)
                    .execute(&self.pool);
                self.inst.run("audit.put_checkpoint", q).await.map(drop)
            }

            async fn checkpoints(
                &self,
            ) -> legalops_core::Result<Vec<legalops_core::audit::Checkpoint>> {
                let q = sqlx::query_as::<_, $crate::sql::audit::CheckpointRow>(
                    $crate::sql::audit::CHECKPOINTS,
                )
                .fetch_all(&self.pool);
                let rows = self.inst.run("audit.checkpoints", q).await?;
                rows.into_iter()
                    .map(|r| r.decode(&self.inst.backend))
                    .collect()
            }
        }
    };
}

pub(crate) use impl_audit;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry() -> NewAuditEntry {
        NewAuditEntry {
            at: datetime!(2026-11-23 10:00:00.123_456_789 UTC),
            actor: "u1".into(),
            action: "auth.login".into(),
            target: None,
            outcome: Outcome::Denied,
            ip: Some("192.0.2.1".into()),
            user_agent: Some("curl/8".into()),
            request_id: None,
            details: serde_json::json!({"z": [1.5, {"b": null, "a": "x"}], "a": 18446744073709551615u64}),
        }
    }

    #[test]
    fn first_entry_follows_genesis_and_the_next_chains_to_it() {
        let (row, first) = EntryRow::chain("db", &entry(), None).expect("chains");
        assert_eq!(first.seq, 1);
        assert_eq!(first.prev_hash, chain::GENESIS_HASH);
        assert_eq!(
            first.entry.at,
            datetime!(2026-11-23 10:00:00.123_456 UTC),
            "normalized"
        );
        let (_, second) =
            EntryRow::chain("db", &entry(), Some((row.seq, row.entry_hash))).expect("chains");
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev_hash, first.entry_hash);
    }

    #[test]
    fn a_stored_row_decodes_to_an_entry_that_rehashes_the_same() {
        let (row, stored) =
            EntryRow::chain("db", &entry(), Some((41, "ab".repeat(32)))).expect("chains");
        let back = row.decode("db").expect("decodes");
        assert_eq!(back, stored);
        assert_eq!(
            chain::entry_hash(back.seq, &back.entry, &back.prev_hash),
            back.entry_hash
        );
    }

    #[test]
    fn unknown_outcomes_and_bad_json_are_corrupt_rows() {
        let (mut row, _) = EntryRow::chain("db", &entry(), None).expect("chains");
        row.outcome = "maybe".into();
        assert!(row.decode("db").is_err());
        let (mut row, _) = EntryRow::chain("db", &entry(), None).expect("chains");
        row.details = "{".into();
        assert!(row.decode("db").is_err());
    }
}
