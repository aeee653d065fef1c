//! Rule loading: what compiles to what, every refusal naming the rule, and the shipped
//! defaults staying within the metrics the platform records.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::*;
use crate::alerting::expr::MemorySeries;

const EXAMPLE: &str = r#"
[[rules]]
name = "HighErrorRate"
expr = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 > 5'
for = "5m"
keep_firing_for = "10m"
recover = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 < 3'
severity = "critical"
labels = { team = "ops" }
annotations = { summary = "5xx error rate {{ $value }}% for {{ $labels.team }}" }

[[rules]]
name = "Watchdog"
expr = "1"
severity = "none"
"#;

/// The metric names of `legalops-ops` (metrics/names.rs, security, ratelimit, audit, the
/// store's query counters), plus those the alerting work exports. Keep in sync with
/// names.rs.
const KNOWN: [&str; 20] = [
    "http_requests_total",
    "http_request_duration_seconds",
    "http_requests_in_flight",
    "http_panics_total",
    "system_cpu_usage_ratio",
    "system_memory_used_bytes",
    "system_memory_total_bytes",
    "system_disk_used_bytes",
    "system_disk_total_bytes",
    "process_resident_memory_bytes",
    "legalops_db_query_duration_seconds",
    "legalops_metrics_sink_errors_total",
    "legalops_db_errors_total",
    "legalops_security_events_total",
    "legalops_rate_limited_total",
    "legalops_audit_entries_total",
    "legalops_audit_errors_total",
    // Exported by the alerting/incident wiring in legalops-ops (see default-rules.toml).
    "legalops_health_check_status",
    "legalops_certificate_expiry_seconds",
    "legalops_backup_failures_total",
];

fn known(name: &str) -> bool {
    KNOWN.contains(&name)
}

fn refused(text: &str) -> (String, String) {
    match RuleFile::parse(text, "test.toml") {
        Ok(r) => panic!("should be refused: {r:?}"),
        Err(Error::InvalidConfig { key, message }) => (key, message),
        Err(other) => panic!("wrong kind: {other}"),
    }
}

fn one(fields: &str) -> String {
    format!(
        "[[rules]]\nname = \"A\"\nexpr = \"1\"\nseverity = \"info\"\n\n[[rules]]\nname = \"B\"\n{fields}\n"
    )
}

#[test]
fn a_rule_compiles_with_its_durations_labels_and_timing() {
    let rules = RuleFile::parse(EXAMPLE, "test.toml").expect("valid");
    assert_eq!(rules.len(), 2);
    let r = &rules[0];
    assert_eq!(r.for_, Duration::from_secs(300));
    assert_eq!(r.keep_firing_for, Duration::from_secs(600));
    assert!(r.recover.is_some());
    let labels = r.labels();
    assert_eq!(
        labels.get("alertname").map(String::as_str),
        Some("HighErrorRate")
    );
    assert_eq!(labels.get("severity").map(String::as_str), Some("critical"));
    assert_eq!(labels.get("team").map(String::as_str), Some("ops"));
    assert!(r.timing().has_recover);
    assert_eq!(r.severity.alert_severity(), Some(Severity::Critical));
    let w = &rules[1];
    assert_eq!(
        (w.for_, w.severity.alert_severity()),
        (Duration::ZERO, None)
    );
}

#[test]
fn evaluation_renders_the_annotations_with_the_value() {
    let rules = RuleFile::parse(EXAMPLE, "test.toml").expect("valid");
    let mut src = MemorySeries::new();
    let t0 = OffsetDateTime::UNIX_EPOCH;
    for i in 0..=10i64 {
        let at = t0 + time::Duration::minutes(i);
        let l = |s: &str| Labels::from([("status".to_owned(), s.to_owned())]);
        src.push("http_requests_total", l("2xx"), at, 90.0 * i as f64);
        src.push("http_requests_total", l("5xx"), at, 10.0 * i as f64);
    }
    let input = rules[0].evaluate(&src, t0 + time::Duration::minutes(10));
    assert!(input.condition);
    assert_eq!(input.recovered, Some(false));
    assert_eq!(input.annotations["summary"], "5xx error rate 10% for ops");
    let quiet = rules[0].evaluate(&src, t0 + time::Duration::hours(2));
    assert!(!quiet.condition);
    assert_eq!(
        quiet.annotations["summary"],
        "5xx error rate no data% for ops"
    );
}

#[test]
fn errors_name_the_rule_and_the_field() {
    let (key, msg) = refused(&one("expr = '(rate(x[5m]) > 1'\nseverity = \"info\""));
    assert_eq!(key, "rules[1] (B).expr");
    assert!(
        msg.contains("expected ')' at column 17") && msg.contains("(in test.toml)"),
        "{msg}"
    );

    let (key, msg) = refused(&format!(
        "{}\n[[rules]]\nname = \"A\"\nexpr = \"2\"\nseverity = \"info\"\n",
        one("expr = \"1\"\nseverity = \"info\"")
    ));
    assert_eq!(key, "rules[2] (A).name");
    assert!(msg.contains("duplicate of rules[0]"), "{msg}");

    let (key, msg) = refused(&one("expr = 'x > 1'\nrecover = 'x'\nseverity = \"info\""));
    assert_eq!(key, "rules[1] (B).recover");
    assert!(msg.contains("not a condition"), "{msg}");

    let (key, msg) = refused(&one(
        "expr = 'x > 1'\nseverity = \"info\"\nannotations = { s = '{{ $valeu }}' }",
    ));
    assert_eq!(key, "rules[1] (B).annotations.s");
    assert!(msg.contains("`$valeu`"), "{msg}");

    let (key, msg) = refused(&one(
        "expr = 'x > 1'\nseverity = \"info\"\nannotations = { s = '{{ $labels.team }}' }",
    ));
    assert_eq!(key, "rules[1] (B).annotations.s");
    assert!(msg.contains("$labels.team"), "{msg}");

    let (key, _) = refused(&one(
        "expr = 'x > 1'\nfor = '5 minutes'\nseverity = \"info\"",
    ));
    assert_eq!(key, "rules[1] (B).for");
    let (key, _) = refused(&one(
        "expr = 'x > 1'\nkeep_firing_for = 'x'\nseverity = \"info\"",
    ));
    assert_eq!(key, "rules[1] (B).keep_firing_for");
    let (key, msg) = refused(&one("expr = 'x > 1'\nseverity = \"urgent\""));
    assert_eq!(key, "rules[1] (B).severity");
    assert!(msg.contains("`urgent`"), "{msg}");
    let (key, _) = refused(&one("expr = 'x > 1'"));
    assert_eq!(key, "rules[1] (B).severity");
    let (key, _) = refused(&one(
        "expr = 'x > 1'\nseverity = \"info\"\nlabels = { alertname = 'X' }",
    ));
    assert_eq!(key, "rules[1] (B).labels.alertname");
    let (key, _) = refused(&one(
        "expr = 'x > 1'\nseverity = \"info\"\nlabels = { 'bad-name' = 'X' }",
    ));
    assert_eq!(key, "rules[1] (B).labels.bad-name");
    let (key, _) = refused(&one(
        "expr = 'x > 1'\nseverity = \"info\"\nlabels = { team = '{{ $value }}' }",
    ));
    assert_eq!(key, "rules[1] (B).labels.team");
    let (key, _) = refused("[[rules]]\nname = \"has space\"\nexpr = \"1\"\nseverity = \"info\"\n");
    assert_eq!(key, "rules[0].name");
}

#[test]
fn unknown_fields_and_bad_toml_are_refused() {
    let (key, msg) = refused(&one("expr = '1'\nseverity = \"info\"\nfour = '5m'"));
    assert_eq!(key, "rules");
    assert!(msg.contains("test.toml") && msg.contains("four"), "{msg}");
    let (_, msg) = refused("[[rules]\n");
    assert!(msg.contains("test.toml"), "{msg}");
    assert_eq!(
        RuleFile::parse("", "empty.toml").map(|r| r.len()).ok(),
        Some(0)
    );
}

#[test]
fn unknown_metrics_are_refused_naming_rule_and_metric() {
    let rules = RuleFile::parse(
        &one("expr = 'x > 1'\nrecover = 'nope < 1'\nseverity = \"info\""),
        "f.toml",
    )
    .expect("valid syntax");
    let ok = |n: &str| n == "x";
    assert!(rules[1].check_metrics(&ok).is_err_and(|e| {
        let s = e.to_string();
        s.contains("rules[1] (B).recover") && s.contains("`nope`") && s.contains("f.toml")
    }));
    assert!(
        rules[0].check_metrics(&|_: &str| false).is_ok(),
        "a constant reads no metric"
    );
    assert!(
        rules[1]
            .check_metrics(&|n: &str| n == "x" || n == "nope")
            .is_ok()
    );
}

#[test]
fn histogram_series_are_known_through_their_histogram() {
    let rules = RuleFile::parse(
        &one("expr = 'rate(h_sum[5m]) / rate(h_count[5m]) > 1 and rate(g_sum[1h]) > 0'\nseverity = \"info\""),
        "f.toml",
    )
    .expect("valid");
    let e = rules[1]
        .check_metrics(&|n: &str| n == "h")
        .expect_err("g is unknown");
    assert!(e.to_string().contains("`g_sum`"), "{e}");
    assert!(
        rules[1]
            .check_metrics(&|n: &str| n == "h" || n == "g")
            .is_ok()
    );
    assert_eq!(rules[1].lookback(), Duration::from_secs(3600 + 300));
    assert_eq!(rules[0].lookback(), Duration::from_secs(300));
}

#[test]
fn default_rules_parse_and_read_only_known_metrics() {
    let rules = RuleFile::parse(default_rules(), "default-rules.toml").expect("the defaults load");
    for r in &rules {
        r.check_metrics(&known).unwrap_or_else(|e| panic!("{e}"));
        // Every template renders with and without data.
        for v in [Some(1.5), None] {
            for (k, t) in &r.annotations {
                assert!(render(t, v, &r.labels()).is_ok(), "{} {k}", r.name);
            }
        }
        if let Some(rec) = &r.recover {
            assert!(rec.is_condition());
        }
    }
    let by_severity = |s: RuleSeverity| -> BTreeSet<&str> {
        rules
            .iter()
            .filter(|r| r.severity == s)
            .map(|r| r.name.as_str())
            .collect()
    };
    assert_eq!(by_severity(RuleSeverity::Critical).len(), 7);
    assert_eq!(by_severity(RuleSeverity::Warning).len(), 6);
    assert!(by_severity(RuleSeverity::Info).len() >= 4);
    assert_eq!(
        by_severity(RuleSeverity::None),
        BTreeSet::from(["Watchdog"])
    );
}

#[test]
fn the_watchdog_fires_without_any_data_and_nothing_else_does() {
    let rules = RuleFile::parse(default_rules(), "default-rules.toml").expect("the defaults load");
    let empty = MemorySeries::new();
    let firing: Vec<&str> = rules
        .iter()
        .filter(|r| r.evaluate(&empty, OffsetDateTime::UNIX_EPOCH).condition)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(firing, vec!["Watchdog"]);
}

#[test]
fn rule_config_round_trips_through_toml() {
    let file: RuleFile = toml::from_str(EXAMPLE).expect("parses");
    let back: RuleFile =
        toml::from_str(&toml::to_string(&file).expect("serialises")).expect("parses back");
    assert_eq!(back, file);
}
