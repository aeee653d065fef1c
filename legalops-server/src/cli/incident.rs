//! `legalops incident list|show|ack|investigate|resolve|review|close|note|postmortem`:
//! incidents on a running server (`/api/incidents`), moved through the lifecycle as the
//! token's identity.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::remote::{Remote, RemoteArgs, cut, finish, segment};

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
