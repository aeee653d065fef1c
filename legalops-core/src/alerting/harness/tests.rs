//! Harness tests: the issue's done-when scenario, reporting, the default rules over
//! inputs, promtool's value notation, and refusals of malformed files.

use super::*;
use crate::alerting::rule::default_rules;

const RULES: &str = r#"
[[rules]]
name = "ErrorRateHysteresis"
expr = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 > 5'
for = "5m"
keep_firing_for = "10m"
recover = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 < 3'
severity = "critical"
labels = { team = "ops" }
annotations = { summary = "5xx error rate {{ $value }}%" }

[[rules]]
name = "ErrorRateKeepFiring"
expr = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 > 5'
for = "5m"
keep_firing_for = "10m"
severity = "warning"
"#;

// 90 good requests a minute throughout; 10 errors a minute (10 %) to 20 m, then 4 a
// minute (4.3 %: under the threshold, over the recovery level) to 40 m, then 1 (1.1 %).
// The 5-minute rate is over 5 % up to 23 m and under 3 % from 42 m.
const SERIES: &str = r#"
interval = "1m"
[[input_series]]
series = 'http_requests_total{status="2xx"}'
values = "0+90x60"
[[input_series]]
series = 'http_requests_total{status="5xx"}'
values = "0+10x20 204+4x19 281+1x19"
"#;

fn expect(at: &str, rule: &str, state: &str) -> String {
    format!(
        "[[tests]]\neval_time = \"{at}\"\n[[tests.alerts]]\nrule = \"{rule}\"\nstate = \"{state}\"\n"
    )
}

fn report(tests: &str) -> HarnessReport {
    run(RULES, &format!("{SERIES}\n{tests}")).expect("files are valid")
}

#[test]
fn pending_firing_resolved_with_keep_firing_and_a_recovery_threshold() {
    let timeline = [
        ("0s", "inactive", "inactive"),
        ("1m", "pending", "pending"),
        ("5m", "pending", "pending"),
        ("6m", "firing", "firing"),
        ("23m", "firing", "firing"),
        // The condition cleared at 24 m; keep_firing_for holds both until 33 m.
        ("30m", "firing", "firing"),
        ("32m", "firing", "firing"),
        // Without a recovery threshold it resolves once keep_firing_for has passed...
        ("33m", "firing", "resolved"),
        ("34m", "firing", "inactive"),
        // ...with one, it fires until the rate is back under 3 %.
        ("41m", "firing", "inactive"),
        ("42m", "resolved", "inactive"),
        ("43m", "inactive", "inactive"),
        ("60m", "inactive", "inactive"),
    ];
    let tests: String = timeline
        .iter()
        .flat_map(|(at, h, k)| {
            [
                expect(at, "ErrorRateHysteresis", h),
                expect(at, "ErrorRateKeepFiring", k),
            ]
        })
        .collect();
    let r = report(&tests);
    assert!(r.ok(), "{r}");
    assert_eq!((r.checks, r.passed, r.failed), (26, 26, 0));
    let changes: Vec<(String, &str, Transition)> = r
        .transitions
        .iter()
        .filter(|t| t.rule == "ErrorRateHysteresis")
        .map(|t| (format_duration(t.at), t.rule.as_str(), t.transition))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "1m".to_owned(),
                "ErrorRateHysteresis",
                Transition::ToPending
            ),
            ("6m".to_owned(), "ErrorRateHysteresis", Transition::ToFiring),
            (
                "42m".to_owned(),
                "ErrorRateHysteresis",
                Transition::ToResolved
            ),
            (
                "43m".to_owned(),
                "ErrorRateHysteresis",
                Transition::ToInactive
            ),
        ]
    );
}

#[test]
fn mismatches_say_when_what_was_expected_and_what_happened() {
    let r = report(&format!(
        "{}{}",
        expect("10m", "ErrorRateHysteresis", "pending"),
        expect("3m", "ErrorRateKeepFiring", "pending")
    ));
    assert_eq!((r.checks, r.passed, r.failed), (2, 1, 1));
    assert_eq!(
        r.mismatches[0].to_string(),
        "at 10m: expected ErrorRateHysteresis pending, got firing"
    );
    assert!(!r.ok());
    assert!(
        r.to_string().ends_with("2 checks: 1 passed, 1 failed"),
        "{r}"
    );
}

#[test]
fn labels_and_annotations_are_checked_as_subsets() {
    let ok = r#"
[[tests]]
eval_time = "10m"
[[tests.alerts]]
rule = "ErrorRateHysteresis"
labels = { team = "ops", severity = "critical", alertname = "ErrorRateHysteresis" }
annotations = { summary = "5xx error rate 10%" }
"#;
    let r = report(ok);
    assert!(r.ok(), "{r}");
    let bad = r#"
[[tests]]
eval_time = "10m"
[[tests.alerts]]
rule = "ErrorRateHysteresis"
labels = { team = "web", owner = "x" }
annotations = { summary = "5xx error rate 9%" }
"#;
    let r = report(bad);
    assert_eq!((r.checks, r.failed), (1, 1));
    let msgs: Vec<String> = r.mismatches.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        vec![
            "at 10m: ErrorRateHysteresis label owner: expected `x`, got none",
            "at 10m: ErrorRateHysteresis label team: expected `web`, got `ops`",
            "at 10m: ErrorRateHysteresis annotation summary: expected `5xx error rate 9%`, got `5xx error rate 10%`",
        ]
    );
}

#[test]
fn an_eval_time_between_evaluations_sees_the_latest_one() {
    let tests: String = [
        ("5m30s", "pending"),
        ("6m", "pending"),
        ("7m59s", "pending"),
        ("8m", "firing"),
    ]
    .iter()
    .map(|(at, state)| expect(at, "ErrorRateHysteresis", state))
    .collect();
    // Evaluations at 0, 2, 4, 6, 8 m: pending from 2 m, firing at 8 m (held 6 m >= 5 m).
    let file = format!("evaluation_interval = \"2m\"\n{SERIES}\n{tests}");
    let r = run(RULES, &file).expect("valid");
    assert!(r.ok(), "{r}");
}

#[test]
fn the_default_rules_fire_on_their_thresholds_and_not_on_absence() {
    let test = r#"
interval = "1m"
[[input_series]]
series = "system_disk_used_bytes"
values = "95x20"
[[input_series]]
series = "system_disk_total_bytes"
values = "100x20"
[[input_series]]
series = "system_cpu_usage_ratio"
values = "0.5x20"
[[input_series]]
series = 'legalops_security_events_total{kind="audit_tamper", severity="critical"}'
values = "0x9 1x10"

[[tests]]
eval_time = "0s"
alerts = [ { rule = "Watchdog", labels = { severity = "none" } }, { rule = "DiskAlmostFull", state = "pending" } ]

[[tests]]
eval_time = "5m"
alerts = [
  { rule = "DiskAlmostFull", annotations = { summary = "Data disk 95% full (critical above 90 %)" } },
  { rule = "HighCpuUsage", state = "inactive" },
  { rule = "CertificateExpiringSoon", state = "inactive" },
  { rule = "DatabaseDown", state = "inactive" },
  { rule = "SecurityBreach", state = "inactive" },
]

[[tests]]
eval_time = "10m"
alerts = [ { rule = "SecurityBreach" } ]
"#;
    let r = run(default_rules(), test).expect("valid");
    assert!(r.ok(), "{r}");
}

#[test]
fn a_stale_marker_or_a_gap_makes_no_data() {
    let rules = "[[rules]]\nname = \"Up\"\nexpr = 'up == 1'\nseverity = \"info\"\n";
    let test = r#"
[[input_series]]
series = "up"
values = "1 1 stale 1 _x10"
[[tests]]
eval_time = "1m"
alerts = [ { rule = "Up" } ]
[[tests]]
eval_time = "2m"
alerts = [ { rule = "Up", state = "resolved" } ]
[[tests]]
eval_time = "3m"
alerts = [ { rule = "Up" } ]
# The sample at 3 m stays current for 5 minutes, then the series has no data.
[[tests]]
eval_time = "7m"
alerts = [ { rule = "Up" } ]
[[tests]]
eval_time = "8m"
alerts = [ { rule = "Up", state = "resolved" } ]
[[tests]]
eval_time = "9m"
alerts = [ { rule = "Up", state = "inactive" } ]
"#;
    let r = run(rules, test).expect("valid");
    assert!(r.ok(), "{r}");
}

fn refused(rules: &str, test: &str) -> (String, String) {
    match run(rules, test) {
        Err(Error::InvalidConfig { key, message }) => (key, message),
        other => panic!("should be refused: {other:?}"),
    }
}

#[test]
fn malformed_test_files_are_refused_naming_the_key() {
    let (key, msg) = refused(
        RULES,
        "[[tests]]\neval_time = \"1m\"\nalerts = [ { rule = \"Nope\" } ]\n",
    );
    assert_eq!(key, "tests[0].alerts[0].rule");
    assert!(msg.contains("`Nope`"), "{msg}");
    let (key, _) = refused(
        RULES,
        "[[input_series]]\nseries = 'x{a=~\"b\"}'\nvalues = \"1\"\n",
    );
    assert_eq!(key, "input_series[0].series");
    let (key, msg) = refused(
        RULES,
        "[[input_series]]\nseries = 'x'\nvalues = \"1 two\"\n",
    );
    assert_eq!(key, "input_series[0].values");
    assert!(msg.contains("`two`"), "{msg}");
    let (key, _) = refused(RULES, "[[tests]]\neval_time = \"soon\"\n");
    assert_eq!(key, "tests[0].eval_time");
    let (key, _) = refused(RULES, "interval = \"0s\"\n");
    assert_eq!(key, "interval");
    let (key, _) = refused(RULES, "evaluation_interval = \"1000d\"\n");
    assert_eq!(key, "evaluation_interval");
    let (key, _) = refused(
        RULES,
        "evaluation_interval = \"1ms\"\n[[tests]]\neval_time = \"1d\"\n",
    );
    assert_eq!(key, "evaluation_interval");
    let (key, _) = refused(RULES, "unknown = 1\n");
    assert_eq!(key, "rule test file");
    let (key, _) = refused(
        "[[rules]]\nname = \"A\"\nexpr = \"(\"\nseverity = \"info\"\n",
        "",
    );
    assert_eq!(key, "rules[0] (A).expr");
}

#[test]
fn an_empty_test_file_checks_nothing() {
    let r = run(RULES, "").expect("valid");
    assert_eq!((r.checks, r.ok()), (0, true));
}
