//! Alert rules: their TOML form ([`RuleConfig`], [`RuleFile`]), the compiled [`Rule`] the
//! evaluator runs, annotation templating ([`render`]) and the rules that ship
//! ([`default_rules`]).
//!
//! ```toml
//! [[rules]]
//! name = "HighErrorRate"                   # unique; becomes label alertname
//! expr = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 > 5'
//! for = "5m"                               # pending this long before firing (default 0)
//! keep_firing_for = "10m"                  # keep firing this long after the condition clears
//! recover = 'rate(http_requests_total{status="5xx"}[5m]) / rate(http_requests_total[5m]) * 100 < 3'
//! severity = "critical"                    # critical | warning | info | none
//! labels = { team = "ops" }
//! annotations = { summary = "5xx error rate {{ $value }}% over 5 m" }
//! ```
//!
//! Loading refuses, naming the rule (`rules[3] (HighErrorRate).expr`): an expression that
//! does not parse, a duplicate name, a `recover` that is not a condition, a template
//! variable or label that does not exist, and (with [`Rule::check_metrics`], once the
//! known metrics are) a metric nobody records. Labels are identity and are not templated.

mod duration;
mod template;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::expr::{Expr, STALENESS, SeriesSource};
use super::state::{RuleTiming, StepInput};
use crate::alerts::Severity;
use crate::error::{Error, Result};
use crate::metrics::Labels;

pub use duration::{format_duration, parse_duration};
pub use template::{format_value, render};

/// The rules that ship: every threshold of the runbook and the plan, over the metric
/// names the platform records (see the comments in the file for what each one watches).
pub fn default_rules() -> &'static str {
    include_str!("../default-rules.toml")
}

/// How bad a rule's alert is; becomes label `severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSeverity {
    /// Respond immediately; opens an incident.
    Critical,
    /// Respond within an hour.
    Warning,
    /// Monitor and log.
    Info,
    /// Not a problem report (the Watchdog).
    None,
}

impl RuleSeverity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSeverity::Critical => "critical",
            RuleSeverity::Warning => "warning",
            RuleSeverity::Info => "info",
            RuleSeverity::None => "none",
        }
    }

    /// The alert severity, `None` for [`RuleSeverity::None`].
    pub fn alert_severity(self) -> Option<Severity> {
        match self {
            RuleSeverity::Critical => Some(Severity::Critical),
            RuleSeverity::Warning => Some(Severity::Warning),
            RuleSeverity::Info => Some(Severity::Info),
            RuleSeverity::None => None,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Critical, Self::Warning, Self::Info, Self::None]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One rule as written in a rule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique name; becomes label `alertname`.
    pub name: String,
    /// The condition (or a bare value, true when non-zero).
    pub expr: String,
    /// How long the condition must hold before firing (`5m`; default 0: at once).
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// How long to keep firing after the condition clears (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    /// A condition that must hold before a firing alert resolves (hysteresis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover: Option<String>,
    /// `critical`, `warning`, `info` or `none` (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Extra identity labels (not templated).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Text, templated with `{{ $value }}` and `{{ $labels.NAME }}`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A rule file: `[[rules]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules, in file order.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// A rule, checked and compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique name (label `alertname`).
    pub name: String,
    /// The condition.
    pub expr: Expr,
    /// The recovery condition, if any.
    pub recover: Option<Expr>,
    /// Pending time before firing.
    pub for_: Duration,
    /// Firing time kept after the condition clears.
    pub keep_firing_for: Duration,
    /// Label `severity`.
    pub severity: RuleSeverity,
    /// The rule's own labels (without `alertname` and `severity`: see [`Rule::labels`]).
    pub extra_labels: Labels,
    /// Annotation templates.
    pub annotations: BTreeMap<String, String>,
    // `rules[3] (Name)` and the file, for errors found after loading.
    key: String,
    origin: String,
}

fn valid_label_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn valid_rule_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c))
}

// An error's message without the kind's prefix, to re-key it under the rule.
fn message_of(e: Error) -> String {
    match e {
        Error::InvalidInput { message, .. } | Error::InvalidConfig { message, .. } => message,
        other => other.to_string(),
    }
}

impl RuleFile {
    /// Parses and compiles a rule file; `origin` (a path, `default-rules.toml`) is named
    /// in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Vec<Rule>> {
        let file: RuleFile = toml::from_str(text)
            .map_err(|e| Error::invalid_config("rules", format!("{origin}: {e}")))?;
        file.compile(origin)
    }

    /// Compiles the rules (e.g. when they come from another configuration file).
    pub fn compile(&self, origin: &str) -> Result<Vec<Rule>> {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.rules.len());
        for (i, cfg) in self.rules.iter().enumerate() {
            let rule = Rule::compile(i, cfg, origin)?;
            if let Some(first) = seen.insert(&cfg.name, i) {
                return Err(Error::invalid_config(
                    format!("{}.name", rule.key),
                    format!("duplicate of rules[{first}] (in {origin})"),
                ));
            }
            out.push(rule);
        }
        Ok(out)
    }
}

impl Rule {
    /// Checks and compiles rule number `index` of `origin`.
    pub fn compile(index: usize, cfg: &RuleConfig, origin: &str) -> Result<Rule> {
        if !valid_rule_name(&cfg.name) {
            return Err(Error::invalid_config(
                format!("rules[{index}].name"),
                format!(
                    "`{}` is not a rule name (1 to 200 of A-Z a-z 0-9 _ : . -) (in {origin})",
                    cfg.name
                ),
            ));
        }
        let key = format!("rules[{index}] ({})", cfg.name);
        let err = |field: &str, message: String| {
            Error::invalid_config(format!("{key}.{field}"), format!("{message} (in {origin})"))
        };
        let expr = Expr::parse(&cfg.expr).map_err(|e| err("expr", message_of(e)))?;
        let recover = match &cfg.recover {
            None => None,
            Some(text) => {
                let e = Expr::parse(text).map_err(|e| err("recover", message_of(e)))?;
                if !e.is_condition() {
                    return Err(err(
                        "recover",
                        format!(
                            "`{text}` is a value, not a condition: compare it (e.g. `... < 3`)"
                        ),
                    ));
                }
                Some(e)
            }
        };
        let duration = |field: &str, v: &Option<String>| match v {
            None => Ok(Duration::ZERO),
            Some(s) => parse_duration(s).map_err(|e| err(field, message_of(e))),
        };
        let for_ = duration("for", &cfg.for_)?;
        let keep_firing_for = duration("keep_firing_for", &cfg.keep_firing_for)?;
        let severity = match &cfg.severity {
            None => {
                return Err(err(
                    "severity",
                    "is required: critical, warning, info or none".into(),
                ));
            }
            Some(s) => RuleSeverity::parse(s).ok_or_else(|| {
                err(
                    "severity",
                    format!("`{s}` is not one of critical, warning, info, none"),
                )
            })?,
        };
        for (name, value) in &cfg.labels {
            if !valid_label_name(name) {
                return Err(err(
                    &format!("labels.{name}"),
                    "not a label name ([a-zA-Z_][a-zA-Z0-9_]*)".into(),
                ));
            }
            if name == "alertname" || name == "severity" {
                return Err(err(
                    &format!("labels.{name}"),
                    format!(
                        "is set from the rule's {}",
                        if name == "alertname" {
                            "name"
                        } else {
                            "severity"
                        }
                    ),
                ));
            }
            if value.contains("{{") {
                return Err(err(
                    &format!("labels.{name}"),
                    "labels are identity and are not templated".into(),
                ));
            }
        }
        let rule = Rule {
            name: cfg.name.clone(),
            expr,
            recover,
            for_,
            keep_firing_for,
            severity,
            extra_labels: cfg.labels.clone(),
            annotations: cfg.annotations.clone(),
            key: key.clone(),
            origin: origin.to_owned(),
        };
        let labels = rule.labels();
        for (name, text) in &rule.annotations {
            template::check(text, &labels)
                .map_err(|e| err(&format!("annotations.{name}"), message_of(e)))?;
        }
        Ok(rule)
    }

    /// The alert's identity: the rule's labels plus `alertname` and `severity`.
    pub fn labels(&self) -> Labels {
        let mut l = self.extra_labels.clone();
        l.insert("alertname".to_owned(), self.name.clone());
        l.insert("severity".to_owned(), self.severity.as_str().to_owned());
        l
    }

    /// What the state machine needs of the rule.
    pub fn timing(&self) -> RuleTiming {
        RuleTiming {
            for_: self.for_,
            keep_firing_for: self.keep_firing_for,
            has_recover: self.recover.is_some(),
        }
    }

    /// Refuses the rule if its expressions name a metric `known` does not know, naming the
    /// rule and the metric. A histogram's `_sum`, `_count` and `_bucket` series are known
    /// when the histogram is (registries know histograms by their base name).
    pub fn check_metrics(&self, known: &dyn Fn(&str) -> bool) -> Result<()> {
        let is_known = |name: &str| {
            known(name)
                || ["_sum", "_count", "_bucket"]
                    .iter()
                    .any(|s| name.strip_suffix(s).is_some_and(known))
        };
        for (field, e) in [
            ("expr", Some(&self.expr)),
            ("recover", self.recover.as_ref()),
        ] {
            let Some(e) = e else { continue };
            if let Some(unknown) = e.metric_names().into_iter().find(|n| !is_known(n)) {
                return Err(Error::invalid_config(
                    format!("{}.{field}", self.key),
                    format!("unknown metric `{unknown}` (in {})", self.origin),
                ));
            }
        }
        Ok(())
    }

    /// How much history the rule reads: its longest range window plus the staleness
    /// window (keep at least this much in the [`SeriesSource`]).
    pub fn lookback(&self) -> Duration {
        let recover = self
            .recover
            .as_ref()
            .map_or(Duration::ZERO, Expr::max_window);
        self.expr.max_window().max(recover) + STALENESS
    }

    /// The annotations rendered with `value`. Templates were checked at load, so a
    /// failure cannot happen; were it to, the template text is kept rather than lost.
    pub fn render_annotations(&self, value: Option<f64>) -> BTreeMap<String, String> {
        let labels = self.labels();
        self.annotations
            .iter()
            .map(|(k, t)| {
                (
                    k.clone(),
                    render(t, value, &labels).unwrap_or_else(|_| t.clone()),
                )
            })
            .collect()
    }

    /// Evaluates the rule (condition, recovery, value, rendered text) at `at`: the input
    /// of one [`super::state::step`].
    pub fn evaluate(&self, src: &dyn SeriesSource, at: OffsetDateTime) -> StepInput {
        let out = self.expr.eval(src, at);
        StepInput {
            at,
            condition: out.holds(),
            recovered: self.recover.as_ref().map(|r| r.eval(src, at).holds()),
            value: out.value,
            labels: self.labels(),
            annotations: self.render_annotations(out.value),
        }
    }
}

#[cfg(test)]
mod tests;
