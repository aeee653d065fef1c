//! Issue 4's restart guarantee with real processes: a `legalops serve` killed (SIGKILL)
//! while an alert fires, and started again over the same data directory, sends no second
//! "firing" for it (nor for the Watchdog) and exactly one "resolved" when it clears.
//! Notifications go to a webhook receiver run by this test.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;

const TOKEN: &str = "restart-test-admin-token-0123456789";

type Received = Arc<Mutex<Vec<Value>>>;

async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/",
            post(
                |State(got): State<Received>, Json(body): Json<Value>| async move {
                    got.lock().expect("lock").push(body);
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path, hook: &str, rules: &Path) -> Server {
    let port = StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_legalops"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LEGALOPS_") {
            cmd.env_remove(k);
        }
    }
    let child = cmd
        .current_dir(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("LEGALOPS_ADMIN_TOKEN", TOKEN)
        .env("LEGALOPS_LOG_FORMAT", "json")
        .env("LEGALOPS_ALERTING_RULES_FILE", rules)
        .env("LEGALOPS_ALERTING_EVALUATION_INTERVAL_SECS", "1")
        .env("LEGALOPS_ALERTING_GROUP_WAIT_SECS", "1")
        .env("LEGALOPS_ALERTING_GROUP_INTERVAL_SECS", "1")
        .env("LEGALOPS_ALERTING_CHANNELS", format!("hook=webhook+{hook}"))
        .env(
            "LEGALOPS_INCIDENTS_ESCALATION_TARGETS",
            "oncall-primary=hook,oncall-secondary=hook,engineering-manager=hook",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn legalops serve");
    Server(child, port)
}

/// Notifications received for `alertname` with `status`.
fn count(got: &Received, alertname: &str, status: &str) -> usize {
    got.lock()
        .expect("lock")
        .iter()
        .filter(|n| n["status"] == status && n["groupLabels"]["alertname"] == alertname)
        .count()
}

async fn wait_for(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 10 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn received(got: &Received) -> String {
    format!("{:?}", got.lock().map(|g| g.clone()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_while_an_alert_fires_sends_no_second_firing_and_one_resolved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook, got) = receiver().await;
    // Fires while the process that saw a block is alive; a restarted process has not seen
    // it (its counters start from zero), so the alert resolves because of the restart.
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nname = \"AddressBlocked\"\nexpr = 'increase(legalops_security_events_total{severity=\"warning\"}[1h]) > 0'\n\
         severity = \"warning\"\nannotations = { summary = \"an address was blocked\" }\n\n\
         [[rules]]\nname = \"Watchdog\"\nexpr = \"1\"\nseverity = \"none\"\n",
    )
    .expect("rules");

    let first = serve(dir.path(), &hook, &rules);
    let up = first.1;
    assert!(
        wait_for(30, || std::net::TcpStream::connect(("127.0.0.1", up))
            .is_ok())
        .await,
        "first server up"
    );
    // The first rounds must have sampled the counters before the event, or `increase`
    // has nothing to compare with (as in Prometheus): the Watchdog's notification says so.
    assert!(
        wait_for(30, || count(&got, "Watchdog", "firing") >= 1).await,
        "Watchdog notified: {}",
        received(&got)
    );
    let res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{up}/api/security/block-ip"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"ipAddress": "192.0.2.44", "reason": "restart test"}))
        .send()
        .await
        .expect("block-ip");
    assert!(res.status().is_success(), "{}", res.status());
    assert!(
        wait_for(30, || count(&got, "AddressBlocked", "firing") >= 1
            && count(&got, "Watchdog", "firing") >= 1)
        .await,
        "both alerts notified firing: {}",
        received(&got)
    );

    // Kill it hard while both alerts fire, and start again over the same data directory.
    drop(first);
    let second = serve(dir.path(), &hook, &rules);
    assert!(
        wait_for(60, || count(&got, "AddressBlocked", "resolved") >= 1).await,
        "resolved after the restart: {}",
        received(&got)
    );
    // A few more rounds of the second server: nothing is sent twice.
    tokio::time::sleep(Duration::from_secs(4)).await;
    drop(second);

    assert_eq!(
        count(&got, "AddressBlocked", "firing"),
        1,
        "no second firing after the restart: {}",
        received(&got)
    );
    assert_eq!(
        count(&got, "AddressBlocked", "resolved"),
        1,
        "exactly one resolved: {}",
        received(&got)
    );
    assert_eq!(
        count(&got, "Watchdog", "firing"),
        1,
        "the unchanged Watchdog group is not re-sent before repeat_interval: {}",
        received(&got)
    );
}
