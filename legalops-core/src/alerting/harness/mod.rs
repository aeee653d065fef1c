//! The rule test harness behind `legalops alerts test FILE`, in the manner of `promtool
//! test rules`: a test file gives input series over time and the alerts expected at given
//! instants; [`run`] evaluates the rules over them from time 0 and reports every mismatch.
//! Pure: it takes the files' text, the CLI reads them.
//!
//! ```toml
//! interval = "1m"                 # step between input values (default 1m)
//! evaluation_interval = "1m"      # step between rule evaluations (default: interval)
//!
//! [[input_series]]
//! series = 'http_requests_total{status="2xx"}'
//! values = "0+90x60"              # 0, 90, 180, ... (61 values, one per interval)
//!
//! [[input_series]]
//! series = 'http_requests_total{status="5xx"}'
//! values = "0+10x20 204+4x19 _ stale"
//!
//! [[tests]]
//! eval_time = "10m"
//! [[tests.alerts]]
//! rule = "HighErrorRate"
//! state = "firing"                # firing (default) | pending | resolved | inactive
//! labels = { severity = "critical" }               # must be among the alert's labels
//! annotations = { summary = "5xx error rate 10%" } # must equal the rendered text
//! ```
//!
//! Values use promtool's expanding notation, separated by spaces: `a+bxn` is `a, a+b, ...,
//! a+n*b` (n+1 values), `a-bxn` counts down, `axn` repeats `a` n+1 times, `_` is a missing
//! sample, `_xn` n missing samples, `stale` ends the series (Prometheus' staleness marker).
//! Value i is at `i * interval` from time 0. Histograms are fed as their `NAME_bucket{le}`,
//! `NAME_count` and `NAME_sum` series, as Prometheus exposes them.
//!
//! A test checks the rules it lists, as of the latest evaluation at or before `eval_time`
//! (a rule that is not listed is not checked). `resolved` is the state of the one
//! evaluation at which a firing alert clears; `inactive` also covers "never evaluated".

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::expr::{MemorySeries, parse_series};
use super::rule::{RuleFile, format_duration, parse_duration};
use super::state::{Transition, step};
use super::{AlertState, RuleStateRecord};
use crate::error::{Error, Result};

/// Most samples one input series may expand to, and most evaluations of one run: a typo
/// such as `0+1x100000000` is refused rather than exhausting memory.
pub const MAX_STEPS: u64 = 100_000;

/// Longest `interval` / `evaluation_interval`: a year, so offsets stay well inside time's
/// range.
const MAX_INTERVAL: Duration = Duration::from_secs(365 * 86_400);

/// A rule test file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTestFile {
    /// Step between input values (default `1m`).
    #[serde(default)]
    pub interval: Option<String>,
    /// Step between evaluations (default: `interval`).
    #[serde(default)]
    pub evaluation_interval: Option<String>,
    /// The input series.
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    /// The expectations.
    #[serde(default)]
    pub tests: Vec<RuleTest>,
}

/// One input series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    /// `name{label="value", ...}`
    pub series: String,
    /// Values in promtool's expanding notation.
    pub values: String,
}

/// The alerts expected at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// When, from time 0 (`10m`).
    pub eval_time: String,
    /// The expected alerts.
    #[serde(default)]
    pub alerts: Vec<ExpectedAlert>,
}

/// One expected alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAlert {
    /// The rule's name.
    pub rule: String,
    /// Its expected state (default `firing`).
    #[serde(default = "firing")]
    pub state: AlertState,
    /// Labels the alert must have (a subset).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations the alert must have, as rendered (a subset).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

fn firing() -> AlertState {
    AlertState::Firing
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The test's `eval_time`.
    pub at: Duration,
    /// The rule.
    pub rule: String,
    /// What differed (`expected HighErrorRate firing, got pending`).
    pub message: String,
}

impl Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", format_duration(self.at), self.message)
    }
}

/// A state change during the run, for explaining a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionAt {
    /// When, from time 0.
    pub at: Duration,
    /// The rule.
    pub rule: String,
    /// The change.
    #[serde(skip)]
    pub transition: Transition,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HarnessReport {
    /// Expectations checked (one per expected alert).
    pub checks: usize,
    /// Of which held.
    pub passed: usize,
    /// Of which did not.
    pub failed: usize,
    /// Every expectation that did not hold, in time order.
    pub mismatches: Vec<Mismatch>,
    /// Every state change, in time order.
    pub transitions: Vec<TransitionAt>,
}

impl HarnessReport {
    /// Whether every expectation held.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

impl Display for HarnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.mismatches {
            writeln!(f, "FAIL {m}")?;
        }
        write!(
            f,
            "{} checks: {} passed, {} failed",
            self.checks, self.passed, self.failed
        )
    }
}

/// One expanded input value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Sample(f64),
    Missing,
    Stale,
}

/// Expands promtool's notation (`0+10x20 _ stale 5x3 _x2`).
fn expand(values: &str) -> std::result::Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for tok in values.split_whitespace() {
        let more = match tok {
            "_" => vec![Value::Missing],
            "stale" => vec![Value::Stale],
            _ if tok.starts_with("_x") => {
                let n = steps(&tok[2..], tok)?;
                vec![Value::Missing; n as usize]
            }
            _ => match tok.rsplit_once('x') {
                None => vec![Value::Sample(number(tok, tok)?)],
                Some((lhs, n)) => {
                    let n = steps(n, tok)?;
                    // The operator is the first '+'/'-' past the start that is not an
                    // exponent's sign (`1e-3+1x2`).
                    let b = lhs.as_bytes();
                    let op = (1..b.len()).find(|&i| {
                        (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E')
                    });
                    let (a, step) = match op {
                        None => (number(lhs, tok)?, 0.0),
                        Some(i) => {
                            let step = number(&lhs[i + 1..], tok)?;
                            let a = number(&lhs[..i], tok)?;
                            (a, if b[i] == b'-' { -step } else { step })
                        }
                    };
                    (0..=n)
                        .map(|i| Value::Sample(a + step * i as f64))
                        .collect()
                }
            },
        };
        out.extend(more);
        if out.len() as u64 > MAX_STEPS {
            return Err(format!("expands to more than {MAX_STEPS} values"));
        }
    }
    Ok(out)
}

fn steps(n: &str, tok: &str) -> std::result::Result<u64, String> {
    match n.parse::<u64>() {
        Ok(n) if n <= MAX_STEPS => Ok(n),
        Ok(_) => Err(format!("`{tok}` expands to more than {MAX_STEPS} values")),
        Err(_) => Err(format!(
            "`{tok}`: the count after `x` must be a whole number"
        )),
    }
}

fn number(s: &str, tok: &str) -> std::result::Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| !v.is_nan())
        .ok_or_else(|| {
            format!("`{tok}` is not a value (a number, a+bxn, a-bxn, axn, _, _xn or stale)")
        })
}

fn duration_at(key: &str, text: &str) -> Result<Duration> {
    parse_duration(text).map_err(|e| Error::invalid_config(key, e.to_string()))
}

fn at(offset: Duration) -> OffsetDateTime {
    // Offsets are bounded by MAX_STEPS intervals of a parsed duration; saturate rather
    // than panic on an absurd interval.
    time::Duration::try_from(offset)
        .ok()
        .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_add(d))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Runs the rule tests in `test_toml` against the rules in `rules_toml` (a rule file).
/// `Err` when either file is malformed (naming the key); mismatches are in the report.
pub fn run(rules_toml: &str, test_toml: &str) -> Result<HarnessReport> {
    let rules = RuleFile::parse(rules_toml, "rules")?;
    let file: RuleTestFile = toml::from_str(test_toml)
        .map_err(|e| Error::invalid_config("rule test file", e.to_string()))?;
    let interval = duration_at("interval", file.interval.as_deref().unwrap_or("1m"))?;
    let eval_interval = match &file.evaluation_interval {
        Some(s) => duration_at("evaluation_interval", s)?,
        None => interval,
    };
    for (key, d) in [
        ("interval", interval),
        ("evaluation_interval", eval_interval),
    ] {
        if d.is_zero() || d > MAX_INTERVAL {
            return Err(Error::invalid_config(
                key,
                "must be longer than 0 and at most 365d",
            ));
        }
    }

    let mut series = MemorySeries::new();
    for (i, input) in file.input_series.iter().enumerate() {
        let (name, labels) = parse_series(&input.series).map_err(|e| {
            Error::invalid_config(format!("input_series[{i}].series"), e.to_string())
        })?;
        let values = expand(&input.values)
            .map_err(|m| Error::invalid_config(format!("input_series[{i}].values"), m))?;
        for (k, v) in values.into_iter().enumerate() {
            let t = at(interval.saturating_mul(k as u32));
            match v {
                Value::Sample(x) => series.push(&name, labels.clone(), t, x),
                Value::Stale => series.push_stale(&name, labels.clone(), t),
                Value::Missing => {}
            }
        }
    }

    let mut tests = Vec::with_capacity(file.tests.len());
    for (i, test) in file.tests.iter().enumerate() {
        let when = duration_at(&format!("tests[{i}].eval_time"), &test.eval_time)?;
        for (j, a) in test.alerts.iter().enumerate() {
            if !rules.iter().any(|r| r.name == a.rule) {
                return Err(Error::invalid_config(
                    format!("tests[{i}].alerts[{j}].rule"),
                    format!("no rule named `{}` in the rules", a.rule),
                ));
            }
        }
        tests.push((when, test));
    }
    tests.sort_by_key(|(when, _)| *when);
    let last = tests.last().map_or(Duration::ZERO, |(w, _)| *w);
    let evaluations = last.as_millis() / eval_interval.as_millis().max(1) + 1;
    if evaluations > u128::from(MAX_STEPS) {
        return Err(Error::invalid_config(
            "evaluation_interval",
            format!(
                "{evaluations} evaluations up to {} (at most {MAX_STEPS})",
                format_duration(last)
            ),
        ));
    }

    let mut states: BTreeMap<String, RuleStateRecord> = BTreeMap::new();
    let mut report = HarnessReport {
        checks: 0,
        passed: 0,
        failed: 0,
        mismatches: Vec::new(),
        transitions: Vec::new(),
    };
    let mut pending = tests.into_iter().peekable();
    // `evaluations` is at most MAX_STEPS, so the cast is lossless.
    for k in 0..evaluations as u32 {
        let offset = eval_interval.saturating_mul(k);
        let now = at(offset);
        for rule in &rules {
            let input = rule.evaluate(&series, now);
            let (record, tr) = step(&rule.timing(), states.get(&rule.name), &rule.name, &input);
            if let Some(transition) = tr {
                report.transitions.push(TransitionAt {
                    at: offset,
                    rule: rule.name.clone(),
                    transition,
                });
            }
            states.insert(rule.name.clone(), record);
        }
        let next_offset = eval_interval.saturating_mul(k + 1);
        // Check every test whose instant falls before the next evaluation.
        while let Some((when, test)) = pending.next_if(|(w, _)| *w < next_offset) {
            for expected in &test.alerts {
                check(&mut report, when, expected, states.get(&expected.rule));
            }
        }
    }
    Ok(report)
}

fn check(
    report: &mut HarnessReport,
    when: Duration,
    expected: &ExpectedAlert,
    got: Option<&RuleStateRecord>,
) {
    let state = got.map_or(AlertState::Inactive, |r| r.state);
    let mut problems = Vec::new();
    if state != expected.state {
        problems.push(format!(
            "expected {} {}, got {}",
            expected.rule,
            name(expected.state),
            name(state)
        ));
    } else if let Some(r) = got {
        let subsets = [
            ("label", &expected.labels, &r.labels),
            ("annotation", &expected.annotations, &r.annotations),
        ];
        for (what, want, have) in subsets {
            for (k, v) in want {
                match have.get(k) {
                    Some(h) if h == v => {}
                    Some(h) => problems.push(format!(
                        "{} {what} {k}: expected `{v}`, got `{h}`",
                        expected.rule
                    )),
                    None => problems.push(format!(
                        "{} {what} {k}: expected `{v}`, got none",
                        expected.rule
                    )),
                }
            }
        }
    }
    report.checks += 1;
    if problems.is_empty() {
        report.passed += 1;
    } else {
        report.failed += 1;
        report
            .mismatches
            .extend(problems.into_iter().map(|message| Mismatch {
                at: when,
                rule: expected.rule.clone(),
                message,
            }));
    }
}

fn name(s: AlertState) -> &'static str {
    match s {
        AlertState::Inactive => "inactive",
        AlertState::Pending => "pending",
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    }
}

#[cfg(test)]
mod tests {
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
    fn values_expand_like_promtool() {
        use Value::{Missing, Sample, Stale};
        assert_eq!(
            expand("0+10x2").ok(),
            Some(vec![Sample(0.0), Sample(10.0), Sample(20.0)])
        );
        assert_eq!(
            expand("5-2x2").ok(),
            Some(vec![Sample(5.0), Sample(3.0), Sample(1.0)])
        );
        assert_eq!(expand("-1+1x1").ok(), Some(vec![Sample(-1.0), Sample(0.0)]));
        assert_eq!(
            expand("1e-3+1x1").ok(),
            Some(vec![Sample(0.001), Sample(1.001)])
        );
        assert_eq!(expand("7x2").ok(), Some(vec![Sample(7.0); 3]));
        assert_eq!(
            expand("_ _x2 stale 4").ok(),
            Some(vec![Missing, Missing, Missing, Stale, Sample(4.0)])
        );
        assert_eq!(expand("").ok(), Some(vec![]));
        for bad in [
            "x",
            "1+x2",
            "1+1x",
            "1+1x-2",
            "abc",
            "1+1x99999999999",
            "0+1x60000 0+1x60000",
            "NaN",
        ] {
            assert!(expand(bad).is_err(), "{bad}");
        }
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
}
