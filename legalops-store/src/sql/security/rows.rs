//! The rows of the security tables and their encodings (instants as microseconds, block
//! sources as lowercase names, event details as canonical JSON text).

use legalops_core::Result;
use legalops_core::security::{Block, BlockSource, FailedLogin, Lockout, SecurityEvent};

use crate::sql::codec::{corrupt, from_micros, from_opt_micros, micros, opt_micros, parse_json};

/// A `failed_logins` row (without its id, which only orders ties).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FailedLoginRow {
    pub(crate) at: i64,
    pub(crate) ip: String,
    pub(crate) account: Option<String>,
    pub(crate) user_agent: Option<String>,
}

impl FailedLoginRow {
    pub(crate) fn encode(f: &FailedLogin) -> Self {
        Self {
            at: micros(f.at),
            ip: f.ip.clone(),
            account: f.account.clone(),
            user_agent: f.user_agent.clone(),
        }
    }

    pub(crate) fn decode(self, backend: &str) -> Result<FailedLogin> {
        Ok(FailedLogin {
            at: from_micros(backend, "failed_logins.at", self.at)?,
            ip: self.ip,
            account: self.account,
            user_agent: self.user_agent,
        })
    }
}

/// A `blocks` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BlockRow {
    pub(crate) id: String,
    pub(crate) target: String,
    pub(crate) reason: String,
    pub(crate) source: String,
    pub(crate) created_by: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) lifted_at: Option<i64>,
}

impl BlockRow {
    pub(crate) fn encode(b: &Block) -> Self {
        Self {
            id: b.id.clone(),
            target: b.target.clone(),
            reason: b.reason.clone(),
            source: source_str(b.source).to_owned(),
            created_by: b.created_by.clone(),
            created_at: micros(b.created_at),
            expires_at: opt_micros(b.expires_at),
            lifted_at: opt_micros(b.lifted_at),
        }
    }

    pub(crate) fn decode(self, backend: &str) -> Result<Block> {
        let source = parse_source(&self.source).ok_or_else(|| {
            corrupt(
                backend,
                format!("stored block source {:?} is unknown", self.source),
            )
        })?;
        Ok(Block {
            created_at: from_micros(backend, "blocks.created_at", self.created_at)?,
            expires_at: from_opt_micros(backend, "blocks.expires_at", self.expires_at)?,
            lifted_at: from_opt_micros(backend, "blocks.lifted_at", self.lifted_at)?,
            id: self.id,
            target: self.target,
            reason: self.reason,
            source,
            created_by: self.created_by,
        })
    }
}

/// A `lockouts` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LockoutRow {
    pub(crate) account: String,
    pub(crate) until: i64,
    pub(crate) level: i64,
}

impl LockoutRow {
    pub(crate) fn encode(l: &Lockout) -> Self {
        Self {
            account: l.account.clone(),
            until: micros(l.until),
            level: i64::from(l.level),
        }
    }

    pub(crate) fn decode(self, backend: &str) -> Result<Lockout> {
        let level = u32::try_from(self.level).map_err(|_| {
            corrupt(
                backend,
                format!("stored lockout level {} is out of range", self.level),
            )
        })?;
        Ok(Lockout {
            until: from_micros(backend, "lockouts.until", self.until)?,
            account: self.account,
            level,
        })
    }
}

/// A `security_events` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub(crate) id: i64,
    pub(crate) at: i64,
    pub(crate) kind: String,
    pub(crate) severity: String,
    pub(crate) ip: Option<String>,
    pub(crate) account: Option<String>,
    pub(crate) message: String,
    pub(crate) details: String,
}

impl EventRow {
    /// The row to insert (its `id` is assigned by the database and ignored here).
    pub(crate) fn encode(e: &SecurityEvent) -> Self {
        Self {
            id: 0,
            at: micros(e.at),
            kind: e.kind.clone(),
            severity: e.severity.clone(),
            ip: e.ip.clone(),
            account: e.account.clone(),
            message: e.message.clone(),
            details: legalops_core::audit::chain::canonical_json(&e.details),
        }
    }

    pub(crate) fn decode(self, backend: &str) -> Result<SecurityEvent> {
        Ok(SecurityEvent {
            id: crate::sql::codec::unsigned(backend, "security_events.id", self.id)?,
            at: from_micros(backend, "security_events.at", self.at)?,
            details: parse_json(backend, "security_events.details", &self.details)?,
            kind: self.kind,
            severity: self.severity,
            ip: self.ip,
            account: self.account,
            message: self.message,
        })
    }
}

/// The stored name of a block source.
pub(crate) fn source_str(source: BlockSource) -> &'static str {
    match source {
        BlockSource::Manual => "manual",
        BlockSource::Automatic => "automatic",
    }
}

fn parse_source(s: &str) -> Option<BlockSource> {
    [BlockSource::Manual, BlockSource::Automatic]
        .into_iter()
        .find(|b| source_str(*b) == s)
}

/// A `COUNT(*)` as the trait's `u64`.
pub(crate) fn count(backend: &str, n: i64) -> Result<u64> {
    crate::sql::codec::unsigned(backend, "COUNT(*)", n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn blocks_round_trip_through_their_row() {
        let b = Block {
            id: "b1".into(),
            target: "2001:db8::/48".into(),
            reason: "manual".into(),
            source: BlockSource::Automatic,
            created_by: "system".into(),
            created_at: datetime!(2026-01-01 0:00:00.000_001 UTC),
            expires_at: Some(datetime!(2026-01-01 1:00 UTC)),
            lifted_at: None,
        };
        assert_eq!(BlockRow::encode(&b).decode("db").expect("decodes"), b);
    }

    #[test]
    fn unknown_sources_and_huge_levels_are_corrupt_rows() {
        let row = BlockRow {
            id: "b".into(),
            target: "t".into(),
            reason: "r".into(),
            source: "psychic".into(),
            created_by: "x".into(),
            created_at: 0,
            expires_at: None,
            lifted_at: None,
        };
        assert!(row.decode("db").is_err());
        let row = LockoutRow {
            account: "a".into(),
            until: 0,
            level: i64::from(u32::MAX) + 1,
        };
        assert!(row.decode("db").is_err());
    }

    #[test]
    fn event_details_are_stored_as_canonical_json() {
        let e = SecurityEvent {
            id: 0,
            at: datetime!(2026-01-01 0:00 UTC),
            kind: "ip_blocked".into(),
            severity: "warning".into(),
            ip: Some("192.0.2.7".into()),
            account: None,
            message: "blocked".into(),
            details: serde_json::json!({"failures": 6, "bantime_s": 600}),
        };
        let row = EventRow::encode(&e);
        assert_eq!(row.details, r#"{"bantime_s":600,"failures":6}"#);
        assert_eq!(row.decode("db").expect("decodes"), e);
    }
}
