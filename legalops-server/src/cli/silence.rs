//! `legalops silence list|add|expire`: silences on a running server (`/api/silences`),
//! and the matcher syntax operators type (`name=value`, `name!=value`, `name=~re`,
//! `name!~re`).

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

use super::remote::{Remote, RemoteArgs, cut, finish, rfc3339, segment};

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
        #[arg(long = "matcher", short = 'm', value_name = "MATCHER", required = true, value_parser = parse_matcher)]
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

fn matcher_text(m: &Value) -> String {
    format!(
        "{}{}{}",
        m["name"].as_str().unwrap_or_default(),
        m["op"].as_str().unwrap_or_default(),
        m["value"].as_str().unwrap_or_default()
    )
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
