//! The lifecycle half of the [`IncidentTracker`] suite (`supports_queries == true`):
//! `set_status` for every pair of states against [`can_transition`], the timestamps and
//! timeline it leaves, and `list_recent`.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::incidents::trigger;
use super::{check, ok};
use crate::error::Error;
use crate::incidents::{
    Incident, IncidentSeverity, IncidentStatus, IncidentTracker, can_transition,
};

use IncidentStatus::{Acknowledged, Closed, Investigating, Resolved, Reviewing, Triggered};

const ALL: [IncidentStatus; 6] = [
    Triggered,
    Acknowledged,
    Investigating,
    Resolved,
    Reviewing,
    Closed,
];

/// The day `list_recent` incidents are opened on (2000-01-06: nothing real uses it).
const RECENT: OffsetDateTime = datetime!(2000-01-06 00:00 UTC);

/// The status as serialised (`snake_case`), which is how errors and the timeline name it.
fn status_name(s: IncidentStatus) -> String {
    match serde_json::to_value(s) {
        Ok(serde_json::Value::String(n)) => n,
        other => format!("{other:?}"),
    }
}

/// The legal moves from triggered that reach `s`.
fn path_to(s: IncidentStatus) -> &'static [IncidentStatus] {
    match s {
        Triggered => &[],
        Acknowledged => &[Acknowledged],
        Investigating => &[Investigating],
        Resolved => &[Resolved],
        Reviewing => &[Resolved, Reviewing],
        Closed => &[Resolved, Closed],
    }
}

pub(super) async fn set_status(tracker: &dyn IncidentTracker, run: &str, t0: OffsetDateTime) {
    let name = tracker.to_string();
    let name = name.as_str();
    let at = |s: i64| t0 + Duration::seconds(s);
    for from in ALL {
        for to in ALL {
            let key = format!("{run}-status-{}-{}", status_name(from), status_name(to));
            let mut inc = ok(
                name,
                format!("trigger for {from:?} -> {to:?}"),
                tracker
                    .trigger(&trigger(&key, IncidentSeverity::Sev2, at(0)))
                    .await,
            );
            for (n, step) in path_to(from).iter().enumerate() {
                inc = ok(
                    name,
                    format!(
                        "set_status {:?} -> {step:?} (to reach {from:?})",
                        inc.status
                    ),
                    tracker
                        .set_status(&inc.id, *step, "ann", at(1 + n as i64))
                        .await,
                );
            }
            check(
                name,
                inc.status == from,
                "set_status moves to the state asked",
                &inc,
            );
            one_move(tracker, &inc, to, at(10)).await;
            if tracker.get(&inc.id).await.is_ok_and(|i| i.status.is_open()) {
                ok(
                    name,
                    "resolve (cleanup)",
                    tracker.resolve(&key, "conformance", at(20)).await,
                );
            }
        }
    }
    assert_kind!(
        name,
        tracker
            .set_status(
                &uuid::Uuid::new_v4().to_string(),
                Acknowledged,
                "ann",
                at(0)
            )
            .await,
        Error::NotFound { .. },
        "set_status of an unknown id"
    );
    timestamps(tracker, run, t0).await;
}

/// Checks one `set_status(from -> to)` against [`can_transition`].
async fn one_move(
    tracker: &dyn IncidentTracker,
    before: &Incident,
    to: IncidentStatus,
    at: OffsetDateTime,
) {
    let name = tracker.to_string();
    let name = name.as_str();
    let from = before.status;
    let (f, t) = (status_name(from), status_name(to));
    let got = tracker.set_status(&before.id, to, "bob ✓", at).await;
    if !can_transition(from, to) {
        match &got {
            Err(Error::Conflict { message }) => check(
                name,
                message.contains(&f) && message.contains(&t),
                format_args!("the Conflict of set_status {f} -> {t} names both states"),
                message,
            ),
            other => panic!(
                "{name}: set_status {f} -> {t} (illegal): expected Err(Error::Conflict {{ .. }}), got {other:?}"
            ),
        }
        let after = ok(
            name,
            "get after an illegal move",
            tracker.get(&before.id).await,
        );
        check(
            name,
            &after == before,
            format_args!("an illegal move {f} -> {t} changes nothing"),
            &after,
        );
        return;
    }
    let after = ok(name, format_args!("set_status {f} -> {t} (legal)"), got);
    check(
        name,
        after.status == to && after.id == before.id,
        format_args!("set_status {f} -> {t} moves the incident"),
        &after,
    );
    check(
        name,
        after.timeline.len() == before.timeline.len() + 1
            && after.timeline[..before.timeline.len()] == before.timeline[..],
        format_args!("set_status {f} -> {t} appends one timeline entry"),
        &after.timeline,
    );
    let last = after.timeline.last();
    check(
        name,
        last.is_some_and(|e| {
            e.kind == "status"
                && e.text == format!("{f} -> {t}")
                && e.actor == "bob ✓"
                && e.at == at
        }),
        format_args!(
            "the entry of set_status {f} -> {t} is kind \"status\", text \"{f} -> {t}\", with actor and time"
        ),
        last,
    );
    let want_ack = match to {
        Acknowledged => before.acknowledged_at.or(Some(at)),
        _ => before.acknowledged_at,
    };
    let want_resolved = if to == Resolved {
        Some(at)
    } else {
        before.resolved_at
    };
    check(
        name,
        after.acknowledged_at == want_ack && after.resolved_at == want_resolved,
        format_args!(
            "set_status {f} -> {t}: acknowledged_at set by the first acknowledgement, resolved_at by resolving"
        ),
        &after,
    );
    let got = ok(
        name,
        "get after a legal move",
        tracker.get(&before.id).await,
    );
    check(
        name,
        got == after,
        "get returns the incident as set_status did",
        &got,
    );
}

/// An acknowledgement that timed out and is given again; resolving by set_status frees the
/// dedup key.
async fn timestamps(tracker: &dyn IncidentTracker, run: &str, t0: OffsetDateTime) {
    let name = tracker.to_string();
    let name = name.as_str();
    let at = |s: i64| t0 + Duration::seconds(s);
    let key = format!("{run}-ack-timeout");
    let inc = ok(
        name,
        "trigger",
        tracker
            .trigger(&trigger(&key, IncidentSeverity::Sev1, at(0)))
            .await,
    );
    let acked = ok(
        name,
        "acknowledge",
        tracker.acknowledge(&key, "ann", at(1)).await,
    );
    let back = ok(
        name,
        "set_status acknowledged -> triggered (timed out)",
        tracker
            .set_status(&inc.id, Triggered, "system", at(1801))
            .await,
    );
    check(
        name,
        back.status == Triggered && back.acknowledged_at == Some(at(1)),
        "a timed-out acknowledgement goes back to triggered and keeps the first time",
        &back,
    );
    let again = ok(
        name,
        "acknowledge after the timeout",
        tracker.acknowledge(&key, "bob", at(1802)).await,
    );
    check(
        name,
        again.status == Acknowledged
            && again.acknowledged_at == acked.acknowledged_at
            && again.timeline.len() == back.timeline.len() + 1,
        "acknowledge after a timeout acknowledges again (on the timeline), keeping the first time",
        &again,
    );
    let resolved = ok(
        name,
        "set_status -> resolved",
        tracker.set_status(&inc.id, Resolved, "ann", at(1900)).await,
    );
    assert_kind!(
        name,
        tracker.resolve(&key, "ann", at(1901)).await,
        Error::NotFound { .. },
        "resolve after set_status resolved it"
    );
    let reopened = ok(
        name,
        "trigger after set_status resolved",
        tracker
            .trigger(&trigger(&key, IncidentSeverity::Sev3, at(1902)))
            .await,
    );
    check(
        name,
        reopened.id != resolved.id && reopened.trigger_count == 1,
        "after set_status resolved, the same key opens a new incident",
        &reopened,
    );
    ok(
        name,
        "resolve (cleanup)",
        tracker.resolve(&key, "conformance", at(1903)).await,
    );
}

pub(super) async fn list_recent(tracker: &dyn IncidentTracker, run: &str) {
    let name = tracker.to_string();
    let name = name.as_str();
    let since = RECENT + Duration::hours(1);
    let tick = Duration::microseconds(1);
    // Opened out of time order: the listing follows opened_at.
    let opened_at = [
        since - tick,
        since,
        since + Duration::seconds(2),
        since + Duration::seconds(1),
    ];
    let mut opened: Vec<Incident> = Vec::new();
    for (n, t) in opened_at.into_iter().enumerate() {
        let key = format!("{run}-recent-{n}");
        opened.push(ok(
            name,
            "trigger for list_recent",
            tracker
                .trigger(&trigger(&key, IncidentSeverity::Sev3, t))
                .await,
        ));
    }
    // Newer incidents of other runs may list first: judge the whole list, then ours.
    let all = ok(
        name,
        "list_recent",
        tracker.list_recent(since, 1_000_000).await,
    );
    check(
        name,
        all.iter().all(|i| i.opened_at >= since)
            && all.windows(2).all(|w| w[0].opened_at >= w[1].opened_at),
        "list_recent lists only `opened_at >= since`, newest first",
        all.iter().map(|i| (&i.id, i.opened_at)).collect::<Vec<_>>(),
    );
    let prefix = format!("{run}-recent-");
    let ours: Vec<&Incident> = all
        .iter()
        .filter(|i| i.dedup_key.starts_with(&prefix))
        .collect();
    check(
        name,
        ours == [&opened[2], &opened[3], &opened[1]],
        "list_recent returns the incidents as they are, newest first; one opened at `since` is listed, one 1µs before is not",
        &ours,
    );
    let two = ok(
        name,
        "list_recent with a limit",
        tracker.list_recent(since, 2).await,
    );
    let times = |v: &[Incident]| v.iter().map(|i| i.opened_at).collect::<Vec<_>>();
    check(
        name,
        times(&two) == times(&all[..all.len().min(2)]),
        "list_recent with limit n returns the n newest",
        times(&two),
    );
    let none = ok(
        name,
        "list_recent with limit 0",
        tracker.list_recent(since, 0).await,
    );
    check(
        name,
        none.is_empty(),
        "list_recent with limit 0 is empty",
        &none,
    );
    for i in &opened {
        ok(
            name,
            "resolve (cleanup)",
            tracker
                .resolve(&i.dedup_key, "conformance", since + Duration::minutes(1))
                .await,
        );
    }
    let resolved = ok(
        name,
        "list_recent after resolve",
        tracker.list_recent(since, 1_000_000).await,
    );
    check(
        name,
        resolved
            .iter()
            .filter(|i| i.dedup_key.starts_with(&prefix))
            .count()
            == 3,
        "list_recent lists resolved incidents too",
        resolved.len(),
    );
}
