//! The hash chain: `entry_hash = SHA-256(canonical(seq, entry) || prev_hash)`.
//!
//! The canonical form is JSON with a fixed field order, object keys sorted at every depth
//! and the time as integer microseconds since the Unix epoch, so that an entry hashes the
//! same after a round trip through any records backend (SQL stores keep microseconds).
//! Backends call [`normalize`] before storing and [`entry_hash`] to chain.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::NewAuditEntry;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Truncates the entry's time to whole microseconds (what every backend can store) and
/// converts it to UTC. Call before hashing and storing.
pub fn normalize(entry: &mut NewAuditEntry) {
    let at = entry.at.to_offset(time::UtcOffset::UTC);
    let micros = at.unix_timestamp_nanos() / 1_000;
    entry.at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).unwrap_or(at);
}

/// The entry's time as integer microseconds since the Unix epoch.
pub fn micros(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000) as i64
}

/// `value` as JSON with object keys sorted at every depth (independent of how the
/// `serde_json` map is configured).
pub fn canonical_json(value: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::from(k.as_str()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The canonical bytes of entry number `seq`.
pub fn canonical(seq: u64, entry: &NewAuditEntry) -> String {
    let v = serde_json::json!({
        "seq": seq,
        "at_us": micros(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome.as_str(),
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "details": entry.details,
    });
    canonical_json(&v)
}

/// The chain hash of entry number `seq` following `prev_hash` (hex).
pub fn entry_hash(seq: u64, entry: &NewAuditEntry, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(canonical(seq, entry).as_bytes());
    h.update(prev_hash.as_bytes());
    hex_lower(&h.finalize())
}

/// Lowercase hex of `bytes`.
pub fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Outcome;
    use time::macros::datetime;

    fn entry() -> NewAuditEntry {
        NewAuditEntry {
            at: datetime!(2026-11-23 10:00:00.123456789 UTC),
            actor: "u1".into(),
            action: "auth.login".into(),
            target: None,
            outcome: Outcome::Success,
            ip: Some("192.0.2.1".into()),
            user_agent: None,
            request_id: None,
            details: serde_json::json!({"b": 1, "a": {"d": 2, "c": [3, {"z": 0, "y": 1}]}}),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = serde_json::json!({"b": 1, "a": {"d": 2, "c": [{"z": 0, "y": 1}]}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":[{"y":1,"z":0}],"d":2},"b":1}"#
        );
    }

    #[test]
    fn normalize_keeps_microseconds_only() {
        let mut e = entry();
        normalize(&mut e);
        assert_eq!(e.at, datetime!(2026-11-23 10:00:00.123456 UTC));
    }

    #[test]
    fn every_field_and_the_previous_hash_change_the_hash() {
        let mut e = entry();
        normalize(&mut e);
        let base = entry_hash(1, &e, GENESIS_HASH);
        assert_eq!(base.len(), 64);
        assert_ne!(base, entry_hash(2, &e, GENESIS_HASH), "seq");
        assert_ne!(base, entry_hash(1, &e, &base), "prev hash");
        let mut f = e.clone();
        f.actor = "u2".into();
        assert_ne!(base, entry_hash(1, &f, GENESIS_HASH), "actor");
        let mut f = e.clone();
        f.outcome = Outcome::Failure;
        assert_ne!(base, entry_hash(1, &f, GENESIS_HASH), "outcome");
        let mut f = e.clone();
        f.details = serde_json::json!({"b": 2});
        assert_ne!(base, entry_hash(1, &f, GENESIS_HASH), "details");
    }

    #[test]
    fn hash_survives_a_json_round_trip() {
        let mut e = entry();
        normalize(&mut e);
        let back: NewAuditEntry =
            serde_json::from_str(&serde_json::to_string(&e).unwrap_or_default())
                .unwrap_or_else(|_| entry());
        assert_eq!(
            entry_hash(7, &e, GENESIS_HASH),
            entry_hash(7, &back, GENESIS_HASH)
        );
    }
}
