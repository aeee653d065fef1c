//! Alerting through the platform, in process on a manual clock: rounds are driven with
//! `Platform::run_alerting_once` (what the background task runs), and everything is read
//! back through the API (`/api/alerts`, `/api/silences`, `/api/incidents`) and the
//! delivery records.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{Method, StatusCode, header};
use common::{ADMIN_TOKEN, call, clock, fast_config};
use legalops_core::mem::{MemoryDocumentStore, MemoryRecords};
use legalops_core::records::{Database, PoolStats, QueryStats, Records};
use legalops_core::{Clock, Error, ManualClock, Result};
use legalops_server::{Config, Platform};
use serde_json::{Value, json};

const IP: &str = "198.51.100.40";

/// A database whose health check passes or fails on demand.
#[derive(Debug, Default)]
struct SwitchableDb {
    down: AtomicU8,
}

impl std::fmt::Display for SwitchableDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("switchable")
    }
}

#[async_trait]
impl Database for SwitchableDb {
    async fn healthcheck(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) == 1 {
            return Err(Error::backend(
                "switchable",
                true,
                std::io::Error::other("connection refused"),
            ));
        }
        Ok(())
    }
    async fn schema_version(&self) -> Result<i64> {
        Ok(1)
    }
    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: 1,
            idle: 1,
            in_use: 0,
            max: 4,
            waiting: 0,
        }
    }
    fn query_stats(&self) -> QueryStats {
        QueryStats::default()
    }
}

fn alerting_config(dir: &std::path::Path) -> Config {
    let mut c = fast_config(dir);
    c.alerting.channels = vec!["ops=memory:".to_owned()];
    c.incidents.escalation_targets = vec![
        "oncall-primary=ops".to_owned(),
        "oncall-secondary=ops".to_owned(),
        "engineering-manager=ops".to_owned(),
    ];
    c
}

async fn platform(config: Config, clock: &ManualClock) -> Result<(Platform, Arc<SwitchableDb>)> {
    let db = Arc::new(SwitchableDb::default());
    let records = Records {
        database: db.clone(),
        ..Records::from_backend(Arc::new(MemoryRecords::with_clock(Arc::new(clock.clone()))))
    };
    let (p, _) = Platform::builder(config)
        .clock(Arc::new(clock.clone()))
        .records(records)
        .documents(Arc::new(MemoryDocumentStore::new()))
        .build()
        .await?;
    Ok((p, db))
}

async fn admin(p: &Platform, method: Method, path: &str, body: Option<Value>) -> common::Answer {
    call(&p.router(), IP, method, path, Some(ADMIN_TOKEN), body).await
}

fn rule<'a>(alerts: &'a Value, name: &str) -> Option<&'a Value> {
    alerts["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["rule"] == name)
}

#[tokio::test]
async fn watchdog_fires_is_delivered_and_a_silence_mutes_it_until_expired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let (p, _db) = platform(alerting_config(dir.path()), &clock)
        .await
        .expect("platform");
    let start = clock.now();
    p.run_alerting_once().await.expect("round");
    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let watchdog = rule(&a.body, "Watchdog").expect("Watchdog listed");
    assert_eq!(watchdog["state"], "firing", "{watchdog}");
    assert_eq!(watchdog["labels"]["alertname"], "Watchdog");
    assert!(watchdog["since"].is_string());
    assert_eq!(a.body["muted"], json!([]));

    // group_wait (30 s) passes: the group goes to the configured channel.
    clock.advance(Duration::from_secs(31));
    p.run_alerting_once().await.expect("round");
    let sent = p
        .records()
        .alerts
        .deliveries(start, 100)
        .await
        .expect("deliveries");
    assert!(
        sent.iter()
            .any(|d| d.channel == "ops" && d.ok && d.group_key.contains("Watchdog")),
        "{sent:?}"
    );

    // Bad input names the field and stores nothing.
    let ends = (clock.now() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    let bad = admin(
        &p,
        Method::POST,
        "/api/silences",
        Some(json!({"matchers": [], "endsAt": ends, "comment": "x"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.body["field"].is_string(), "{}", bad.text);
    let bad_op = admin(
        &p,
        Method::POST,
        "/api/silences",
        Some(
            json!({"matchers": [{"name": "alertname", "op": "~~", "value": "W"}],
                    "endsAt": ends, "comment": "x"}),
        ),
    )
    .await;
    assert_eq!(
        bad_op.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_op.text
    );
    let none = admin(&p, Method::GET, "/api/silences", None).await;
    assert_eq!(none.body, json!([]), "{}", none.text);

    let made = admin(
        &p,
        Method::POST,
        "/api/silences",
        Some(
            json!({"matchers": [{"name": "alertname", "op": "=", "value": "Watchdog"}],
                    "endsAt": ends, "comment": "receiver maintenance"}),
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["id"].as_str().expect("id").to_owned();
    assert_eq!(made.body["createdBy"], "admin-token", "{}", made.text);

    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    let muted = a.body["muted"].as_array().expect("muted");
    assert_eq!(muted.len(), 1, "{}", a.text);
    assert_eq!(muted[0]["reason"]["kind"], "silenced");
    assert_eq!(muted[0]["reason"]["silence_id"], id.as_str());
    let fp = rule(&a.body, "Watchdog").expect("listed")["fingerprint"].clone();
    assert_eq!(muted[0]["fingerprint"], fp);

    let gone = admin(&p, Method::DELETE, &format!("/api/silences/{id}"), None).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    assert_eq!(a.body["muted"], json!([]), "{}", a.text);
    let list = admin(&p, Method::GET, "/api/silences", None).await;
    assert_eq!(list.body[0]["state"], "expired", "{}", list.text);
    let missing = admin(&p, Method::DELETE, "/api/silences/no-such-silence", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
}

#[tokio::test]
async fn a_failing_database_opens_exactly_one_incident_that_the_api_moves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let (p, db) = platform(alerting_config(dir.path()), &clock)
        .await
        .expect("platform");
    db.down.store(1, Ordering::SeqCst);
    p.run_alerting_once().await.expect("round");
    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    assert_eq!(
        rule(&a.body, "DatabaseDown").expect("listed")["state"],
        "pending",
        "{}",
        a.text
    );
    let open = admin(&p, Method::GET, "/api/incidents", None).await;
    assert_eq!(open.body, json!([]), "pending opens nothing: {}", open.text);

    // Past its `for` (1 m) it fires; more rounds add to the same incident.
    for _ in 0..4 {
        clock.advance(Duration::from_secs(20));
        p.run_alerting_once().await.expect("round");
    }
    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    assert_eq!(
        rule(&a.body, "DatabaseDown").expect("listed")["state"],
        "firing"
    );
    let open = admin(&p, Method::GET, "/api/incidents", None).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    let list = open.body.as_array().expect("list");
    assert_eq!(list.len(), 1, "{}", open.text);
    let id = list[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(list[0]["status"], "triggered");

    let one = admin(&p, Method::GET, &format!("/api/incidents/{id}"), None).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let path = |action: &str| format!("/api/incidents/{id}/{action}");
    let illegal = admin(&p, Method::POST, &path("close"), None).await;
    assert_eq!(illegal.status, StatusCode::CONFLICT, "{}", illegal.text);

    let ack = admin(&p, Method::POST, &path("acknowledge"), None).await;
    assert_eq!(ack.status, StatusCode::OK, "{}", ack.text);
    assert_eq!(ack.body["status"], "acknowledged");
    let again = admin(&p, Method::POST, &path("acknowledge"), None).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["status"], "acknowledged");

    let noted = admin(
        &p,
        Method::POST,
        &path("notes"),
        Some(json!({"text": "restarting the primary"})),
    )
    .await;
    assert_eq!(noted.status, StatusCode::OK, "{}", noted.text);
    assert!(noted.text.contains("restarting the primary"));
    let empty = admin(&p, Method::POST, &path("notes"), Some(json!({"text": " "}))).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    let pm = admin(&p, Method::GET, &path("postmortem"), None).await;
    assert_eq!(pm.status, StatusCode::OK, "{}", pm.text);
    assert!(
        pm.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/markdown")
    );
    let missing = admin(&p, Method::GET, "/api/incidents/nope", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let audited = admin(&p, Method::GET, "/api/audit/entries?limit=100", None).await;
    assert!(
        audited.text.contains("incident.acknowledge"),
        "{}",
        audited.text
    );
}

/// Takes the database down and runs rounds past DatabaseDown's `for` (1 m).
async fn database_down_until_firing(p: &Platform, db: &SwitchableDb, clock: &ManualClock) {
    db.down.store(1, Ordering::SeqCst);
    for _ in 0..5 {
        p.run_alerting_once().await.expect("round");
        clock.advance(Duration::from_secs(20));
    }
    p.run_alerting_once().await.expect("round");
    let a = admin(p, Method::GET, "/api/alerts", None).await;
    assert_eq!(
        rule(&a.body, "DatabaseDown").expect("listed")["state"],
        "firing",
        "{}",
        a.text
    );
}

#[tokio::test]
async fn a_failing_database_opens_a_sev1_incident_naming_the_failing_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let (p, db) = platform(alerting_config(dir.path()), &clock)
        .await
        .expect("platform");
    database_down_until_firing(&p, &db, &clock).await;
    let open = admin(&p, Method::GET, "/api/incidents", None).await;
    let list = open.body.as_array().expect("list");
    assert_eq!(list.len(), 1, "{}", open.text);
    assert_eq!(list[0]["severity"], "sev1", "{}", open.text);
    let id = list[0]["id"].as_str().expect("id");
    let one = admin(&p, Method::GET, &format!("/api/incidents/{id}"), None).await;
    let classified = one.body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| serde_json::to_string(e).ok())
        .find(|e| e.contains("classified Sev1"))
        .unwrap_or_default();
    assert!(
        classified.contains("database:responseTime"),
        "the reasons name the failing check: {}",
        one.text
    );
}

#[tokio::test]
async fn a_silence_made_before_the_database_fails_prevents_the_incident() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let (p, db) = platform(alerting_config(dir.path()), &clock)
        .await
        .expect("platform");
    let ends = (clock.now() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    let made = admin(
        &p,
        Method::POST,
        "/api/silences",
        Some(
            json!({"matchers": [{"name": "alertname", "op": "=", "value": "DatabaseDown"}],
                    "endsAt": ends, "comment": "planned database failover"}),
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    database_down_until_firing(&p, &db, &clock).await;
    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    assert_eq!(
        a.body["muted"][0]["reason"]["kind"], "silenced",
        "{}",
        a.text
    );
    let open = admin(&p, Method::GET, "/api/incidents?open=false", None).await;
    assert_eq!(open.body, json!([]), "silenced: no incident: {}", open.text);

    // Expired, the same firing alert pages.
    let id = made.body["id"].as_str().expect("id");
    let gone = admin(&p, Method::DELETE, &format!("/api/silences/{id}"), None).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    p.run_alerting_once().await.expect("round");
    let open = admin(&p, Method::GET, "/api/incidents", None).await;
    assert_eq!(open.body.as_array().map(Vec::len), Some(1), "{}", open.text);
}

#[tokio::test]
async fn a_rule_naming_an_unknown_metric_stops_the_start_naming_the_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nname = \"Bogus\"\nexpr = 'no_such_metric_total > 1'\nseverity = \"warning\"\n",
    )
    .expect("write rules");
    let mut config = alerting_config(dir.path());
    config.alerting.rules_file = Some(rules.clone());
    let err = platform(config.clone(), &clock())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("Bogus"), "{err}");

    std::fs::write(&rules, "[[rules]]\nname = \"Broken\"\nexpr = '1 >'\n").expect("write");
    let err = platform(config.clone(), &clock())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("Broken"), "{err}");

    config.alerting.rules_file = Some(dir.path().join("missing.toml"));
    let err = platform(config, &clock()).await.expect_err("refused");
    assert!(
        matches!(&err, Error::InvalidConfig { key, .. } if key == "alerting.rules_file"),
        "{err}"
    );
}

#[tokio::test]
async fn performance_endpoints_answer_and_the_cache_is_honestly_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, _db) = platform(alerting_config(dir.path()), &clock())
        .await
        .expect("platform");
    for path in ["/api/performance/metrics", "/api/performance/database"] {
        let a = admin(&p, Method::GET, path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
    }
    let db = admin(&p, Method::GET, "/api/performance/database", None).await;
    assert!(db.body["queries"]["slow"].is_array(), "{}", db.text);
    let cache = admin(&p, Method::GET, "/api/performance/cache", None).await;
    assert_eq!(cache.body["caches"], json!([]));
    assert!(cache.body["note"].is_string());
}

#[tokio::test]
async fn a_maintenance_window_from_the_config_mutes_matching_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock(); // Monday 2026-11-23 09:00 UTC = 04:00 in New York
    let mut config = alerting_config(dir.path());
    let window: legalops_core::alerting::routing::MaintenanceWindow =
        serde_json::from_value(json!({
            "name": "monday-patching",
            "weekdays": ["mon"],
            "start": "03:00",
            "end": "05:00",
            "timezone": "America/New_York",
            "matchers": [{"name": "alertname", "op": "=", "value": "Watchdog"}],
        }))
        .expect("window");
    config.alerting.maintenance_windows = vec![window];
    let (p, _db) = platform(config, &clock).await.expect("platform");
    p.run_alerting_once().await.expect("round");
    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    assert!(rule(&a.body, "Watchdog").is_some(), "{}", a.text);
    let muted = a.body["muted"].as_array().expect("muted");
    assert_eq!(muted.len(), 1, "{}", a.text);
    assert!(
        muted[0]["reason"].to_string().contains("monday-patching"),
        "{}",
        a.text
    );

    // Two hours later the window has closed: nothing is muted.
    clock.advance(std::time::Duration::from_secs(2 * 3600));
    p.run_alerting_once().await.expect("round");
    let a = admin(&p, Method::GET, "/api/alerts", None).await;
    assert_eq!(a.body["muted"], json!([]), "{}", a.text);
}
