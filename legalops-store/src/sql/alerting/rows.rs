//! The rows of the alerting tables (migration 0003) and their encodings: instants as
//! microseconds, states as their lowercase names, labels, annotations and matchers as JSON
//! text, counts as BIGINT.

use legalops_core::alerting::{AlertState, Delivery, GroupState, RuleStateRecord, Silence};
use legalops_core::{Error, Result};

use crate::sql::codec::{
    corrupt, from_micros, from_opt_micros, micros, opt_micros, parse_json, unsigned,
};

/// A `rule_states` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RuleStateRow {
    pub(crate) rule: String,
    pub(crate) state: String,
    pub(crate) active_since: Option<i64>,
    pub(crate) firing_since: Option<i64>,
    pub(crate) last_true_at: Option<i64>,
    pub(crate) resolved_at: Option<i64>,
    pub(crate) evaluated_at: i64,
    pub(crate) value: Option<f64>,
    pub(crate) labels: String,
    pub(crate) annotations: String,
}

impl RuleStateRow {
    /// Encodes a rule state. A NaN value (0/0 in a rule) is stored as no data: SQLite
    /// cannot store NaN (it reads back as NULL), and both backends must agree.
    pub(crate) fn encode(r: &RuleStateRecord) -> Result<Self> {
        if r.rule.is_empty() {
            return Err(Error::invalid_input("rule_state.rule", "must not be empty"));
        }
        Ok(Self {
            rule: r.rule.clone(),
            state: state_str(r.state).to_owned(),
            active_since: opt_micros(r.active_since),
            firing_since: opt_micros(r.firing_since),
            last_true_at: opt_micros(r.last_true_at),
            resolved_at: opt_micros(r.resolved_at),
            evaluated_at: micros(r.evaluated_at),
            value: r.value.filter(|v| !v.is_nan()),
            labels: to_json("rule_state.labels", &r.labels)?,
            annotations: to_json("rule_state.annotations", &r.annotations)?,
        })
    }

    pub(crate) fn decode(self, backend: &str) -> Result<RuleStateRecord> {
        let state = parse_state(&self.state).ok_or_else(|| {
            corrupt(
                backend,
                format!("stored rule state {:?} is unknown", self.state),
            )
        })?;
        Ok(RuleStateRecord {
            state,
            active_since: from_opt_micros(backend, "rule_states.active_since", self.active_since)?,
            firing_since: from_opt_micros(backend, "rule_states.firing_since", self.firing_since)?,
            last_true_at: from_opt_micros(backend, "rule_states.last_true_at", self.last_true_at)?,
            resolved_at: from_opt_micros(backend, "rule_states.resolved_at", self.resolved_at)?,
            evaluated_at: from_micros(backend, "rule_states.evaluated_at", self.evaluated_at)?,
            value: self.value,
            labels: parse_json(backend, "rule_states.labels", &self.labels)?,
            annotations: parse_json(backend, "rule_states.annotations", &self.annotations)?,
            rule: self.rule,
        })
    }
}

/// A `silences` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SilenceRow {
    pub(crate) id: String,
    pub(crate) matchers: String,
    pub(crate) starts_at: i64,
    pub(crate) ends_at: i64,
    pub(crate) created_by: String,
    pub(crate) comment: String,
    pub(crate) created_at: i64,
}

impl SilenceRow {
    pub(crate) fn encode(s: &Silence) -> Result<Self> {
        Ok(Self {
            id: s.id.clone(),
            matchers: to_json("silence.matchers", &s.matchers)?,
            starts_at: micros(s.starts_at),
            ends_at: micros(s.ends_at),
            created_by: s.created_by.clone(),
            comment: s.comment.clone(),
            created_at: micros(s.created_at),
        })
    }

    pub(crate) fn decode(self, backend: &str) -> Result<Silence> {
        Ok(Silence {
            matchers: parse_json(backend, "silences.matchers", &self.matchers)?,
            starts_at: from_micros(backend, "silences.starts_at", self.starts_at)?,
            ends_at: from_micros(backend, "silences.ends_at", self.ends_at)?,
            created_at: from_micros(backend, "silences.created_at", self.created_at)?,
            id: self.id,
            created_by: self.created_by,
            comment: self.comment,
        })
    }
}

/// An `alert_groups` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct GroupRow {
    pub(crate) group_key: String,
    pub(crate) first_seen_at: i64,
    pub(crate) last_notified_at: Option<i64>,
    pub(crate) last_notified_hash: String,
}

impl GroupRow {
    pub(crate) fn encode(g: &GroupState) -> Self {
        Self {
            group_key: g.group_key.clone(),
            first_seen_at: micros(g.first_seen_at),
            last_notified_at: opt_micros(g.last_notified_at),
            last_notified_hash: g.last_notified_hash.clone(),
        }
    }

    pub(crate) fn decode(self, backend: &str) -> Result<GroupState> {
        Ok(GroupState {
            first_seen_at: from_micros(backend, "alert_groups.first_seen_at", self.first_seen_at)?,
            last_notified_at: from_opt_micros(
                backend,
                "alert_groups.last_notified_at",
                self.last_notified_at,
            )?,
            group_key: self.group_key,
            last_notified_hash: self.last_notified_hash,
        })
    }
}

/// A `deliveries` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub(crate) id: i64,
    pub(crate) at: i64,
    pub(crate) group_key: String,
    pub(crate) channel: String,
    pub(crate) status: String,
    pub(crate) alerts: i64,
    pub(crate) attempts: i64,
    pub(crate) ok: bool,
    pub(crate) error: Option<String>,
}

impl DeliveryRow {
    /// The row to insert (its `id` is assigned by the database and ignored here).
    pub(crate) fn encode(d: &Delivery) -> Result<Self> {
        let alerts = i64::try_from(d.alerts)
            .map_err(|_| Error::invalid_input("delivery.alerts", "must be at most 2^63 - 1"))?;
        Ok(Self {
            id: 0,
            at: micros(d.at),
            group_key: d.group_key.clone(),
            channel: d.channel.clone(),
            status: d.status.clone(),
            alerts,
            attempts: i64::from(d.attempts),
            ok: d.ok,
            error: d.error.clone(),
        })
    }

    pub(crate) fn decode(self, backend: &str) -> Result<Delivery> {
        let attempts = u32::try_from(self.attempts).map_err(|_| {
            corrupt(
                backend,
                format!("stored delivery attempts {} out of range", self.attempts),
            )
        })?;
        Ok(Delivery {
            id: unsigned(backend, "deliveries.id", self.id)?,
            at: from_micros(backend, "deliveries.at", self.at)?,
            alerts: unsigned(backend, "deliveries.alerts", self.alerts)?,
            attempts,
            group_key: self.group_key,
            channel: self.channel,
            status: self.status,
            ok: self.ok,
            error: self.error,
        })
    }
}

/// The stored name of a rule state (as serialised: lowercase).
pub(crate) fn state_str(state: AlertState) -> &'static str {
    match state {
        AlertState::Inactive => "inactive",
        AlertState::Pending => "pending",
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    }
}

fn parse_state(s: &str) -> Option<AlertState> {
    [
        AlertState::Inactive,
        AlertState::Pending,
        AlertState::Firing,
        AlertState::Resolved,
    ]
    .into_iter()
    .find(|a| state_str(*a) == s)
}

/// JSON text of a value that always serialises (string maps, matchers); the error names
/// `field` should that ever change.
fn to_json<T: serde::Serialize>(field: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid_input(field, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerting::{MatchOp, Matcher};
    use proptest::prelude::*;
    use time::macros::datetime;

    fn rule_state(value: Option<f64>) -> RuleStateRecord {
        RuleStateRecord {
            rule: "HighErrorRate".into(),
            state: AlertState::Firing,
            active_since: Some(datetime!(2026-01-01 0:00 UTC)),
            firing_since: Some(datetime!(2026-01-01 0:05 UTC)),
            last_true_at: Some(datetime!(2026-01-01 0:06:00.000_001 UTC)),
            resolved_at: None,
            evaluated_at: datetime!(2026-01-01 0:06 UTC),
            value,
            labels: [("alertname", "HighErrorRate"), ("severity", "critical")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            annotations: [("summary".to_owned(), "5xx at 7.5 % ✓".to_owned())].into(),
        }
    }

    #[test]
    fn rule_states_round_trip_and_nan_is_stored_as_no_data() {
        let r = rule_state(Some(7.5));
        let row = RuleStateRow::encode(&r).expect("encodes");
        assert_eq!(
            row.labels,
            r#"{"alertname":"HighErrorRate","severity":"critical"}"#
        );
        assert_eq!(row.decode("db").expect("decodes"), r);
        let nan = RuleStateRow::encode(&rule_state(Some(f64::NAN))).expect("encodes");
        assert_eq!(nan.value, None);
    }

    #[test]
    fn an_unnamed_rule_is_refused_naming_the_field() {
        let mut r = rule_state(None);
        r.rule.clear();
        assert!(matches!(
            RuleStateRow::encode(&r),
            Err(Error::InvalidInput { field, .. }) if field == "rule_state.rule"
        ));
    }

    #[test]
    fn unknown_states_and_bad_json_are_corrupt_rows() {
        let mut row = RuleStateRow::encode(&rule_state(None)).expect("encodes");
        row.state = "exploding".into();
        assert!(matches!(row.decode("db"), Err(Error::Backend { .. })));
        let mut row = RuleStateRow::encode(&rule_state(None)).expect("encodes");
        row.annotations = "[".into();
        assert!(matches!(row.decode("db"), Err(Error::Backend { .. })));
    }

    #[test]
    fn silences_keep_their_matchers_in_order() {
        let s = Silence {
            id: "s1".into(),
            matchers: vec![
                Matcher {
                    name: "alertname".into(),
                    op: MatchOp::Equal,
                    value: "Disk".into(),
                },
                Matcher {
                    name: "instance".into(),
                    op: MatchOp::NotRegex,
                    value: "db-.*".into(),
                },
            ],
            starts_at: datetime!(2026-01-01 0:00 UTC),
            ends_at: datetime!(2026-01-01 2:00 UTC),
            created_by: "ann".into(),
            comment: "maintenance".into(),
            created_at: datetime!(2025-12-31 23:59 UTC),
        };
        let row = SilenceRow::encode(&s).expect("encodes");
        assert!(row.matchers.contains(r#""op":"!~""#), "{}", row.matchers);
        assert_eq!(row.decode("db").expect("decodes"), s);
    }

    #[test]
    fn deliveries_refuse_counts_past_bigint_and_corrupt_attempts() {
        let d = Delivery {
            id: 0,
            at: datetime!(2026-01-01 0:00 UTC),
            group_key: "{}:{alertname=\"X\"}".into(),
            channel: "log".into(),
            status: "firing".into(),
            alerts: u64::MAX,
            attempts: 1,
            ok: true,
            error: None,
        };
        assert!(matches!(
            DeliveryRow::encode(&d),
            Err(Error::InvalidInput { field, .. }) if field == "delivery.alerts"
        ));
        let mut row = DeliveryRow::encode(&Delivery { alerts: 2, ..d }).expect("encodes");
        row.attempts = i64::from(u32::MAX) + 1;
        assert!(row.decode("db").is_err());
    }

    #[test]
    fn every_state_has_a_distinct_name_matching_its_serde_form() {
        for s in [
            AlertState::Inactive,
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved,
        ] {
            assert_eq!(parse_state(state_str(s)), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("serialises"),
                serde_json::Value::from(state_str(s))
            );
        }
    }

    proptest! {
        #[test]
        fn group_states_round_trip(first in 0i64..4_000_000_000_000_000, last in proptest::option::of(0i64..4_000_000_000_000_000), hash in "[0-9a-f]{0,64}") {
            let g = GroupState {
                group_key: "{}:{alertname=\"X\"}".into(),
                first_seen_at: from_micros("db", "t", first).expect("in range"),
                last_notified_at: last.map(|l| from_micros("db", "t", l).expect("in range")),
                last_notified_hash: hash,
            };
            prop_assert_eq!(GroupRow::encode(&g).decode("db").expect("decodes"), g);
        }
    }
}
