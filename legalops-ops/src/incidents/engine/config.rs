//! The incident engine's configuration: the acknowledgement timeout and the escalation
//! policies, with defaults taken from the runbook and the checks run when the engine is
//! built (so that a policy naming a channel nobody configured fails at start, not at 3 am).
//!
//! Which policy applies: the one named after the incident's severity (`sev1` .. `sev4`),
//! else the one named `default`, else none (the incident is tracked but not escalated).

use std::collections::BTreeSet;
use std::time::Duration;

use legalops_core::alerting::classify::escalate_after;
use legalops_core::incidents::IncidentSeverity;
use legalops_core::{Error, Result};

/// PagerDuty's default acknowledgement timeout: an acknowledged incident nobody moves to
/// investigating within this goes back to triggered.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long one escalation notification may take per channel.
pub const DEFAULT_DELIVERY_DEADLINE: Duration = Duration::from_secs(30);
/// The name of the policy used when none is named after the incident's severity.
pub const DEFAULT_POLICY: &str = "default";
/// Longest delay accepted for one step or the acknowledgement timeout (30 days): longer is
/// a typo, and bounding it keeps the schedule's date arithmetic far from overflow.
pub const MAX_DELAY: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most repeats accepted (PagerDuty allows 9 loops).
pub const MAX_REPEAT: u32 = 9;

/// Target names of the default policies (runbook "Emergency Contacts").
pub const ONCALL_PRIMARY: &str = "oncall-primary";
/// See [`ONCALL_PRIMARY`].
pub const ONCALL_SECONDARY: &str = "oncall-secondary";
/// See [`ONCALL_PRIMARY`].
pub const ENGINEERING_MANAGER: &str = "engineering-manager";

/// One step of an escalation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    /// How long after the previous step (for the first step: after the incident opened)
    /// this one notifies.
    pub delay: Duration,
    /// Names of configured notification targets (channels).
    pub targets: Vec<String>,
}

/// Ordered steps notified while nobody acknowledges, run again at most `repeat` times.
///
/// A repeat starts over at step 0 as long after the last step as the last step waited
/// (its `delay`), without waiting the first step's delay again: that delay is "how long
/// before escalating at all", and the incident has waited it out already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    /// `sev1` .. `sev4` to apply to that severity, `default` for the others.
    pub name: String,
    /// The steps, in order.
    pub steps: Vec<EscalationStep>,
    /// How many times the steps run again after the first time.
    pub repeat: u32,
}

impl EscalationPolicy {
    /// The runbook's chain for `sev`: on-call primary once the severity's escalation time
    /// has passed (at once for Sev1, 2 h Sev2, 8 h Sev3, 48 h Sev4), on-call secondary
    /// 15 min later, the engineering manager 30 min after that; run twice more, since the
    /// runbook names nobody beyond the manager and an unanswered page must not go quiet.
    pub fn runbook(sev: IncidentSeverity) -> Self {
        let step = |delay, target: &str| EscalationStep {
            delay,
            targets: vec![target.to_owned()],
        };
        Self {
            name: policy_name(sev).to_owned(),
            steps: vec![
                step(escalate_after(sev), ONCALL_PRIMARY),
                step(Duration::from_secs(15 * 60), ONCALL_SECONDARY),
                step(Duration::from_secs(30 * 60), ENGINEERING_MANAGER),
            ],
            repeat: 2,
        }
    }
}

/// The engine's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentConfig {
    /// An acknowledged incident not moved to investigating within this goes back to
    /// triggered and escalates again (default 30 min, PagerDuty's).
    pub ack_timeout: Duration,
    /// Escalation policies (default: [`EscalationPolicy::runbook`] for each severity).
    pub policies: Vec<EscalationPolicy>,
    /// Deadline of one escalation notification per channel (default 30 s).
    pub delivery_deadline: Duration,
    /// A link back to the platform, put in escalation notifications.
    pub external_url: String,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        use IncidentSeverity::*;
        Self {
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            policies: [Sev1, Sev2, Sev3, Sev4]
                .into_iter()
                .map(EscalationPolicy::runbook)
                .collect(),
            delivery_deadline: DEFAULT_DELIVERY_DEADLINE,
            external_url: String::new(),
        }
    }
}

/// The policy name for `sev` (`sev1` .. `sev4`).
pub fn policy_name(sev: IncidentSeverity) -> &'static str {
    match sev {
        IncidentSeverity::Sev1 => "sev1",
        IncidentSeverity::Sev2 => "sev2",
        IncidentSeverity::Sev3 => "sev3",
        IncidentSeverity::Sev4 => "sev4",
    }
}

impl IncidentConfig {
    /// The policy that escalates an incident of `sev`, if any.
    pub fn policy_for(&self, sev: IncidentSeverity) -> Option<&EscalationPolicy> {
        let find = |name: &str| self.policies.iter().find(|p| p.name == name);
        find(policy_name(sev)).or_else(|| find(DEFAULT_POLICY))
    }

    /// Checks the settings against the configured target names; `InvalidConfig` naming the
    /// policy and step (`incidents.policies.sev1.steps[2].targets`) and the rule.
    pub fn validate(&self, targets: &BTreeSet<&str>) -> Result<()> {
        let bad = |key: String, message: String| Err(Error::invalid_config(key, message));
        if self.ack_timeout.is_zero() || self.ack_timeout > MAX_DELAY {
            return bad(
                "incidents.ack_timeout".into(),
                "must be more than 0 and at most 30 days".into(),
            );
        }
        if self.delivery_deadline.is_zero() {
            return bad(
                "incidents.delivery_deadline".into(),
                "must be more than 0".into(),
            );
        }
        let mut names = BTreeSet::new();
        for p in &self.policies {
            let key = format!("incidents.policies.{}", p.name);
            if p.name.trim().is_empty() {
                return bad("incidents.policies".into(), "a policy needs a name".into());
            }
            if !names.insert(p.name.as_str()) {
                return bad(key, "policy names must be unique".into());
            }
            if p.steps.is_empty() {
                return bad(
                    format!("{key}.steps"),
                    "a policy needs at least one step".into(),
                );
            }
            if p.repeat > MAX_REPEAT {
                return bad(
                    format!("{key}.repeat"),
                    format!("must be at most {MAX_REPEAT}"),
                );
            }
            for (i, step) in p.steps.iter().enumerate() {
                let key = format!("{key}.steps[{i}]");
                if step.delay > MAX_DELAY {
                    return bad(format!("{key}.delay"), "must be at most 30 days".into());
                }
                if step.targets.is_empty() {
                    return bad(
                        format!("{key}.targets"),
                        "a step needs at least one target".into(),
                    );
                }
                if let Some(unknown) = step.targets.iter().find(|t| !targets.contains(t.as_str())) {
                    let known: Vec<&str> = targets.iter().copied().collect();
                    return bad(
                        format!("{key}.targets"),
                        format!(
                            "unknown target {unknown:?}; configured targets: [{}]",
                            known.join(", ")
                        ),
                    );
                }
            }
            let gap = p.steps.last().map_or(Duration::ZERO, |s| s.delay);
            if p.repeat > 0 && gap.is_zero() {
                return bad(
                    format!("{key}.steps[{}].delay", p.steps.len() - 1),
                    "a repeating policy needs a last step with a delay > 0 (the pause before \
                     starting over)"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runbook_targets() -> BTreeSet<&'static str> {
        [ONCALL_PRIMARY, ONCALL_SECONDARY, ENGINEERING_MANAGER].into()
    }

    fn key_of(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidConfig { key, .. }) => key,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn default_policies_follow_the_runbook_escalation_times() {
        let c = IncidentConfig::default();
        c.validate(&runbook_targets()).expect("defaults are valid");
        let first = |sev| c.policy_for(sev).expect("a policy per severity").steps[0].delay;
        assert_eq!(first(IncidentSeverity::Sev1), Duration::ZERO);
        assert_eq!(first(IncidentSeverity::Sev2), Duration::from_secs(2 * 3600));
        assert_eq!(
            first(IncidentSeverity::Sev4),
            Duration::from_secs(48 * 3600)
        );
        let p = c.policy_for(IncidentSeverity::Sev3).expect("sev3");
        let targets: Vec<&str> = p.steps.iter().map(|s| s.targets[0].as_str()).collect();
        assert_eq!(
            targets,
            [ONCALL_PRIMARY, ONCALL_SECONDARY, ENGINEERING_MANAGER]
        );
        assert_eq!(c.ack_timeout, Duration::from_secs(1800));
    }

    #[test]
    fn an_unknown_target_names_the_policy_and_step() {
        let c = IncidentConfig::default();
        let known: BTreeSet<&str> = [ONCALL_PRIMARY, ONCALL_SECONDARY].into();
        assert_eq!(
            key_of(c.validate(&known)),
            "incidents.policies.sev1.steps[2].targets"
        );
    }

    #[test]
    fn the_default_policy_covers_severities_without_their_own() {
        let mut c = IncidentConfig::default();
        c.policies.retain(|p| p.name == "sev1");
        assert!(c.policy_for(IncidentSeverity::Sev2).is_none());
        let mut p = EscalationPolicy::runbook(IncidentSeverity::Sev3);
        p.name = DEFAULT_POLICY.into();
        c.policies.push(p);
        assert_eq!(
            c.policy_for(IncidentSeverity::Sev2)
                .map(|p| p.name.as_str()),
            Some(DEFAULT_POLICY)
        );
        assert_eq!(
            c.policy_for(IncidentSeverity::Sev1)
                .map(|p| p.name.as_str()),
            Some("sev1")
        );
    }

    #[test]
    fn malformed_policies_are_refused_with_the_key_at_fault() {
        let t = runbook_targets();
        let with = |f: &dyn Fn(&mut IncidentConfig)| {
            let mut c = IncidentConfig::default();
            f(&mut c);
            key_of(c.validate(&t))
        };
        assert_eq!(
            with(&|c| c.ack_timeout = Duration::ZERO),
            "incidents.ack_timeout"
        );
        assert_eq!(
            with(&|c| c.policies[1].name = "sev1".into()),
            "incidents.policies.sev1"
        );
        assert_eq!(
            with(&|c| c.policies[0].steps.clear()),
            "incidents.policies.sev1.steps"
        );
        assert_eq!(
            with(&|c| c.policies[0].repeat = 10),
            "incidents.policies.sev1.repeat"
        );
        assert_eq!(
            with(&|c| c.policies[0].steps[1].targets.clear()),
            "incidents.policies.sev1.steps[1].targets"
        );
        assert_eq!(
            with(&|c| c.policies[0].steps[2].delay = Duration::ZERO),
            "incidents.policies.sev1.steps[2].delay"
        );
        assert_eq!(
            with(&|c| c.policies[0].steps[0].delay = MAX_DELAY * 2),
            "incidents.policies.sev1.steps[0].delay"
        );
    }
}
