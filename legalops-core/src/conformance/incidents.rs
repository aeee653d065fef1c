//! Conformance of [`IncidentTracker`]: PagerDuty-style dedup, the lifecycle, the timeline
//! and, where the tracker can be queried, `get` and `list_open`.

use time::OffsetDateTime;

use super::{check, ok, unique};
use crate::error::Error;
use crate::incidents::{
    IncidentSeverity, IncidentTracker, MAX_DEDUP_KEY_LEN, MAX_SUMMARY_LEN, Trigger,
};

pub(super) fn trigger(key: &str, severity: IncidentSeverity, at: OffsetDateTime) -> Trigger {
    Trigger {
        dedup_key: key.to_owned(),
        summary: format!("conformance: {key} is failing"),
        source: "legalops-conformance".to_owned(),
        severity,
        component: Some("conformance".to_owned()),
        details: serde_json::json!({ "suite": "incident_tracker", "note": "ünïcödé ✓" }),
        at,
    }
}

/// Checks an [`IncidentTracker`].
///
/// Always: a trigger breaking the shared limits (empty or over-long dedup key or summary,
/// empty source) is `InvalidInput`; valid triggers, acknowledge and resolve succeed and
/// return the incident's dedup key.
///
/// With `supports_queries == true` (the tracker keeps incident state): a trigger with the
/// dedup key of an open incident adds to it (same id, `trigger_count + 1`, the more severe
/// severity, the first summary, a longer timeline), also while acknowledged; acknowledging
/// twice keeps the first `acknowledged_at`; resolve closes it; acknowledge or resolve with
/// no open incident is `NotFound`; after resolve the same key opens a new incident with a
/// new id; notes go on the newest incident; `get` returns each by id (`NotFound` for an
/// unknown id); `list_open` lists the open ones only, oldest first.
///
/// With `supports_queries == false` (a write-only API such as PagerDuty Events v2): `get`
/// and `list_open` are `NotSupported`.
///
/// Uses dedup keys unique to the run (`conformance-<uuid>-...`) and resolves what it opens.
pub async fn incident_tracker(tracker: &dyn IncidentTracker, supports_queries: bool) {
    let name = tracker.to_string();
    let name = name.as_str();
    check(name, !name.is_empty(), "Display names the tracker", name);
    ok(name, "healthcheck", tracker.healthcheck().await);
    let run = format!("conformance-{}", unique());
    // Whole seconds, so that a SQL backend's microsecond precision compares exactly.
    let now = OffsetDateTime::now_utc();
    let t0 = now.replace_nanosecond(0).unwrap_or(now);
    invalid_triggers(tracker, &run, t0).await;
    if supports_queries {
        super::incident_lifecycle::lifecycle(tracker, &run, t0).await;
    } else {
        write_only(tracker, &run, t0).await;
    }
}

async fn invalid_triggers(tracker: &dyn IncidentTracker, run: &str, at: OffsetDateTime) {
    let name = tracker.to_string();
    let good = trigger(&format!("{run}-invalid"), IncidentSeverity::Sev3, at);
    let cases = [
        (
            "an empty dedup key",
            Trigger {
                dedup_key: String::new(),
                ..good.clone()
            },
        ),
        (
            "a dedup key over the limit",
            Trigger {
                dedup_key: "k".repeat(MAX_DEDUP_KEY_LEN + 1),
                ..good.clone()
            },
        ),
        (
            "an empty summary",
            Trigger {
                summary: String::new(),
                ..good.clone()
            },
        ),
        (
            "a summary over the limit",
            Trigger {
                summary: "s".repeat(MAX_SUMMARY_LEN + 1),
                ..good.clone()
            },
        ),
        (
            "an empty source",
            Trigger {
                source: String::new(),
                ..good.clone()
            },
        ),
    ];
    for (what, t) in &cases {
        assert_kind!(
            name,
            tracker.trigger(t).await,
            Error::InvalidInput { .. },
            "trigger with {what}"
        );
    }
}

async fn write_only(tracker: &dyn IncidentTracker, run: &str, at: OffsetDateTime) {
    let name = tracker.to_string();
    let name = name.as_str();
    let key = format!("{run}-write-only");
    let inc = ok(
        name,
        "trigger",
        tracker
            .trigger(&trigger(&key, IncidentSeverity::Sev3, at))
            .await,
    );
    check(
        name,
        inc.dedup_key == key,
        "trigger returns the dedup key",
        &inc.dedup_key,
    );
    let inc = ok(
        name,
        "acknowledge",
        tracker.acknowledge(&key, "conformance", at).await,
    );
    check(
        name,
        inc.dedup_key == key,
        "acknowledge returns the dedup key",
        &inc.dedup_key,
    );
    let inc = ok(
        name,
        "resolve",
        tracker.resolve(&key, "conformance", at).await,
    );
    check(
        name,
        inc.dedup_key == key,
        "resolve returns the dedup key",
        &inc.dedup_key,
    );
    assert_kind!(
        name,
        tracker.get("conformance-any-id").await,
        Error::NotSupported { .. },
        "get without queries"
    );
    assert_kind!(
        name,
        tracker.list_open().await,
        Error::NotSupported { .. },
        "list_open without queries"
    );
}
