//! Human text for a notification, shared by the Slack, PagerDuty and SMTP channels so that
//! a group reads the same everywhere: a title in Alertmanager's style
//! (`[FIRING:2] HighErrorRate (critical)`) and one entry per alert.

use std::fmt::Write;

use legalops_core::alerts::{Alert, AlertStatus, Notification};
use time::format_description::well_known::Rfc3339;

/// The alert's `alertname` label, or `unnamed`.
pub(crate) fn alertname(a: &Alert) -> &str {
    a.labels.get("alertname").map_or("unnamed", String::as_str)
}

/// The firing and the resolved alerts of `n`.
pub(crate) fn split(n: &Notification) -> (Vec<&Alert>, Vec<&Alert>) {
    n.alerts
        .iter()
        .partition(|a| a.status == AlertStatus::Firing)
}

/// The severity every alert shares, if any.
pub(crate) fn common_severity(n: &Notification) -> Option<&str> {
    n.common_labels.get("severity").map(String::as_str)
}

/// What the group is called: its group label values, else the shared alert name, else
/// the distinct alert names.
pub(crate) fn group_name(n: &Notification) -> String {
    if !n.group_labels.is_empty() {
        return n
            .group_labels
            .values()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
    }
    if let Some(name) = n.common_labels.get("alertname") {
        return name.clone();
    }
    let mut names: Vec<&str> = n.alerts.iter().map(alertname).collect();
    names.dedup();
    if names.is_empty() {
        "alerts".to_owned()
    } else {
        names.join(", ")
    }
}

/// `[FIRING:2] HighErrorRate (critical)` or `[RESOLVED] HighErrorRate (critical)`.
pub(crate) fn title(n: &Notification) -> String {
    let (firing, _) = split(n);
    let mut t = match n.status {
        AlertStatus::Firing => format!("[FIRING:{}] {}", firing.len(), group_name(n)),
        AlertStatus::Resolved => format!("[RESOLVED] {}", group_name(n)),
    };
    if let Some(sev) = common_severity(n) {
        let _ = write!(t, " ({sev})");
    }
    t
}

/// The labels that tell alerts of one name apart: all but `alertname` and `severity`,
/// as `{instance="a", team="ops"}` (empty when there are none).
pub(crate) fn identity(a: &Alert) -> String {
    let pairs: Vec<String> = a
        .labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity"))
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(", "))
    }
}

/// `s` cut to at most `max` bytes on a character boundary, ending in `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let ellipsis = '…';
    let mut end = max.saturating_sub(ellipsis.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &s[..end])
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The plain-text body of a mail: the title, then each alert with its annotations, firing
/// first, then where it came from.
pub(crate) fn text_body(n: &Notification) -> String {
    let (firing, resolved) = split(n);
    let mut out = title(n);
    out.push('\n');
    for (label, alerts) in [("Firing", &firing), ("Resolved", &resolved)] {
        if alerts.is_empty() {
            continue;
        }
        let _ = write!(out, "\n{label} ({}):\n", alerts.len());
        for a in alerts {
            let _ = writeln!(out, "- {} {}", alertname(a), identity(a));
            let _ = writeln!(out, "  started: {}", rfc3339(a.starts_at));
            if let Some(end) = a.ends_at {
                let _ = writeln!(out, "  ended: {}", rfc3339(end));
            }
            // Summary and description first: they are what a reader needs.
            let first = ["summary", "description"];
            let rest = a
                .annotations
                .keys()
                .filter(|k| !first.contains(&k.as_str()));
            for k in first.iter().copied().chain(rest.map(String::as_str)) {
                if let Some(v) = a.annotations.get(k) {
                    let _ = writeln!(out, "  {k}: {}", v.replace('\n', "\n    "));
                }
            }
            if !a.generator_url.is_empty() {
                let _ = writeln!(out, "  source: {}", a.generator_url);
            }
        }
    }
    let _ = write!(out, "\nReceiver: {}\nGroup: {}\n", n.receiver, n.group_key);
    if !n.external_url.is_empty() {
        let _ = writeln!(out, "Platform: {}", n.external_url);
    }
    out
}

/// `s` with `&`, `<`, `>` and `"` escaped for HTML text and attributes.
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A short HTML part: the title and one list item per alert with its summary.
pub(crate) fn html_body(n: &Notification) -> String {
    let mut out = format!("<h3>{}</h3>\n<ul>\n", html_escape(&title(n)));
    for a in &n.alerts {
        let status = match a.status {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        };
        let _ = write!(
            out,
            "<li><b>{}</b> {} ({status})",
            html_escape(alertname(a)),
            html_escape(&identity(a))
        );
        if let Some(summary) = a.annotations.get("summary") {
            let _ = write!(out, ": {}", html_escape(summary));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::alerts::fingerprint;
    use legalops_core::metrics::Labels;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn alert(name: &str, instance: &str, status: AlertStatus) -> Alert {
        let labels: Labels = [
            ("alertname", name),
            ("severity", "critical"),
            ("instance", instance),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Alert {
            status,
            fingerprint: fingerprint(&labels),
            labels,
            annotations: [("summary".to_owned(), "5xx at 7% <high>".to_owned())].into(),
            starts_at: datetime!(2026-01-01 0:00 UTC),
            ends_at: None,
            generator_url: String::new(),
        }
    }

    fn group(alerts: Vec<Alert>) -> Notification {
        let gl: Labels = [("alertname".to_owned(), "HighErrorRate".to_owned())].into();
        Notification::new("ops", "{}:{alertname=\"HighErrorRate\"}", gl, "", alerts)
    }

    #[test]
    fn the_title_counts_firing_alerts_and_names_group_and_severity() {
        let n = group(vec![
            alert("HighErrorRate", "a", AlertStatus::Firing),
            alert("HighErrorRate", "b", AlertStatus::Firing),
            alert("HighErrorRate", "c", AlertStatus::Resolved),
        ]);
        assert_eq!(title(&n), "[FIRING:2] HighErrorRate (critical)");
        let n = group(vec![alert("HighErrorRate", "a", AlertStatus::Resolved)]);
        assert_eq!(title(&n), "[RESOLVED] HighErrorRate (critical)");
    }

    #[test]
    fn the_text_body_lists_each_alert_with_its_annotations() {
        let n = group(vec![
            alert("HighErrorRate", "a", AlertStatus::Firing),
            alert("HighErrorRate", "c", AlertStatus::Resolved),
        ]);
        let body = text_body(&n);
        assert!(
            body.starts_with("[FIRING:1] HighErrorRate (critical)\n"),
            "{body}"
        );
        assert!(
            body.contains("Firing (1):\n- HighErrorRate {instance=\"a\"}\n"),
            "{body}"
        );
        assert!(
            body.contains("Resolved (1):\n- HighErrorRate {instance=\"c\"}\n"),
            "{body}"
        );
        assert!(body.contains("  summary: 5xx at 7% <high>\n"), "{body}");
        assert!(html_body(&n).contains("5xx at 7% &lt;high&gt;"));
    }

    proptest! {
        #[test]
        fn truncate_keeps_short_text_and_cuts_long_text_on_a_char_boundary(
            s in "\\PC{0,300}", max in 4usize..200,
        ) {
            let t = truncate(&s, max);
            prop_assert!(t.len() <= max);
            if s.len() <= max {
                prop_assert_eq!(&t, &s);
            } else {
                prop_assert!(t.ends_with('…'));
                prop_assert!(s.starts_with(t.trim_end_matches('…')));
            }
        }
    }
}
