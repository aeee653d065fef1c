//! Inhibition (Alertmanager semantics): a firing alert matching a rule's `source` mutes the
//! alerts matching its `target` that carry the same values for the `equal` labels. The
//! default: a firing critical alert mutes the warning of the same alertname and instance,
//! so a page is not followed by a redundant warning about the same thing.

use serde::{Deserialize, Serialize};

use super::matchers::{CompiledMatchers, compile, is_label_name};
use crate::alerting::{MatchOp, Matcher};
use crate::error::{Error, Result};
use crate::metrics::Labels;

/// One inhibition rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InhibitRule {
    /// What a firing alert must match to inhibit.
    pub source: Vec<Matcher>,
    /// What an alert must match to be inhibited.
    pub target: Vec<Matcher>,
    /// Labels that must have equal values on source and target (missing = empty string,
    /// so a label missing on both sides counts as equal).
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// The shipped rule: `severity="critical"` mutes `severity="warning"` with equal
    /// `alertname` and `instance`.
    pub fn default_rules() -> Vec<InhibitRule> {
        let severity = |value: &str| Matcher {
            name: "severity".to_owned(),
            op: MatchOp::Equal,
            value: value.to_owned(),
        };
        vec![InhibitRule {
            source: vec![severity("critical")],
            target: vec![severity("warning")],
            equal: vec!["alertname".to_owned(), "instance".to_owned()],
        }]
    }
}

/// Checks configured rules: matchers compile and `equal` names are label names.
/// `InvalidConfig` naming the rule (`alerting.inhibit_rules[1].target`).
pub fn validate_inhibit_rules(rules: &[InhibitRule]) -> Result<()> {
    compile_rules(rules).map(|_| ())
}

/// Whether `alert_labels` is muted by one of the `firing` alerts under `rules`. An alert
/// never inhibits itself (a source with the very same labels is skipped). A rule whose
/// matchers do not compile (refused by [`validate_inhibit_rules`]) inhibits nothing.
pub fn inhibited(alert_labels: &Labels, firing: &[Labels], rules: &[InhibitRule]) -> bool {
    let compiled: Vec<CompiledRule<'_>> = rules
        .iter()
        .filter_map(|r| CompiledRule::new(r).ok())
        .collect();
    inhibitor(&compiled, alert_labels, firing).is_some()
}

/// A rule with its matchers compiled.
pub(super) struct CompiledRule<'a> {
    source: CompiledMatchers,
    target: CompiledMatchers,
    equal: &'a [String],
}

impl<'a> CompiledRule<'a> {
    fn new(rule: &'a InhibitRule) -> Result<Self> {
        Ok(Self {
            source: compile(&rule.source)?,
            target: compile(&rule.target)?,
            equal: &rule.equal,
        })
    }
}

/// Compiles every rule, refusing the first broken one with `InvalidConfig`.
pub(super) fn compile_rules(rules: &[InhibitRule]) -> Result<Vec<CompiledRule<'_>>> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = |part: &str| format!("alerting.inhibit_rules[{i}].{part}");
            let as_config = |part: &str, e: Error| match e {
                Error::InvalidInput { field, message } => {
                    Error::invalid_config(key(part), format!("{field}: {message}"))
                }
                other => other,
            };
            let source = compile(&r.source).map_err(|e| as_config("source", e))?;
            let target = compile(&r.target).map_err(|e| as_config("target", e))?;
            if let Some(bad) = r.equal.iter().find(|n| !is_label_name(n)) {
                return Err(Error::invalid_config(
                    key("equal"),
                    format!("{bad:?} is not a label name"),
                ));
            }
            Ok(CompiledRule {
                source,
                target,
                equal: &r.equal,
            })
        })
        .collect()
}

/// The first firing alert that inhibits `alert`, if any.
pub(super) fn inhibitor<'f>(
    rules: &[CompiledRule<'_>],
    alert: &Labels,
    firing: &'f [Labels],
) -> Option<&'f Labels> {
    let value =
        |labels: &Labels, name: &str| labels.get(name).map_or("", String::as_str).to_owned();
    rules
        .iter()
        .filter(|r| r.target.matches(alert))
        .find_map(|r| {
            firing.iter().find(|source| {
                *source != alert
                    && r.source.matches(source)
                    && r.equal.iter().all(|n| value(source, n) == value(alert, n))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn default_rule_cases() {
        let rules = InhibitRule::default_rules();
        let warning = labels(&[
            ("alertname", "Disk"),
            ("instance", "db-1"),
            ("severity", "warning"),
        ]);
        let critical_same = labels(&[
            ("alertname", "Disk"),
            ("instance", "db-1"),
            ("severity", "critical"),
        ]);
        let critical_other_instance = labels(&[
            ("alertname", "Disk"),
            ("instance", "db-2"),
            ("severity", "critical"),
        ]);
        let critical_other_name = labels(&[
            ("alertname", "Cpu"),
            ("instance", "db-1"),
            ("severity", "critical"),
        ]);
        let warning_no_instance = labels(&[("alertname", "Disk"), ("severity", "warning")]);
        let critical_no_instance = labels(&[("alertname", "Disk"), ("severity", "critical")]);
        let critical_empty_instance = labels(&[
            ("alertname", "Disk"),
            ("instance", ""),
            ("severity", "critical"),
        ]);
        let info = labels(&[
            ("alertname", "Disk"),
            ("instance", "db-1"),
            ("severity", "info"),
        ]);

        let cases: Vec<(&str, &Labels, Vec<Labels>, bool)> = vec![
            (
                "critical mutes the matching warning",
                &warning,
                vec![critical_same.clone()],
                true,
            ),
            (
                "other instance does not",
                &warning,
                vec![critical_other_instance.clone()],
                false,
            ),
            (
                "other alertname does not",
                &warning,
                vec![critical_other_name],
                false,
            ),
            ("nothing firing, nothing muted", &warning, vec![], false),
            (
                "a warning does not mute a warning",
                &warning,
                vec![warning.clone()],
                false,
            ),
            (
                "critical is not a target",
                &critical_same,
                vec![critical_same.clone()],
                false,
            ),
            (
                "info is not a target",
                &info,
                vec![critical_same.clone()],
                false,
            ),
            (
                "instance missing on both counts as equal",
                &warning_no_instance,
                vec![critical_no_instance],
                true,
            ),
            (
                "missing equals empty",
                &warning_no_instance,
                vec![critical_empty_instance],
                true,
            ),
            (
                "missing on one side only is not equal",
                &warning_no_instance,
                vec![critical_same.clone()],
                false,
            ),
            (
                "any of several sources is enough",
                &warning,
                vec![critical_other_instance, critical_same.clone()],
                true,
            ),
        ];
        for (name, alert, firing, want) in cases {
            assert_eq!(inhibited(alert, &firing, &rules), want, "{name}");
        }
    }

    #[test]
    fn an_alert_never_inhibits_itself() {
        // A rule whose source and target both match the same alert.
        let any = |v: &str| Matcher {
            name: "alertname".into(),
            op: MatchOp::Regex,
            value: v.into(),
        };
        let rules = vec![InhibitRule {
            source: vec![any(".+")],
            target: vec![any(".+")],
            equal: vec!["alertname".into()],
        }];
        let a = labels(&[("alertname", "X"), ("instance", "1")]);
        let b = labels(&[("alertname", "X"), ("instance", "2")]);
        assert!(!inhibited(&a, std::slice::from_ref(&a), &rules));
        assert!(
            inhibited(&a, &[a.clone(), b], &rules),
            "another alert still does"
        );
    }

    #[test]
    fn broken_rules_are_refused_naming_the_rule() {
        let mut rules = InhibitRule::default_rules();
        validate_inhibit_rules(&rules).expect("defaults are valid");
        rules.push(InhibitRule {
            source: vec![],
            target: vec![Matcher {
                name: "severity".into(),
                op: MatchOp::Regex,
                value: "(".into(),
            }],
            equal: vec![],
        });
        match validate_inhibit_rules(&rules) {
            Err(Error::InvalidConfig { key, message }) => {
                assert_eq!(key, "alerting.inhibit_rules[1].target");
                assert!(message.contains("matchers[0].value"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        rules[1].target.clear();
        rules[1].equal = vec!["bad-name".into()];
        assert!(matches!(
            validate_inhibit_rules(&rules),
            Err(Error::InvalidConfig { ref key, .. }) if key == "alerting.inhibit_rules[1].equal"
        ));
    }
}
