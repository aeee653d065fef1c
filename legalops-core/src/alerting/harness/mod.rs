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

mod values;
use values::{Value, expand};

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
mod tests;
