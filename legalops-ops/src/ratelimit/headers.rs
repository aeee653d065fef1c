//! Response headers of a rate decision, in the form of the IETF httpapi draft
//! "RateLimit header fields for HTTP" (structured fields: `RateLimit-Policy: "auth";q=5;w=60`
//! and `RateLimit: "auth";r=0;t=12`), plus `Retry-After` (RFC 9110) on a refusal.

use std::time::Duration;

use super::RateDecision;

/// The window every quota is expressed over, in seconds (`w` of the policy).
pub const WINDOW_SECONDS: u64 = 60;

/// The headers to send with a response that `decision` judged. Names are lowercase (HTTP
/// names are case-insensitive, and `http::HeaderName::from_static` takes only lowercase):
/// `ratelimit-policy`, `ratelimit`, and `retry-after` when the request was refused.
pub fn headers(group: &str, decision: &RateDecision) -> Vec<(&'static str, String)> {
    let name = sf_string(group);
    let mut out = vec![
        (
            "ratelimit-policy",
            format!("{name};q={};w={WINDOW_SECONDS}", decision.limit),
        ),
        (
            "ratelimit",
            format!(
                "{name};r={};t={}",
                decision.remaining,
                ceil_seconds(decision.reset_after)
            ),
        ),
    ];
    if let Some(wait) = decision.retry_after {
        out.push(("retry-after", ceil_seconds(wait).max(1).to_string()));
    }
    out
}

/// Whole seconds, rounded up: a client that waits this long is never early.
fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A structured-field string (RFC 8941 section 3.3.3): printable ASCII, with `"` and `\`
/// escaped; anything else is dropped so that a header can never be split or forged.
fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars().filter(|c| (' '..='~').contains(c)) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(allowed: bool, remaining: u32, reset: u64, retry: Option<u64>) -> RateDecision {
        RateDecision {
            allowed,
            limit: 5,
            remaining,
            reset_after: Duration::from_millis(reset),
            retry_after: retry.map(Duration::from_millis),
        }
    }

    #[test]
    fn allowed_response_carries_policy_and_remaining() {
        let h = headers("auth", &decision(true, 4, 12_000, None));
        assert_eq!(
            h,
            vec![
                ("ratelimit-policy", "\"auth\";q=5;w=60".to_owned()),
                ("ratelimit", "\"auth\";r=4;t=12".to_owned()),
            ]
        );
    }

    #[test]
    fn refusal_adds_retry_after_rounded_up_and_at_least_one() {
        let h = headers("auth", &decision(false, 0, 60_000, Some(11_001)));
        assert_eq!(h[2], ("retry-after", "12".to_owned()));
        let h = headers("auth", &decision(false, 0, 60_000, Some(0)));
        assert_eq!(h[2], ("retry-after", "1".to_owned()));
    }

    #[test]
    fn group_names_cannot_break_out_of_the_header() {
        let h = headers("a\"b\\c\r\nX-Evil: 1", &decision(true, 1, 0, None));
        assert_eq!(h[0].1, "\"a\\\"b\\\\cX-Evil: 1\";q=5;w=60");
        assert!(!h[0].1.contains('\n'));
    }
}
