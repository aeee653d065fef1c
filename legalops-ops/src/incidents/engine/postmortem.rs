//! The postmortem draft: Markdown generated from an incident's timeline, for the incidents
//! that need one (Sev1/Sev2, data loss, a detection monitoring missed). It fills in what
//! the record knows (summary, impact, the timeline, response times against the runbook's
//! targets, who was paged) and leaves Root cause, Resolution and Action items to people.

use std::fmt::Write as _;
use std::time::Duration;

use legalops_core::alerting::classify::{escalate_after, response_target};
use legalops_core::incidents::{Incident, IncidentSeverity, IncidentStatus};
use time::{OffsetDateTime, UtcOffset};

use super::schedule::escalated_targets;

/// The reason a caller passes for an incident monitoring did not detect (opened by hand).
pub const MISSED_DETECTION: &str = "missed by monitoring";
/// The reason (as `classify` words it) that makes any incident need a postmortem.
pub const DATA_LOSS: &str = "data loss";

/// Why `incident` needs a postmortem, or `None` if it does not: Sev1 or Sev2, or a reason
/// naming data loss or a missed detection.
pub fn postmortem_required(incident: &Incident, reasons: &[String]) -> Option<Vec<String>> {
    let mut why = Vec::new();
    if incident.severity <= IncidentSeverity::Sev2 {
        why.push(format!("{} incident", sev_name(incident.severity)));
    }
    for needle in [DATA_LOSS, MISSED_DETECTION] {
        if reasons.iter().any(|r| r.to_lowercase().contains(needle)) {
            why.push(needle.to_owned());
        }
    }
    (!why.is_empty()).then_some(why)
}

/// A Markdown postmortem draft for `incident`, or `None` when none is required (see
/// [`postmortem_required`]). `reasons` are the classification's reasons and anything the
/// caller knows (e.g. [`MISSED_DETECTION`] for an incident opened by hand).
pub fn postmortem_draft(incident: &Incident, reasons: &[String]) -> Option<String> {
    let why = postmortem_required(incident, reasons)?;
    let sev = incident.severity;
    let mut md = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(
        md,
        "# Postmortem (draft): {} {}\n",
        incident.id,
        one_line(&incident.summary)
    );
    md.push_str(
        "_Generated from the incident's timeline. Root cause, resolution and action items are \
         for the people who worked the incident._\n\n",
    );

    md.push_str("## Summary\n\n");
    let _ = writeln!(
        md,
        "- Incident: {} (dedup key `{}`)",
        incident.id,
        one_line(&incident.dedup_key)
    );
    let _ = writeln!(md, "- Severity: {} ({})", sev_name(sev), definition(sev));
    let _ = writeln!(md, "- Status: {}", status_name(incident.status));
    let _ = writeln!(md, "- Opened: {}", utc(incident.opened_at));
    let _ = writeln!(
        md,
        "- Resolved: {}",
        incident
            .resolved_at
            .map_or_else(|| "not yet".to_owned(), utc)
    );
    let _ = writeln!(md, "- Postmortem required because: {}", why.join("; "));
    if !reasons.is_empty() {
        let r: Vec<String> = reasons.iter().map(|r| one_line(r)).collect();
        let _ = writeln!(md, "- Classification: {}", r.join("; "));
    }

    md.push_str("\n## Impact\n\n");
    let _ = writeln!(md, "- {}: {}", sev_name(sev), definition(sev));
    let duration = incident
        .resolved_at
        .map(|r| human(r - incident.opened_at))
        .unwrap_or_else(|| "ongoing".to_owned());
    let _ = writeln!(md, "- Duration: {duration}");
    let _ = writeln!(
        md,
        "- Triggers folded into the incident: {}",
        incident.trigger_count
    );
    let paged = escalated_targets(incident);
    let _ = writeln!(
        md,
        "- Escalated to: {}",
        if paged.is_empty() {
            "nobody".to_owned()
        } else {
            paged.join(", ")
        }
    );
    md.push_str("- User-visible effect: _to be written_\n");

    md.push_str("\n## Response against the runbook's targets\n\n");
    md.push_str("| Measure | Actual | Target | Met |\n|---|---|---|---|\n");
    let target = response_target(sev);
    let (ack, met) = match incident.acknowledged_at {
        Some(a) => {
            let took = a - incident.opened_at;
            (human(took), yes_no(took <= target))
        }
        None => ("not acknowledged".to_owned(), "no"),
    };
    let _ = writeln!(
        md,
        "| Time to acknowledge | {ack} | {} | {met} |",
        human_std(target)
    );
    let _ = writeln!(
        md,
        "| Time to resolve | {duration} | escalate after {} | - |",
        match escalate_after(sev) {
            d if d.is_zero() => "immediately".to_owned(),
            d => human_std(d),
        }
    );

    md.push_str("\n## Timeline (UTC)\n\n");
    md.push_str("| Time (UTC) | Actor | Event | Details |\n|---|---|---|---|\n");
    for e in &incident.timeline {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            utc(e.at),
            cell(&e.actor),
            cell(&e.kind),
            cell(&e.text)
        );
    }

    for heading in ["Root cause", "Resolution"] {
        let _ = writeln!(md, "\n## {heading}\n\n_To be written._");
    }
    md.push_str("\n## Action items\n\n- [ ] _To be written (owner, due date)._\n");
    Some(md)
}

fn sev_name(s: IncidentSeverity) -> &'static str {
    match s {
        IncidentSeverity::Sev1 => "Sev1",
        IncidentSeverity::Sev2 => "Sev2",
        IncidentSeverity::Sev3 => "Sev3",
        IncidentSeverity::Sev4 => "Sev4",
    }
}

/// The runbook's definition of each severity.
fn definition(s: IncidentSeverity) -> &'static str {
    match s {
        IncidentSeverity::Sev1 => "critical: complete service outage",
        IncidentSeverity::Sev2 => "high: significant service degradation",
        IncidentSeverity::Sev3 => "medium: minor service issues",
        IncidentSeverity::Sev4 => "low: cosmetic issues or minor bugs",
    }
}

fn status_name(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Triggered => "triggered",
        IncidentStatus::Acknowledged => "acknowledged",
        IncidentStatus::Investigating => "investigating",
        IncidentStatus::Resolved => "resolved",
        IncidentStatus::Reviewing => "reviewing",
        IncidentStatus::Closed => "closed",
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `2026-03-01 14:05:09` in UTC.
pub(crate) fn utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A duration as people read it: the two largest units (`1h 5m`, `15m`, `2d 3h`);
/// negative (clock skew) reads as `0s`.
pub(crate) fn human(d: time::Duration) -> String {
    let secs = u64::try_from(d.whole_seconds()).unwrap_or(0);
    human_std(Duration::from_secs(secs))
}

/// [`human`] for a `std` duration.
pub(crate) fn human_std(d: Duration) -> String {
    let s = d.as_secs();
    let parts = [
        (s / 86_400, "d"),
        (s / 3600 % 24, "h"),
        (s / 60 % 60, "m"),
        (s % 60, "s"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if shown.is_empty() {
        "0s".to_owned()
    } else {
        shown.join(" ")
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::incidents::TimelineEntry;
    use time::macros::datetime;

    fn incident(sev: IncidentSeverity) -> Incident {
        let t0 = datetime!(2026-03-01 00:00 UTC);
        Incident {
            id: "INC-7".into(),
            dedup_key: "{}:{alertname=\"Down\"}".into(),
            summary: "API down".into(),
            severity: sev,
            status: IncidentStatus::Resolved,
            opened_at: t0,
            acknowledged_at: Some(t0 + time::Duration::minutes(20)),
            resolved_at: Some(t0 + time::Duration::minutes(65)),
            trigger_count: 2,
            timeline: vec![TimelineEntry {
                at: t0,
                actor: "alerting".into(),
                kind: "triggered".into(),
                text: "API | down\nhard".into(),
            }],
        }
    }

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(human_std(Duration::from_secs(0)), "0s");
        assert_eq!(human_std(Duration::from_secs(45)), "45s");
        assert_eq!(human_std(Duration::from_secs(15 * 60)), "15m");
        assert_eq!(human_std(Duration::from_secs(3900)), "1h 5m");
        assert_eq!(
            human_std(Duration::from_secs(2 * 86_400 + 3 * 3600 + 7)),
            "2d 3h"
        );
        assert_eq!(human(time::Duration::seconds(-5)), "0s");
    }

    #[test]
    fn sev4_needs_no_postmortem_unless_data_was_lost_or_monitoring_missed_it() {
        let i = incident(IncidentSeverity::Sev4);
        assert!(postmortem_draft(&i, &["info alert".into()]).is_none());
        assert!(postmortem_draft(&i, &["data loss".into()]).is_some());
        assert!(postmortem_draft(&i, &[MISSED_DETECTION.into()]).is_some());
    }

    #[test]
    fn the_draft_measures_against_the_target_and_keeps_table_cells_intact() {
        let md = postmortem_draft(&incident(IncidentSeverity::Sev1), &[]).expect("sev1");
        assert!(
            md.contains("| Time to acknowledge | 20m | 15m | no |"),
            "{md}"
        );
        assert!(md.contains("| 2026-03-01 00:00:00 | alerting | triggered | API \\| down hard |"));
        assert!(md.contains("- Duration: 1h 5m"));
        for h in ["## Root cause", "## Resolution", "## Action items"] {
            assert!(md.contains(h), "missing {h}");
        }
    }
}
