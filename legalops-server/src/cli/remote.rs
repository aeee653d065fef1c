//! The client side of the operator's commands against a RUNNING server (`legalops
//! silence ...`, `legalops incident ...`): how to reach it, one request with the exit code
//! its failure means, and small output helpers. The commands never open the records store
//! themselves, so what they show and change is exactly what the server (and every replica)
//! sees, audited with the token's identity.
//!
//! Output: lists as a short table (`--json` for the API's JSON), single objects as pretty
//! JSON, the postmortem as Markdown. Exit codes as `health`: 0 ok, 1 the server refused
//! (the problem's detail is printed), 2 bad arguments, 3 unreachable.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{EXIT_CONFIG, EXIT_UNHEALTHY, EXIT_UNREACHABLE, without_url};

/// How to reach the server (every remote command takes these, before or after the verb).
#[derive(Debug, Args)]
pub(super) struct RemoteArgs {
    /// Base URL of the server.
    #[arg(
        long,
        env = "LEGALOPS_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// Admin token (or an API key with the alerts/incidents scopes).
    #[arg(
        long,
        env = "LEGALOPS_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    token: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 10, global = true)]
    timeout_secs: u64,
    /// Print lists as the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub(super) json: bool,
}

/// A client of one server.
pub(super) struct Remote {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// What the server answered with success (JSON, or Markdown for the postmortem).
pub(super) struct Answer {
    body: String,
}

impl Answer {
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub(super) fn print_pretty(&self) {
        match serde_json::from_str::<Value>(&self.body) {
            Ok(v) => println!(
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_else(|_| self.body.clone())
            ),
            Err(_) => print!("{}", self.body),
        }
    }
}

impl Remote {
    pub(super) fn new(args: &RemoteArgs) -> std::result::Result<Self, ExitCode> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(args.timeout_secs.max(1)))
            .build()
            .map_err(|e| {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_CONFIG)
            })?;
        Ok(Self {
            client,
            base: args.url.trim_end_matches('/').to_owned(),
            token: args.token.clone(),
        })
    }

    /// Sends the request; on failure prints why and returns the exit code (1 refused, 3
    /// unreachable). The token is never printed.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> std::result::Result<Answer, ExitCode> {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.map_err(|e| {
            eprintln!("error: cannot reach {}: {}", self.base, without_url(&e));
            ExitCode::from(EXIT_UNREACHABLE)
        })?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(Answer { body: text });
        }
        // A problem document (RFC 9457) says what was wrong; name the field if it does.
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let detail = problem["detail"]
            .as_str()
            .or_else(|| problem["title"].as_str())
            .unwrap_or(text.trim());
        let field = problem["field"]
            .as_str()
            .map(|f| format!(" (field {f})"))
            .unwrap_or_default();
        eprintln!("error: {method} {path} answered {status}: {detail}{field}");
        Err(ExitCode::from(EXIT_UNHEALTHY))
    }
}

pub(super) fn finish(r: std::result::Result<(), ExitCode>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// An id as one path segment: anything but unreserved characters is percent-encoded, so
/// an id can never reach another route.
pub(super) fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    // Formatting a valid OffsetDateTime as RFC 3339 only fails for years past 9999,
    // which no silence reaches; an empty string would then be refused by the server.
    t.format(&Rfc3339).unwrap_or_default()
}

pub(super) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        assert_eq!(segment("abc-123"), "abc-123");
        assert_eq!(segment("../admin"), "..%2Fadmin");
        assert_eq!(segment("a b?c"), "a%20b%3Fc");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_at_a_character_boundary() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("ééééé", 3), "éé…");
    }
}
