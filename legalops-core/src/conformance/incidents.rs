//! Conformance of [`IncidentTracker`]: PagerDuty-style dedup, the lifecycle, the timeline
//! and, where the tracker can be queried, `get`, `list_open`, `set_status` and
//! `list_recent`.

use time::OffsetDateTime;

use super::{check, ok, unique};
use crate::error::Error;
use crate::incidents::{
    IncidentSeverity, IncidentStatus, IncidentTracker, MAX_DEDUP_KEY_LEN, MAX_SUMMARY_LEN, Trigger,
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
/// unknown id); `list_open` lists the open ones only, oldest first. `set_status`, for every
/// pair of states, succeeds exactly when [`crate::incidents::can_transition`] allows it:
/// a legal move sets the status, appends one timeline entry (kind `status`, text
/// `"<from> -> <to>"` in `snake_case`, the actor and time), sets `acknowledged_at` on the
/// first acknowledgement and `resolved_at` on resolving; an illegal one is `Conflict`
/// naming both states and changes nothing; an unknown id is `NotFound`. An acknowledgement
/// that timed out (back to triggered) can be given again; an incident resolved by
/// `set_status` frees its dedup key. `list_recent` lists incidents (open or not) opened at
/// or after `since`, newest first, at most `limit`.
///
/// With `supports_queries == false` (a write-only API such as PagerDuty Events v2): `get`,
/// `list_open`, `set_status` and `list_recent` are `NotSupported`.
///
/// Uses dedup keys unique to the run (`conformance-<uuid>-...`) and resolves what it opens;
/// the `list_recent` incidents are opened on 2000-01-06, a day nothing real uses.
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
        super::incident_status::set_status(tracker, &run, t0).await;
        super::incident_status::list_recent(tracker, &run).await;
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
    assert_kind!(
        name,
        tracker
            .set_status(
                "conformance-any-id",
                IncidentStatus::Acknowledged,
                "conformance",
                at
            )
            .await,
        Error::NotSupported { .. },
        "set_status without queries"
    );
    assert_kind!(
        name,
        tracker.list_recent(at, 10).await,
        Error::NotSupported { .. },
        "list_recent without queries"
    );
}
