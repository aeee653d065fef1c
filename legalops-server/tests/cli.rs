//! The `legalops` binary as an operator runs it: `serve` on embedded defaults, `health`
//! like `curl -f`, `config check`, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_legalops");
const TOKEN: &str = "cli-test-admin-token-0123456789";

fn free_port() -> u16 {
    // Bind to port 0 and release it: the OS picks a free port.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn legalops(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir);
    // Keep the developer's environment out of the test.
    for (k, _) in std::env::vars() {
        if k.starts_with("LEGALOPS_") {
            c.env_remove(k);
        }
    }
    c
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, extra_env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut cmd = legalops(dir);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("LEGALOPS_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn legalops serve");
    let url = format!("http://127.0.0.1:{port}");
    let server = Server { child, url };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("legalops serve did not listen within 30 s");
}

fn health(dir: &Path, url: &str, args: &[&str]) -> Output {
    legalops(dir)
        .args(["health", "--url", url])
        .args(args)
        .output()
        .expect("run legalops health")
}

#[cfg(unix)]
fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
#[cfg(unix)]
fn serve_on_defaults_answers_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(dir.path(), &[]);

    let ok = health(dir.path(), &server.url, &[]);
    assert!(
        ok.status.success(),
        "legalops health: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("health prints JSON");
    assert_eq!(body["status"], "pass");

    // No token configured: the first start generated one and printed it once on stderr.
    let detailed = health(dir.path(), &server.url, &["--detailed"]);
    assert_eq!(
        detailed.status.code(),
        Some(1),
        "detailed without a token is 401 -> exit 1"
    );

    assert!(
        dir.path().join("data/legalops.db").exists(),
        "SQLite under ./data"
    );
    assert!(
        dir.path().join("data/logs/legalops.log").exists(),
        "log file under ./data/logs"
    );

    sigterm(&server.child);
    let status = server.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    let mut stderr = String::new();
    if let Some(e) = server.child.stderr.take() {
        for line in BufReader::new(e).lines().map_while(Result::ok) {
            stderr.push_str(&line);
            stderr.push('\n');
        }
    }
    let token_lines = stderr.lines().filter(|l| l.contains("lo_admin_")).count();
    assert_eq!(
        token_lines, 1,
        "the generated token is shown exactly once: {stderr}"
    );
    let log =
        std::fs::read_to_string(dir.path().join("data/logs/legalops.log")).unwrap_or_default();
    assert!(
        !log.contains("lo_admin_"),
        "the token never reaches the log"
    );
    assert!(
        log.contains("\"route\":\"/health\""),
        "access log lines carry the route: {log}"
    );
    assert!(
        log.contains("legalops stopped"),
        "logs were flushed at exit: {log}"
    );
}

#[test]
fn detailed_health_with_the_token_passes_and_unreachable_is_exit_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[("LEGALOPS_ADMIN_TOKEN", TOKEN)]);
    let out = health(dir.path(), &server.url, &["--detailed", "--token", TOKEN]);
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // Exit 0 when healthy, 1 when not (curl -f); only the host's disk or memory may be the
    // reason on a crowded test machine.
    let report: legalops_core::health::HealthReport =
        serde_json::from_value(body.clone()).expect("health+json");
    assert_eq!(
        out.status.code(),
        Some(if report.status.http_status() == 200 {
            0
        } else {
            1
        }),
        "{body}"
    );
    for (key, check) in report.failing() {
        assert_eq!(
            check.component_type,
            legalops_core::health::ComponentType::System,
            "{key} failed: {body}"
        );
    }
    assert!(
        body["checks"]["database:schemaVersion"].is_array(),
        "{body}"
    );
    drop(server);
    let out = health(
        dir.path(),
        &format!("http://127.0.0.1:{}", free_port()),
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "nobody listening is exit 3");
}

#[test]
fn config_check_masks_secrets_and_names_bad_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("legalops.toml"),
        "listen = \"127.0.0.1:9090\"\ndatabase_url = \"postgres://app:hunter2@db/legal\"\n",
    )
    .expect("write config");
    let out = legalops(dir.path())
        .args(["config", "check"])
        .env("LEGALOPS_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("127.0.0.1:9090"));
    assert!(
        !shown.contains("hunter2") && !shown.contains(TOKEN),
        "{shown}"
    );

    std::fs::write(dir.path().join("bad.toml"), "listen = \"nowhere\"\n").expect("write");
    let out = legalops(dir.path())
        .args(["config", "check", "--config", "bad.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`listen`"));

    let out = legalops(dir.path())
        .args(["serve"])
        .env("LEGALOPS_HEALTH_TIMEOUT_MS", "soon")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an invalid config stops the start"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("LEGALOPS_HEALTH_TIMEOUT_MS"));
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_names_a_row_edited_in_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A few audited actions through a real server (admin actions are audited).
    let server = start(dir.path(), &[("LEGALOPS_ADMIN_TOKEN", TOKEN)]);
    let client = reqwest::Client::new();
    for ip in ["192.0.2.10", "192.0.2.11", "192.0.2.12"] {
        let res = client
            .post(format!("{}/api/security/block-ip", server.url))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"ipAddress": ip, "reason": "test"}))
            .send()
            .await
            .expect("block-ip");
        assert!(res.status().is_success(), "block-ip: {}", res.status());
    }
    drop(server);
    let clean = legalops(dir.path())
        .args(["audit", "verify"])
        .output()
        .expect("run");
    assert!(
        clean.status.success(),
        "{}{}",
        String::from_utf8_lossy(&clean.stdout),
        String::from_utf8_lossy(&clean.stderr)
    );

    // Tamper with one row directly in the database, as an intruder with SQL access would.
    let url = format!("sqlite://{}", dir.path().join("data/legalops.db").display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the database");
    let changed = sqlx::query("UPDATE audit_log SET target = '192.0.2.99' WHERE seq = 2")
        .execute(&pool)
        .await
        .expect("edit a row")
        .rows_affected();
    assert_eq!(changed, 1);
    pool.close().await;

    let caught = legalops(dir.path())
        .args(["audit", "verify"])
        .output()
        .expect("run");
    assert_eq!(
        caught.status.code(),
        Some(1),
        "a tampered log fails verification"
    );
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&caught.stdout),
        String::from_utf8_lossy(&caught.stderr)
    );
    assert!(out.contains("entry 2"), "the altered entry is named: {out}");
}

#[test]
fn alerts_test_runs_the_shipped_rule_tests_and_fails_a_wrong_expectation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/alerting/default-rules.test.toml"
    );
    let ok = legalops(dir.path())
        .args(["alerts", "test", shipped])
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(
        ok.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("0 failed"), "{out}");

    // The same file expecting firing one evaluation too early (pending -> firing takes
    // `for = 2m` of continuous truth) must fail and say so.
    let text = std::fs::read_to_string(shipped)
        .expect("read")
        .replace("eval_time = \"3m\"", "eval_time = \"2m\"");
    let wrong = dir.path().join("wrong.test.toml");
    std::fs::write(&wrong, text).expect("write");
    let bad = legalops(dir.path())
        .args(["alerts", "test"])
        .arg(&wrong)
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("HighErrorRate"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );

    let check = legalops(dir.path())
        .args(["alerts", "check"])
        .output()
        .expect("run");
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stdout).contains("Watchdog"));
    std::fs::write(
        dir.path().join("broken.toml"),
        "[[rules]]\nname = \"X\"\nexpr = \"rate(\"\n",
    )
    .expect("write");
    let broken = legalops(dir.path())
        .args(["alerts", "check", "--rules", "broken.toml"])
        .output()
        .expect("run");
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("(X)"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
}

/// Runs `legalops ARGS --url URL` with the token in the environment (as an operator's
/// shell has it), returning the output.
fn remote(dir: &Path, url: &str, token: &str, args: &[&str]) -> Output {
    legalops(dir)
        .args(args)
        .args(["--url", url])
        .env("LEGALOPS_ADMIN_TOKEN", token)
        .output()
        .expect("run legalops")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn silence_add_list_expire_and_incidents_against_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[("LEGALOPS_ADMIN_TOKEN", TOKEN)]);
    let url = &server.url.clone();

    // No incident on a fresh server: an empty list, exit 0.
    let none = remote(dir.path(), url, TOKEN, &["incident", "list", "--json"]);
    assert_eq!(none.status.code(), Some(0), "{}", text(&none));
    let list: serde_json::Value = serde_json::from_slice(&none.stdout).expect("JSON");
    assert_eq!(list, serde_json::json!([]));
    let table = remote(dir.path(), url, TOKEN, &["incident", "list"]);
    assert_eq!(table.status.code(), Some(0), "{}", text(&table));

    let added = remote(
        dir.path(),
        url,
        TOKEN,
        &[
            "silence",
            "add",
            "--matcher",
            "alertname=Watchdog",
            "--matcher",
            "severity=~crit.*",
            "--duration",
            "2h",
            "--comment",
            "receiver maintenance",
        ],
    );
    assert_eq!(added.status.code(), Some(0), "{}", text(&added));
    let silence: serde_json::Value = serde_json::from_slice(&added.stdout).expect("JSON");
    let id = silence["id"].as_str().expect("id").to_owned();
    assert_eq!(silence["matchers"][1]["op"], "=~", "{silence}");
    assert_eq!(silence["createdBy"], "admin-token", "{silence}");

    let listed = remote(dir.path(), url, TOKEN, &["silence", "list"]);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    let table = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(table.contains(&id), "{table}");
    assert!(table.contains("active"), "{table}");
    assert!(table.contains("alertname=Watchdog"), "{table}");

    let expired = remote(dir.path(), url, TOKEN, &["silence", "expire", &id]);
    assert_eq!(expired.status.code(), Some(0), "{}", text(&expired));
    let active = remote(dir.path(), url, TOKEN, &["silence", "list", "--json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&active.stdout).expect("JSON"),
        serde_json::json!([]),
        "an expired silence is no longer listed by default"
    );
    let all = remote(
        dir.path(),
        url,
        TOKEN,
        &["silence", "list", "--expired", "--json"],
    );
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).expect("JSON");
    assert_eq!(all[0]["id"], id.as_str());
    assert_eq!(all[0]["state"], "expired");

    // The server refuses: exit 1 with the problem's detail; the token is never printed.
    let wrong = remote(dir.path(), url, "not-the-token", &["incident", "list"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(!text(&wrong).contains("not-the-token"));
    let missing = remote(dir.path(), url, TOKEN, &["incident", "show", "no-such"]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("404"), "{}", text(&missing));
    let again = remote(dir.path(), url, TOKEN, &["silence", "expire", "no-such"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));

    // Bad arguments: exit 2 before anything is sent, saying how to write a matcher.
    let bad = remote(
        dir.path(),
        url,
        TOKEN,
        &["silence", "add", "--matcher", "alertname", "--comment", "x"],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("name=value"), "{}", text(&bad));

    drop(server);
    let gone = remote(dir.path(), url, TOKEN, &["silence", "list"]);
    assert_eq!(gone.status.code(), Some(3), "{}", text(&gone));
}
