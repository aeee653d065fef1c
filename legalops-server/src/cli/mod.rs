//! The `legalops` command line: `serve`, `health`, `config check`, `audit`, `alerts`, and
//! the operator's commands `silence` and `incident` against a running server (over
//! [`remote`]).
//!
//! Exit codes are stable for automation: 0 ok; 1 the server answered unhealthy or refused
//! (4xx/5xx, like `curl -f`); 2 bad configuration or arguments; 3 the server could not be
//! reached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use legalops_core::{Error, Result, SystemClock};

use crate::config::{Config, DEFAULT_CONFIG_FILE};

mod incident;
mod remote;
mod silence;

/// Exit code: the server answered, and it is unhealthy.
pub const EXIT_UNHEALTHY: u8 = 1;
/// Exit code: invalid configuration or arguments.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code: the server could not be reached.
pub const EXIT_UNREACHABLE: u8 = 3;

/// LegalOps: operations for a legal-services business.
#[derive(Debug, Parser)]
#[command(name = "legalops", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the platform (embedded defaults in ./data unless configured otherwise).
    Serve(ServeArgs),
    /// Ask a running server for its health; exits non-zero when it is not healthy.
    Health(HealthArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The tamper-evident audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Alert rules: check a rule file, run rule tests.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Silences on a running server: list, add, expire.
    Silence(silence::SilenceArgs),
    /// Incidents on a running server: list, show, lifecycle moves, notes, postmortem.
    Incident(incident::IncidentArgs),
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Run a rule test file (input series over time and the alerts expected at each
    /// instant, like `promtool test rules`). Exit 0 when every expectation holds, 1 when one
    /// does not, 2 when a file is invalid.
    Test {
        /// The rule test file (TOML).
        file: PathBuf,
        /// The rules under test (default: the rules that ship with LegalOps).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Parse a rule file and list its rules; exit 2 naming the first broken rule.
    Check {
        /// The rule file (default: the rules that ship with LegalOps).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and the Merkle checkpoints and name the first entry that
    /// was altered, removed or reordered. Exit 0 intact, 1 tampered.
    Verify(VerifyArgs),
    /// Print every checkpoint as JSON, to keep outside the database.
    Checkpoints(SourceArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Checkpoints kept outside the database (the JSON `audit checkpoints` printed):
    /// a log rewritten since then fails against them.
    #[arg(long)]
    checkpoints: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective settings, secrets masked.
    Check(SourceArgs),
}

/// Where the configuration comes from.
#[derive(Debug, Args)]
struct SourceArgs {
    /// Config file (default: ./legalops.toml if it exists).
    #[arg(long, env = "LEGALOPS_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Address to listen on (key `listen`).
    #[arg(long)]
    listen: Option<String>,
    /// Data directory (key `data_dir`).
    #[arg(long)]
    data_dir: Option<String>,
    /// Records backend URL (key `database_url`).
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Debug, Args)]
struct HealthArgs {
    /// Base URL of the server.
    #[arg(long, env = "LEGALOPS_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Ask for the detailed report (needs the admin token).
    #[arg(long)]
    detailed: bool,
    /// Admin token for --detailed.
    #[arg(long, env = "LEGALOPS_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    timeout_secs: u64,
}

/// Loads the configuration: file, then `LEGALOPS_*` variables, then `flags` (key, value).
pub fn load_config(file: Option<&PathBuf>, flags: &[(&str, Option<&String>)]) -> Result<Config> {
    let mut config = match file {
        Some(path) => Config::from_file(path)?,
        None if std::path::Path::new(DEFAULT_CONFIG_FILE).exists() => {
            Config::from_file(std::path::Path::new(DEFAULT_CONFIG_FILE))?
        }
        None => Config::default(),
    };
    config.apply_env(std::env::vars())?;
    for (key, value) in flags {
        if let Some(v) = value {
            config.set(key, v)?;
        }
    }
    config.validate()?;
    Ok(config)
}

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(ConfigCommand::Check(source)) => {
            match load_config(source.config.as_ref(), &[]) {
                Ok(config) => {
                    print!("{}", config.to_masked_toml());
                    eprintln!("configuration is valid");
                    ExitCode::SUCCESS
                }
                Err(e) => config_error(&e),
            }
        }
        Command::Health(args) => runtime(|| health(args)),
        Command::Alerts(cmd) => alerts(cmd),
        Command::Silence(args) => runtime(|| silence::silence(args)),
        Command::Incident(args) => runtime(|| incident::incident(args)),
        Command::Audit(cmd) => {
            let source = match &cmd {
                AuditCommand::Verify(a) => &a.source,
                AuditCommand::Checkpoints(s) => s,
            };
            match load_config(source.config.as_ref(), &[]) {
                Ok(config) => runtime(|| audit(config, cmd)),
                Err(e) => config_error(&e),
            }
        }
        Command::Serve(args) => {
            let flags = [
                ("listen", args.listen.as_ref()),
                ("data_dir", args.data_dir.as_ref()),
                ("database_url", args.database_url.as_ref()),
            ];
            match load_config(args.source.config.as_ref(), &flags) {
                Ok(config) => runtime(|| serve(config)),
                Err(e) => config_error(&e),
            }
        }
    }
}

fn config_error(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(EXIT_CONFIG)
}

fn runtime<F: std::future::Future<Output = ExitCode>>(f: impl FnOnce() -> F) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn health(args: HealthArgs) -> ExitCode {
    let base = args.url.trim_end_matches('/');
    let path = if args.detailed {
        "/api/health/detailed"
    } else {
        "/health"
    };
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let mut req = client.get(format!("{base}{path}"));
    if let Some(token) = &args.token {
        req = req.bearer_auth(token);
    }
    let res = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot reach {base}: {}", without_url(&e));
            return ExitCode::from(EXIT_UNREACHABLE);
        }
    };
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    let pretty = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(body);
    println!("{pretty}");
    if status.is_success() {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: {base}{path} answered {status}");
        ExitCode::from(EXIT_UNHEALTHY)
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        msg = source.to_string();
    }
    msg
}

fn read_text(path: &PathBuf, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::invalid_config(what, format!("cannot read {}: {e}", path.display())))
}

fn rules_text(rules: Option<&PathBuf>) -> Result<String> {
    match rules {
        Some(path) => read_text(path, "rules"),
        None => Ok(legalops_core::alerting::rule::default_rules().to_owned()),
    }
}

fn alerts(cmd: AlertsCommand) -> ExitCode {
    match cmd {
        AlertsCommand::Check { rules } => {
            let origin = rules
                .as_ref()
                .map_or_else(|| "default rules".to_owned(), |p| p.display().to_string());
            match rules_text(rules.as_ref())
                .and_then(|t| legalops_core::alerting::rule::RuleFile::parse(&t, &origin))
            {
                Ok(parsed) => {
                    for r in &parsed {
                        println!(
                            "{:<28} {:<9} {}",
                            r.name,
                            format!("{:?}", r.severity).to_lowercase(),
                            r.expr
                        );
                    }
                    eprintln!("{} rules OK ({origin})", parsed.len());
                    ExitCode::SUCCESS
                }
                Err(e) => config_error(&e),
            }
        }
        AlertsCommand::Test { file, rules } => {
            let report = rules_text(rules.as_ref())
                .and_then(|r| read_text(&file, "rule test file").map(|t| (r, t)))
                .and_then(|(r, t)| legalops_core::alerting::harness::run(&r, &t));
            match report {
                Ok(report) => {
                    println!("{report}");
                    if report.failed == 0 {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(EXIT_UNHEALTHY)
                    }
                }
                Err(e) => config_error(&e),
            }
        }
    }
}

async fn audit(config: Config, cmd: AuditCommand) -> ExitCode {
    let clock: legalops_core::SharedClock = std::sync::Arc::new(SystemClock);
    let options = legalops_store::ConnectOptions::default().with_clock(clock.clone());
    let records = match legalops_store::connect(&config.database_url(), options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_UNREACHABLE);
        }
    };
    let auditor = legalops_ops::audit::Auditor::new(records.audit.clone(), clock);
    match cmd {
        AuditCommand::Checkpoints(_) => match auditor.export_checkpoints().await {
            Ok(cps) => {
                println!("{}", serde_json::to_string_pretty(&cps).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        AuditCommand::Verify(args) => {
            let report = match &args.checkpoints {
                None => auditor.verify().await,
                Some(path) => match read_checkpoints(path) {
                    Ok(external) => auditor.verify_against(&external).await,
                    Err(e) => return config_error(&e),
                },
            };
            match report {
                Ok(r) if r.ok => {
                    println!(
                        "audit trail intact: {} entries, {} checkpoints verified",
                        r.entries, r.checkpoints
                    );
                    ExitCode::SUCCESS
                }
                Ok(r) => {
                    let problem = r
                        .problem
                        .as_ref()
                        .map_or_else(|| "unknown problem".to_owned(), ToString::to_string);
                    println!("audit trail TAMPERED: {problem}");
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                    ExitCode::from(EXIT_UNHEALTHY)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn read_checkpoints(path: &PathBuf) -> Result<Vec<legalops_core::audit::Checkpoint>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid_input(
            "checkpoints",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid_input(
            "checkpoints",
            format!("{} is not a checkpoint list: {e}", path.display()),
        )
    })
}

async fn serve(config: Config) -> ExitCode {
    let clock = std::sync::Arc::new(SystemClock);
    if let Err(e) = std::fs::create_dir_all(&config.data_dir) {
        eprintln!(
            "error: cannot create data_dir {}: {e}",
            config.data_dir.display()
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let guard = match crate::logging::init(&config.log, &config.data_dir, clock.clone()) {
        Ok(g) => g,
        Err(e) => return config_error(&e),
    };
    let code = match crate::serve::run(config, clock).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "legalops stopped");
            eprintln!("error: {e}");
            ExitCode::from(match e {
                Error::InvalidConfig { .. } => EXIT_CONFIG,
                _ => 1,
            })
        }
    };
    drop(guard);
    code
}
