//! The rows of the incident tables and their encodings: instants as microseconds,
//! severities and statuses as their serialised names, details as canonical JSON text, and
//! the fold of the listing join (one row per timeline entry) back into incidents.

use legalops_core::Result;
use legalops_core::incidents::{Incident, IncidentSeverity, IncidentStatus, TimelineEntry};

use crate::sql::codec::{corrupt, from_micros, from_opt_micros, unsigned};

/// An `incidents` row as read for a write, with the last timeline position it holds.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(crate) struct IncidentRow {
    pub(crate) id: String,
    pub(crate) num: i64,
    pub(crate) dedup_key: String,
    pub(crate) summary: String,
    pub(crate) severity: String,
    pub(crate) status: String,
    pub(crate) opened_at: i64,
    pub(crate) acknowledged_at: Option<i64>,
    pub(crate) resolved_at: Option<i64>,
    pub(crate) trigger_count: i64,
    pub(crate) source: String,
    pub(crate) component: Option<String>,
    pub(crate) details: String,
    /// Not a column: `MAX(seq)` of its timeline (0 for a new incident).
    pub(crate) last_seq: i64,
}

impl IncidentRow {
    pub(crate) fn severity(&self, backend: &str) -> Result<IncidentSeverity> {
        parse_severity(&self.severity).ok_or_else(|| {
            corrupt(
                backend,
                format!("stored incident severity {:?} is unknown", self.severity),
            )
        })
    }

    pub(crate) fn status(&self, backend: &str) -> Result<IncidentStatus> {
        parse_status(&self.status).ok_or_else(|| {
            corrupt(
                backend,
                format!("stored incident status {:?} is unknown", self.status),
            )
        })
    }
}

/// A timeline entry to append (its incident and position are given when written).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntryRow {
    pub(crate) at: i64,
    pub(crate) actor: String,
    pub(crate) kind: String,
    pub(crate) text: String,
}

/// One row of the listing join: an incident's columns and one of its timeline entries
/// (all `None` should an incident have no entry, which this code never writes).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ListedRow {
    pub(crate) id: String,
    pub(crate) dedup_key: String,
    pub(crate) summary: String,
    pub(crate) severity: String,
    pub(crate) status: String,
    pub(crate) opened_at: i64,
    pub(crate) acknowledged_at: Option<i64>,
    pub(crate) resolved_at: Option<i64>,
    pub(crate) trigger_count: i64,
    pub(crate) entry_at: Option<i64>,
    pub(crate) actor: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) text: Option<String>,
}

/// Folds the join's rows (grouped by incident, entries in order) into incidents, keeping
/// the rows' order of incidents.
pub(crate) fn fold(backend: &str, rows: Vec<ListedRow>) -> Result<Vec<Incident>> {
    let mut out: Vec<Incident> = Vec::new();
    for row in rows {
        let entry = match (row.entry_at, &row.actor, &row.kind, &row.text) {
            (Some(at), Some(actor), Some(kind), Some(text)) => Some(TimelineEntry {
                at: from_micros(backend, "incident_timeline.at", at)?,
                actor: actor.clone(),
                kind: kind.clone(),
                text: text.clone(),
            }),
            _ => None,
        };
        if let Some(last) = out.last_mut().filter(|i| i.id == row.id) {
            last.timeline.extend(entry);
            continue;
        }
        let severity = parse_severity(&row.severity).ok_or_else(|| {
            corrupt(
                backend,
                format!("stored incident severity {:?} is unknown", row.severity),
            )
        })?;
        let status = parse_status(&row.status).ok_or_else(|| {
            corrupt(
                backend,
                format!("stored incident status {:?} is unknown", row.status),
            )
        })?;
        out.push(Incident {
            opened_at: from_micros(backend, "incidents.opened_at", row.opened_at)?,
            acknowledged_at: from_opt_micros(
                backend,
                "incidents.acknowledged_at",
                row.acknowledged_at,
            )?,
            resolved_at: from_opt_micros(backend, "incidents.resolved_at", row.resolved_at)?,
            trigger_count: unsigned(backend, "incidents.trigger_count", row.trigger_count)?,
            id: row.id,
            dedup_key: row.dedup_key,
            summary: row.summary,
            severity,
            status,
            timeline: entry.into_iter().collect(),
        });
    }
    Ok(out)
}

/// The stored name of a severity (as serialised: `sev1` .. `sev4`).
pub(crate) fn severity_str(s: IncidentSeverity) -> &'static str {
    match s {
        IncidentSeverity::Sev1 => "sev1",
        IncidentSeverity::Sev2 => "sev2",
        IncidentSeverity::Sev3 => "sev3",
        IncidentSeverity::Sev4 => "sev4",
    }
}

/// The stored name of a status (as serialised: `snake_case`), also the timeline's.
pub(crate) fn status_str(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Triggered => "triggered",
        IncidentStatus::Acknowledged => "acknowledged",
        IncidentStatus::Investigating => "investigating",
        IncidentStatus::Resolved => "resolved",
        IncidentStatus::Reviewing => "reviewing",
        IncidentStatus::Closed => "closed",
    }
}

pub(crate) const SEVERITIES: [IncidentSeverity; 4] = [
    IncidentSeverity::Sev1,
    IncidentSeverity::Sev2,
    IncidentSeverity::Sev3,
    IncidentSeverity::Sev4,
];

pub(crate) const STATUSES: [IncidentStatus; 6] = [
    IncidentStatus::Triggered,
    IncidentStatus::Acknowledged,
    IncidentStatus::Investigating,
    IncidentStatus::Resolved,
    IncidentStatus::Reviewing,
    IncidentStatus::Closed,
];

fn parse_severity(s: &str) -> Option<IncidentSeverity> {
    SEVERITIES.into_iter().find(|x| severity_str(*x) == s)
}

fn parse_status(s: &str) -> Option<IncidentStatus> {
    STATUSES.into_iter().find(|x| status_str(*x) == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, entry: Option<(i64, &str)>) -> ListedRow {
        ListedRow {
            id: id.into(),
            dedup_key: format!("key-{id}"),
            summary: "down".into(),
            severity: "sev2".into(),
            status: "triggered".into(),
            opened_at: 1_000_000,
            acknowledged_at: None,
            resolved_at: None,
            trigger_count: 1,
            entry_at: entry.map(|(at, _)| at),
            actor: entry.map(|_| "system".to_owned()),
            kind: entry.map(|(_, kind)| kind.to_owned()),
            text: entry.map(|_| "text".to_owned()),
        }
    }

    #[test]
    fn the_join_folds_into_incidents_in_row_order_with_their_entries() {
        let rows = vec![
            listed("INC-2", Some((1, "triggered"))),
            listed("INC-2", Some((2, "note"))),
            listed("INC-1", Some((3, "triggered"))),
            listed("INC-3", None),
        ];
        let incidents = fold("db", rows).expect("folds");
        let shape: Vec<(&str, Vec<&str>)> = incidents
            .iter()
            .map(|i| {
                (
                    i.id.as_str(),
                    i.timeline.iter().map(|e| e.kind.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("INC-2", vec!["triggered", "note"]),
                ("INC-1", vec!["triggered"]),
                ("INC-3", vec![]),
            ]
        );
    }

    #[test]
    fn unknown_severities_and_negative_counts_are_corrupt_rows() {
        let mut row = listed("INC-1", None);
        row.severity = "sev0".into();
        assert!(fold("db", vec![row]).is_err());
        let mut row = listed("INC-1", None);
        row.trigger_count = -1;
        assert!(fold("db", vec![row]).is_err());
    }

    #[test]
    fn stored_names_are_the_serialised_names() {
        for s in SEVERITIES {
            assert_eq!(parse_severity(severity_str(s)), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("serialises"),
                serde_json::Value::from(severity_str(s))
            );
        }
        for s in STATUSES {
            assert_eq!(parse_status(status_str(s)), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("serialises"),
                serde_json::Value::from(status_str(s))
            );
        }
    }
}
