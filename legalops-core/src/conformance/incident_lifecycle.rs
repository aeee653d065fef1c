//! The stateful half of the [`IncidentTracker`] suite (`supports_queries == true`): dedup,
//! severity, acknowledgement, resolution, reopening, notes, `get` and `list_open`.

use time::{Duration, OffsetDateTime};

use super::incidents::trigger;
use super::{check, ok};
use crate::error::Error;
use crate::incidents::{Incident, IncidentSeverity, IncidentStatus, IncidentTracker};

pub(super) async fn lifecycle(tracker: &dyn IncidentTracker, run: &str, t0: OffsetDateTime) {
    let at = |s: i64| t0 + Duration::seconds(s);
    let name = tracker.to_string();
    let name = name.as_str();
    let (a, b) = (format!("{run}-a"), format!("{run}-b"));
    use IncidentSeverity::{Sev1, Sev3, Sev4};

    let first = ok(
        name,
        "first trigger",
        tracker.trigger(&trigger(&a, Sev3, at(0))).await,
    );
    let expect_new = |inc: &Incident, what: &str| {
        check(
            name,
            inc.dedup_key == a && inc.status == IncidentStatus::Triggered,
            format_args!("{what}: a new triggered incident"),
            inc,
        );
        check(
            name,
            inc.trigger_count == 1 && !inc.timeline.is_empty(),
            format_args!("{what}: one trigger, on the timeline"),
            inc,
        );
        check(
            name,
            inc.acknowledged_at.is_none() && inc.resolved_at.is_none(),
            format_args!("{what}: not acknowledged or resolved"),
            inc,
        );
    };
    expect_new(&first, "first trigger");
    check(
        name,
        first.opened_at == at(0) && first.severity == Sev3,
        "opened_at and severity come from the trigger",
        &first,
    );

    let more = ok(
        name,
        "second trigger, more severe",
        tracker.trigger(&trigger(&a, Sev1, at(1))).await,
    );
    check(
        name,
        more.id == first.id,
        "a trigger with an open incident's key adds to it",
        (&first.id, &more.id),
    );
    check(
        name,
        more.trigger_count == 2 && more.severity == Sev1,
        "trigger_count grows; severity rises",
        &more,
    );
    check(
        name,
        more.summary == first.summary,
        "the summary stays the first trigger's",
        &more.summary,
    );
    check(
        name,
        more.timeline.len() > first.timeline.len(),
        "an added trigger is on the timeline",
        &more.timeline,
    );
    let less = ok(
        name,
        "third trigger, less severe",
        tracker.trigger(&trigger(&a, Sev4, at(2))).await,
    );
    check(
        name,
        less.trigger_count == 3 && less.severity == Sev1,
        "severity keeps the most severe seen",
        &less,
    );

    let other = ok(
        name,
        "trigger of another key",
        tracker.trigger(&trigger(&b, Sev3, at(3))).await,
    );
    check(
        name,
        other.id != first.id && other.trigger_count == 1,
        "another dedup key opens another incident",
        &other,
    );

    let acked = ok(
        name,
        "acknowledge",
        tracker.acknowledge(&a, "ann", at(4)).await,
    );
    check(
        name,
        acked.status == IncidentStatus::Acknowledged && acked.acknowledged_at == Some(at(4)),
        "acknowledge sets status and time",
        &acked,
    );
    check(
        name,
        acked.timeline.len() > less.timeline.len(),
        "acknowledge is on the timeline",
        &acked.timeline,
    );
    let again = ok(
        name,
        "acknowledge again (idempotent)",
        tracker.acknowledge(&a, "bob", at(5)).await,
    );
    check(
        name,
        again.acknowledged_at == Some(at(4)) && again.status == IncidentStatus::Acknowledged,
        "acknowledging again keeps the first time",
        &again,
    );

    let retrig = ok(
        name,
        "trigger while acknowledged",
        tracker.trigger(&trigger(&a, Sev3, at(6))).await,
    );
    check(
        name,
        retrig.id == first.id && retrig.trigger_count == 4,
        "a trigger adds to an acknowledged incident",
        &retrig,
    );
    check(
        name,
        retrig.status == IncidentStatus::Acknowledged,
        "a trigger does not undo the acknowledgement",
        &retrig,
    );

    let noted = ok(
        name,
        "note",
        tracker
            .note(&a, "ann", "looking at the database", at(7))
            .await,
    );
    check(
        name,
        noted
            .timeline
            .iter()
            .any(|e| e.text.contains("looking at the database") && e.actor == "ann"),
        "a note is on the timeline with its actor",
        &noted.timeline,
    );
    check(
        name,
        noted.timeline.len() > retrig.timeline.len(),
        "a note grows the timeline",
        &noted.timeline,
    );

    let open = ok(name, "list_open", tracker.list_open().await);
    let ours: Vec<&str> = open
        .iter()
        .filter(|i| i.dedup_key.starts_with(run))
        .map(|i| i.id.as_str())
        .collect();
    check(
        name,
        ours == [first.id.as_str(), other.id.as_str()],
        "list_open lists open incidents oldest first",
        &ours,
    );

    let resolved = ok(name, "resolve", tracker.resolve(&a, "ann", at(8)).await);
    check(
        name,
        resolved.status == IncidentStatus::Resolved && resolved.resolved_at == Some(at(8)),
        "resolve sets status and time",
        &resolved,
    );
    check(
        name,
        resolved.timeline.len() > noted.timeline.len(),
        "resolve is on the timeline",
        &resolved.timeline,
    );
    assert_kind!(
        name,
        tracker.resolve(&a, "ann", at(9)).await,
        Error::NotFound { .. },
        "resolve with no open incident"
    );
    assert_kind!(
        name,
        tracker.acknowledge(&a, "ann", at(9)).await,
        Error::NotFound { .. },
        "acknowledge with no open incident"
    );
    let never = format!("{run}-never");
    assert_kind!(
        name,
        tracker.acknowledge(&never, "ann", at(9)).await,
        Error::NotFound { .. },
        "acknowledge of an unknown key"
    );
    assert_kind!(
        name,
        tracker.resolve(&never, "ann", at(9)).await,
        Error::NotFound { .. },
        "resolve of an unknown key"
    );
    assert_kind!(
        name,
        tracker.note(&never, "ann", "x", at(9)).await,
        Error::NotFound { .. },
        "note on an unknown key"
    );

    let reopened = ok(
        name,
        "trigger after resolve",
        tracker.trigger(&trigger(&a, Sev4, at(10))).await,
    );
    check(
        name,
        reopened.id != first.id,
        "after resolve the same key opens a new incident with a new id",
        (&first.id, &reopened.id),
    );
    expect_new(&reopened, "trigger after resolve");
    let noted = ok(
        name,
        "note after reopening",
        tracker.note(&a, "ann", "second occurrence", at(11)).await,
    );
    check(
        name,
        noted.id == reopened.id,
        "a note goes on the newest incident of the key",
        (&reopened.id, &noted.id),
    );

    let old = ok(
        name,
        "get of the resolved incident",
        tracker.get(&first.id).await,
    );
    check(
        name,
        old.status == IncidentStatus::Resolved && old.trigger_count == 4,
        "get returns the resolved incident as it was",
        &old,
    );
    check(
        name,
        old.timeline == resolved.timeline,
        "a later note does not touch a resolved incident",
        &old.timeline,
    );
    let new = ok(
        name,
        "get of the reopened incident",
        tracker.get(&reopened.id).await,
    );
    check(
        name,
        new.timeline == noted.timeline,
        "get returns the current timeline",
        &new.timeline,
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_kind!(
        name,
        tracker.get(&unknown).await,
        Error::NotFound { .. },
        "get of an unknown id"
    );

    let open = ok(name, "list_open after resolve", tracker.list_open().await);
    let ours: Vec<&str> = open
        .iter()
        .filter(|i| i.dedup_key.starts_with(run))
        .map(|i| i.id.as_str())
        .collect();
    check(
        name,
        ours == [other.id.as_str(), reopened.id.as_str()],
        "list_open drops resolved incidents",
        &ours,
    );

    for key in [&a, &b] {
        ok(
            name,
            format!("resolving {key} at the end"),
            tracker.resolve(key, "conformance", at(12)).await,
        );
    }
}
