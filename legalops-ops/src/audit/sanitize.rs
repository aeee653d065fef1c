//! Making an audit entry safe before it is stored: secrets redacted by field name at every
//! depth of the details, control characters escaped so that no value can forge a log line
//! or a CSV row, and overlong values truncated with a marker.
//!
//! Escaping is one-way on purpose: the audit trail records what was sent, made harmless,
//! not a byte-exact copy (which could carry a terminal escape sequence into an operator's
//! shell or a fake line into a log shipper).

use legalops_core::audit::NewAuditEntry;
use legalops_core::redact::{REDACTED, is_secret_field};
use serde_json::{Map, Value};

/// The most bytes one string field (or one string inside the details) keeps.
pub const MAX_FIELD_BYTES: usize = 1024;

/// Appended to a value cut at [`MAX_FIELD_BYTES`].
pub const TRUNCATED_MARKER: &str = "...[truncated]";

/// Nesting deeper than this in the details is replaced by [`TRUNCATED_MARKER`], so that a
/// hostile JSON body cannot make an entry arbitrarily expensive to hash and store.
pub const MAX_DETAIL_DEPTH: usize = 8;

/// Arrays and objects in the details keep at most this many items.
pub const MAX_DETAIL_ITEMS: usize = 64;

/// Whether `c` must not appear raw in a stored value: ASCII and C1 control characters,
/// the Unicode line and paragraph separators (new lines to some log viewers) and the
/// bidirectional overrides (which make a line display differently from what it holds).
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `value` with every dangerous character written as a Rust-style escape (`\u{a}`), cut
/// to at most [`MAX_FIELD_BYTES`] bytes (on a character boundary, marker included).
pub fn clean_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_FIELD_BYTES));
    for c in value.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
        if out.len() > MAX_FIELD_BYTES {
            break;
        }
    }
    if out.len() > MAX_FIELD_BYTES {
        let mut cut = MAX_FIELD_BYTES - TRUNCATED_MARKER.len();
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(TRUNCATED_MARKER);
    }
    out
}

/// The details with every value under a secret-named key replaced by [`REDACTED`] (at
/// any depth, inside arrays too), every string and key cleaned with [`clean_str`], and
/// nesting and item counts capped.
pub fn clean_details(value: &Value) -> Value {
    clean_value(value, 0)
}

fn clean_value(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(s) => Value::String(clean_str(s)),
        Value::Array(_) | Value::Object(_) if depth >= MAX_DETAIL_DEPTH => {
            Value::String(TRUNCATED_MARKER.to_owned())
        }
        Value::Array(items) => {
            let mut out: Vec<Value> = items
                .iter()
                .take(MAX_DETAIL_ITEMS)
                .map(|v| clean_value(v, depth + 1))
                .collect();
            if items.len() > MAX_DETAIL_ITEMS {
                out.push(Value::String(TRUNCATED_MARKER.to_owned()));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().take(MAX_DETAIL_ITEMS) {
                let cleaned = if is_secret_field(k) {
                    Value::String(REDACTED.to_owned())
                } else {
                    clean_value(v, depth + 1)
                };
                out.insert(clean_str(k), cleaned);
            }
            if map.len() > MAX_DETAIL_ITEMS {
                out.insert(
                    "_truncated".to_owned(),
                    Value::from(map.len() - MAX_DETAIL_ITEMS),
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// `entry` made safe to store: every string field cleaned, the details cleaned.
pub fn clean_entry(entry: &NewAuditEntry) -> NewAuditEntry {
    let opt = |v: &Option<String>| v.as_deref().map(clean_str);
    NewAuditEntry {
        at: entry.at,
        actor: clean_str(&entry.actor),
        action: clean_str(&entry.action),
        target: opt(&entry.target),
        outcome: entry.outcome,
        ip: opt(&entry.ip),
        user_agent: opt(&entry.user_agent),
        request_id: opt(&entry.request_id),
        details: clean_details(&entry.details),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_every_depth_and_inside_arrays() {
        let d = json!({
            "email": "a@b.c",
            "password": "hunter2",
            "nested": {"deeper": {"api_key": "lo_key_abc", "ok": 1}},
            "list": [{"token": "t"}, {"name": "n"}],
            "Authorization": {"scheme": "Bearer", "value": "x"},
        });
        let c = clean_details(&d);
        assert_eq!(c["email"], "a@b.c");
        assert_eq!(c["password"], REDACTED);
        assert_eq!(c["nested"]["deeper"]["api_key"], REDACTED);
        assert_eq!(c["nested"]["deeper"]["ok"], 1);
        assert_eq!(c["list"][0]["token"], REDACTED);
        assert_eq!(c["list"][1]["name"], "n");
        assert_eq!(
            c["Authorization"], REDACTED,
            "a secret key hides its whole subtree"
        );
        let text = c.to_string();
        for secret in ["hunter2", "lo_key_abc", "Bearer"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn control_characters_are_escaped_so_no_line_can_be_forged() {
        assert_eq!(clean_str("bob\nadmin login ok"), "bob\\u{a}admin login ok");
        assert_eq!(clean_str("a\r\nb"), "a\\u{d}\\u{a}b");
        assert_eq!(clean_str("x\u{1b}[31m"), "x\\u{1b}[31m");
        assert_eq!(clean_str("\u{2028}\u{202e}"), "\\u{2028}\\u{202e}");
        assert_eq!(
            clean_str("Mozilla/5.0 (X11) café"),
            "Mozilla/5.0 (X11) café"
        );
        let c = clean_details(&json!({"k\ney": "v\u{0}"}));
        assert_eq!(c, json!({"k\\u{a}ey": "v\\u{0}"}));
    }

    #[test]
    fn overlong_values_are_cut_with_a_marker() {
        let long = "é".repeat(2000);
        let c = clean_str(&long);
        assert!(c.len() <= MAX_FIELD_BYTES);
        assert!(c.ends_with(TRUNCATED_MARKER));
        let short = "x".repeat(MAX_FIELD_BYTES);
        assert_eq!(clean_str(&short), short, "exactly the limit is kept whole");
    }

    #[test]
    fn deep_and_wide_details_are_capped() {
        let mut v = json!("leaf");
        for _ in 0..20 {
            v = json!({ "n": v });
        }
        let text = clean_details(&v).to_string();
        assert!(text.contains(TRUNCATED_MARKER));
        assert!(!text.contains("leaf"));
        let wide: Vec<u32> = (0..100).collect();
        let c = clean_details(&json!({ "ids": wide }));
        assert_eq!(
            c["ids"].as_array().map(Vec::len),
            Some(MAX_DETAIL_ITEMS + 1)
        );
    }

    #[test]
    fn every_field_of_an_entry_is_cleaned() {
        let e = NewAuditEntry {
            at: time::macros::datetime!(2026-11-23 10:00 UTC),
            actor: "a\nb".into(),
            action: "auth.login\r".into(),
            target: Some("t\n".into()),
            outcome: legalops_core::audit::Outcome::Success,
            ip: Some("1.2.3.4\n".into()),
            user_agent: Some("ua\u{7f}".into()),
            request_id: Some("r\t".into()),
            details: json!({"secret": "s"}),
        };
        let c = clean_entry(&e);
        for s in [
            &c.actor,
            &c.action,
            c.target.as_deref().unwrap_or_default(),
            c.ip.as_deref().unwrap_or_default(),
            c.user_agent.as_deref().unwrap_or_default(),
            c.request_id.as_deref().unwrap_or_default(),
        ] {
            assert!(!s.chars().any(char::is_control), "{s:?}");
        }
        assert_eq!(c.details["secret"], REDACTED);
    }

    proptest! {
        #[test]
        fn cleaned_strings_hold_no_control_character_and_fit(s in "\\PC*|[\\x00-\\x20\u{2028}a-z]{0,3000}") {
            let c = clean_str(&s);
            prop_assert!(!c.chars().any(is_dangerous));
            prop_assert!(c.len() <= MAX_FIELD_BYTES);
        }

        #[test]
        fn safe_short_strings_are_kept_as_they_are(s in "[ -~]{0,200}") {
            prop_assert_eq!(clean_str(&s), s);
        }
    }
}
