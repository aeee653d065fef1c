//! `legalops silence ...` and `legalops incident ...`: the operator's commands against a
//! RUNNING server, over its HTTP API (`/api/silences`, `/api/incidents`), as `legalops
//! health` does. They never open the records store themselves, so what they show and change
//! is exactly what the server (and every replica) sees, audited with the token's identity.
//!
//! Output: lists as a short table (`--json` for the API's JSON), single objects as pretty
//! JSON, the postmortem as Markdown. Exit codes as `health`: 0 ok, 1 the server refused
//! (the problem's detail is printed), 2 bad arguments, 3 unreachable.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use legalops_core::alerting::rule::parse_duration;
use legalops_core::alerting::{MatchOp, Matcher};
use legalops_core::{Clock, SystemClock};
use reqwest::Method;
use serde_json::{Value, json};
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
    json: bool,
}

/// `legalops silence ...`.
#[derive(Debug, Args)]
pub(super) struct SilenceArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: SilenceCommand,
}

#[derive(Debug, Subcommand)]
enum SilenceCommand {
    /// List silences, newest first (expired ones only with --expired).
    List {
        /// Also list expired silences.
        #[arg(long)]
        expired: bool,
    },
    /// Silence the alerts matching every --matcher, from now (or --start) for --duration
    /// (or until --end). Prints the silence.
    Add {
        /// `name=value`, `name!=value`, `name=~regex` or `name!~regex` (anchored); repeat
        /// for more (all must match).
        #[arg(long = "matcher", short = 'm', required = true, value_parser = parse_matcher)]
        matchers: Vec<Matcher>,
        /// How long it lasts: `30m`, `2h`, `1d` (default 1h; ignored with --end).
        #[arg(long, value_parser = parse_cli_duration)]
        duration: Option<Duration>,
        /// When it starts, RFC 3339 (default: now).
        #[arg(long, value_parser = parse_instant)]
        start: Option<OffsetDateTime>,
        /// When it ends, RFC 3339 (instead of --duration).
        #[arg(long, value_parser = parse_instant, conflicts_with = "duration")]
        end: Option<OffsetDateTime>,
        /// Why (required: whoever finds the silence must know why it is there).
        #[arg(long, short = 'c')]
        comment: String,
    },
    /// Expire a silence now (it stops muting at once).
    Expire {
        /// The silence's id.
        id: String,
    },
}

/// `legalops incident ...`.
#[derive(Debug, Args)]
pub(super) struct IncidentArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: IncidentCommand,
}

#[derive(Debug, Subcommand)]
enum IncidentCommand {
    /// List open incidents (--all: the last 90 days, open or not).
    List {
        /// Include resolved and closed incidents.
        #[arg(long)]
        all: bool,
    },
    /// Show one incident with its timeline.
    Show {
        /// The incident's id.
        id: String,
    },
    /// Acknowledge (repeating it is harmless).
    Ack {
        /// The incident's id.
        id: String,
    },
    /// Start investigating (acknowledges first if needed).
    Investigate {
        /// The incident's id.
        id: String,
    },
    /// Resolve.
    Resolve {
        /// The incident's id.
        id: String,
    },
    /// Start the post-incident review.
    Review {
        /// The incident's id.
        id: String,
    },
    /// Close (after the review).
    Close {
        /// The incident's id.
        id: String,
    },
    /// Add a note to the timeline.
    Note {
        /// The incident's id.
        id: String,
        /// The note (1 to 4096 bytes).
        text: String,
    },
    /// Print the postmortem draft (Markdown) generated from the timeline.
    Postmortem {
        /// The incident's id.
        id: String,
    },
}

/// Parses one silence matcher: `name=value`, `name!=value`, `name=~re`, `name!~re`. The
/// label name is Prometheus' (`[a-zA-Z_][a-zA-Z0-9_]*`); the value may be double-quoted.
pub(super) fn parse_matcher(text: &str) -> std::result::Result<Matcher, String> {
    let usage = "write name=value, name!=value, name=~regex or name!~regex";
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "matcher `{text}`: a label name must come first ({usage})"
        ));
    }
    let (op, value) = [
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .into_iter()
    .find_map(|(sym, op)| rest.strip_prefix(sym).map(|v| (op, v)))
    .ok_or_else(|| format!("matcher `{text}`: no operator after `{name}` ({usage})"))?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    Ok(Matcher {
        name: name.to_owned(),
        op,
        value: value.to_owned(),
    })
}

fn parse_cli_duration(text: &str) -> std::result::Result<Duration, String> {
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than 0".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_instant(text: &str) -> std::result::Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time (2026-03-04T12:00:00Z): {e}"))
}

/// A client of one server.
struct Remote {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// What the server answered with success: the body and whether it is JSON.
struct Answer {
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn print_pretty(&self) {
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
    fn new(args: &RemoteArgs) -> std::result::Result<Self, ExitCode> {
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
    async fn call(
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

fn finish(r: std::result::Result<(), ExitCode>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Runs `legalops silence ...`.
pub(super) async fn silence(args: SilenceArgs) -> ExitCode {
    finish(run_silence(args).await)
}

async fn run_silence(args: SilenceArgs) -> std::result::Result<(), ExitCode> {
    let remote = Remote::new(&args.remote)?;
    match args.command {
        SilenceCommand::List { expired } => {
            let answer = remote.call(Method::GET, "/api/silences", None).await?;
            let list: Vec<Value> = match answer.json() {
                Value::Array(items) => items
                    .into_iter()
                    .filter(|s| expired || s["state"] != "expired")
                    .collect(),
                _ => Vec::new(),
            };
            if args.remote.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else {
                print_silences(&list);
            }
        }
        SilenceCommand::Add {
            matchers,
            duration,
            start,
            end,
            comment,
        } => {
            let begins = start.unwrap_or_else(|| SystemClock.now());
            let ends = match end {
                Some(end) => end,
                None => begins + duration.unwrap_or(Duration::from_secs(3600)),
            };
            let mut body = json!({
                "matchers": matchers,
                "endsAt": rfc3339(ends),
                "comment": comment,
            });
            if let Some(start) = start {
                body["startsAt"] = json!(rfc3339(start));
            }
            remote
                .call(Method::POST, "/api/silences", Some(body))
                .await?
                .print_pretty();
        }
        SilenceCommand::Expire { id } => {
            remote
                .call(
                    Method::DELETE,
                    &format!("/api/silences/{}", segment(&id)),
                    None,
                )
                .await?
                .print_pretty();
        }
    }
    Ok(())
}

/// Runs `legalops incident ...`.
pub(super) async fn incident(args: IncidentArgs) -> ExitCode {
    finish(run_incident(args).await)
}

async fn run_incident(args: IncidentArgs) -> std::result::Result<(), ExitCode> {
    let remote = Remote::new(&args.remote)?;
    let path = |id: &str, action: &str| format!("/api/incidents/{}/{action}", segment(id));
    let (method, path, body) = match args.command {
        IncidentCommand::List { all } => {
            let answer = remote
                .call(Method::GET, &format!("/api/incidents?open={}", !all), None)
                .await?;
            if args.remote.json {
                answer.print_pretty();
            } else {
                print_incidents(&answer.json());
            }
            return Ok(());
        }
        IncidentCommand::Show { id } => (
            Method::GET,
            format!("/api/incidents/{}", segment(&id)),
            None,
        ),
        IncidentCommand::Ack { id } => (Method::POST, path(&id, "acknowledge"), None),
        IncidentCommand::Investigate { id } => (Method::POST, path(&id, "investigate"), None),
        IncidentCommand::Resolve { id } => (Method::POST, path(&id, "resolve"), None),
        IncidentCommand::Review { id } => (Method::POST, path(&id, "review"), None),
        IncidentCommand::Close { id } => (Method::POST, path(&id, "close"), None),
        IncidentCommand::Note { id, text } => (
            Method::POST,
            path(&id, "notes"),
            Some(json!({ "text": text })),
        ),
        IncidentCommand::Postmortem { id } => (Method::GET, path(&id, "postmortem"), None),
    };
    remote.call(method, &path, body).await?.print_pretty();
    Ok(())
}

/// An id as one path segment: anything but unreserved characters is percent-encoded, so
/// an id can never reach another route.
fn segment(id: &str) -> String {
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

fn rfc3339(t: OffsetDateTime) -> String {
    // Formatting a valid OffsetDateTime as RFC 3339 only fails for years past 9999,
    // which no silence reaches; an empty string would then be refused by the server.
    t.format(&Rfc3339).unwrap_or_default()
}

fn matcher_text(m: &Value) -> String {
    format!(
        "{}{}{}",
        m["name"].as_str().unwrap_or_default(),
        m["op"].as_str().unwrap_or_default(),
        m["value"].as_str().unwrap_or_default()
    )
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn print_silences(list: &[Value]) {
    if list.is_empty() {
        eprintln!("no silences");
        return;
    }
    println!(
        "{:<36}  {:<8}  {:<20}  {:<40}  COMMENT",
        "ID", "STATE", "ENDS", "MATCHERS"
    );
    for s in list {
        let matchers: Vec<String> = s["matchers"]
            .as_array()
            .map(|ms| ms.iter().map(matcher_text).collect())
            .unwrap_or_default();
        println!(
            "{:<36}  {:<8}  {:<20}  {:<40}  {}",
            s["id"].as_str().unwrap_or_default(),
            s["state"].as_str().unwrap_or_default(),
            s["endsAt"].as_str().unwrap_or_default(),
            cut(&matchers.join(","), 40),
            cut(s["comment"].as_str().unwrap_or_default(), 60),
        );
    }
}

fn print_incidents(list: &Value) {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        eprintln!("no incidents");
        return;
    }
    println!(
        "{:<36}  {:<4}  {:<13}  {:<20}  SUMMARY",
        "ID", "SEV", "STATUS", "OPENED"
    );
    for i in items {
        println!(
            "{:<36}  {:<4}  {:<13}  {:<20}  {}",
            i["id"].as_str().unwrap_or_default(),
            i["severity"].as_str().unwrap_or_default(),
            i["status"].as_str().unwrap_or_default(),
            i["openedAt"].as_str().unwrap_or_default(),
            cut(i["summary"].as_str().unwrap_or_default(), 60),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
        }
    }

    #[test]
    fn matchers_parse_all_four_operators() {
        assert_eq!(
            parse_matcher("alertname=Watchdog"),
            Ok(m("alertname", MatchOp::Equal, "Watchdog"))
        );
        assert_eq!(
            parse_matcher("severity=~crit.*"),
            Ok(m("severity", MatchOp::Regex, "crit.*"))
        );
        assert_eq!(
            parse_matcher("team!=ops"),
            Ok(m("team", MatchOp::NotEqual, "ops"))
        );
        assert_eq!(
            parse_matcher("instance!~db-.*"),
            Ok(m("instance", MatchOp::NotRegex, "db-.*"))
        );
    }

    #[test]
    fn a_quoted_value_is_unquoted_and_may_contain_operators() {
        assert_eq!(
            parse_matcher("summary=\"a=b\""),
            Ok(m("summary", MatchOp::Equal, "a=b"))
        );
        assert_eq!(parse_matcher("x=a=b"), Ok(m("x", MatchOp::Equal, "a=b")));
    }

    #[test]
    fn a_matcher_without_name_or_operator_is_refused_saying_how_to_write_one() {
        for bad in ["", "=x", "alertname", "alertname~x", "alert name=x", "1a=x"] {
            let err = parse_matcher(bad).expect_err(bad);
            assert!(err.contains("name=value"), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_must_be_positive_and_instants_rfc3339() {
        assert_eq!(parse_cli_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_cli_duration("0").is_err());
        assert!(parse_cli_duration("two hours").is_err());
        assert!(parse_instant("2026-03-04T12:00:00Z").is_ok());
        assert!(parse_instant("tomorrow").is_err());
    }

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        assert_eq!(segment("abc-123"), "abc-123");
        assert_eq!(segment("../admin"), "..%2Fadmin");
        assert_eq!(segment("a b?c"), "a%20b%3Fc");
    }

    proptest! {
        #[test]
        fn parsing_a_formatted_matcher_gives_it_back(
            name in "[a-zA-Z_][a-zA-Z0-9_]{0,12}",
            op in prop::sample::select(vec![
                MatchOp::Equal, MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex,
            ]),
            value in "[^\"]{0,20}",
        ) {
            let sym = match op {
                MatchOp::Equal => "=",
                MatchOp::NotEqual => "!=",
                MatchOp::Regex => "=~",
                MatchOp::NotRegex => "!~",
            };
            let parsed = parse_matcher(&format!("{name}{sym}\"{value}\""));
            prop_assert_eq!(parsed, Ok(m(&name, op, &value)));
        }

        #[test]
        fn parsing_never_panics(text in ".{0,40}") {
            let _ = parse_matcher(&text);
        }
    }
}
