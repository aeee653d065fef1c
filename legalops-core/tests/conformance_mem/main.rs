//! Every conformance suite against every in-memory default: the suites' own proof that
//! they pass on a correct backend, and the defaults' proof that they are correct.

use std::sync::Arc;

use legalops_core::conformance;
use legalops_core::mem::{
    MemoryBackupTarget, MemoryChannel, MemoryDocumentStore, MemoryRecords, MemorySink,
    MemoryTracker,
};

#[tokio::test]
async fn memory_records_pass_the_records_suites() {
    let db = MemoryRecords::new();
    conformance::settings(&db).await;
    conformance::rollups(&db).await;
    conformance::database(&db).await;
}

#[tokio::test]
async fn memory_records_pass_the_identity_audit_and_security_suites() {
    let db = MemoryRecords::new();
    conformance::users(&db).await;
    conformance::sessions(&db).await;
    conformance::api_keys(&db).await;
    conformance::audit_log(&db).await;
    conformance::security(&db).await;
    conformance::alert_store(&db).await;
    conformance::lease_store(&db).await;
    conformance::incident_tracker(&db, true).await;
}

#[tokio::test]
async fn memory_records_pass_the_alerting_and_incident_suites() {
    let db = MemoryRecords::new();
    conformance::alert_store(&db).await;
    conformance::lease_store(&db).await;
    conformance::incident_tracker(&db, true).await;
}

#[tokio::test]
async fn suites_can_run_twice_against_the_same_backend() {
    let db = MemoryRecords::new();
    // One store for every records suite, as a SQL backend is: the suites share it.
    for _ in 0..2 {
        conformance::users(&db).await;
        conformance::sessions(&db).await;
        conformance::api_keys(&db).await;
        conformance::audit_log(&db).await;
        conformance::security(&db).await;
        conformance::alert_store(&db).await;
        conformance::lease_store(&db).await;
        conformance::incident_tracker(&db, true).await;
    }
    let docs = MemoryDocumentStore::new();
    let target = MemoryBackupTarget::new();
    let tracker = MemoryTracker::new();
    for _ in 0..2 {
        conformance::settings(&db).await;
        conformance::rollups(&db).await;
        conformance::document_store(&docs).await;
        conformance::backup_target(&target, true).await;
        conformance::incident_tracker(&tracker, true).await;
    }
}

#[tokio::test]
async fn memory_document_store_passes() {
    conformance::document_store(&MemoryDocumentStore::new()).await;
}

#[tokio::test]
async fn memory_backup_target_passes_with_object_lock() {
    conformance::backup_target(&MemoryBackupTarget::new(), true).await;
}

#[tokio::test]
async fn memory_backup_target_passes_without_object_lock() {
    conformance::backup_target(&MemoryBackupTarget::new().without_object_lock(), false).await;
}

#[tokio::test]
#[should_panic(expected = "capabilities().object_lock is false")]
async fn declaring_the_wrong_capability_fails_the_suite() {
    conformance::backup_target(&MemoryBackupTarget::new(), false).await;
}

#[tokio::test]
async fn memory_sink_passes() {
    let sink = MemorySink::new();
    conformance::metrics_sink(&sink).await;
    assert_eq!(sink.snapshots().len(), 4);
}

#[tokio::test]
async fn memory_channel_passes() {
    let channel = Arc::new(MemoryChannel::new());
    let probe = channel.clone();
    conformance::alert_channel(channel.as_ref(), &move || probe.sent()).await;
}

#[tokio::test]
#[should_panic(expected = "memory: send of a Firing notification")]
async fn a_failing_channel_fails_the_suite_with_its_name() {
    let channel = Arc::new(MemoryChannel::new());
    channel.fail_next(1);
    let probe = channel.clone();
    conformance::alert_channel(channel.as_ref(), &move || probe.sent()).await;
}

#[tokio::test]
async fn memory_tracker_passes() {
    conformance::incident_tracker(&MemoryTracker::new(), true).await;
}

#[tokio::test]
#[should_panic(expected = "get without queries")]
async fn a_queryable_tracker_declared_write_only_fails_the_suite() {
    conformance::incident_tracker(&MemoryTracker::new(), false).await;
}

/// Compiles only if `f` is `Send`, so that callers may `tokio::spawn` a suite.
fn assert_send<F: std::future::Future + Send>(f: F) -> F {
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_suite_is_send_and_runs_on_a_spawned_task() {
    let handle = tokio::spawn(async {
        let db = MemoryRecords::new();
        let channel = MemoryChannel::new();
        assert_send(conformance::settings(&db)).await;
        assert_send(conformance::rollups(&db)).await;
        assert_send(conformance::database(&db)).await;
        assert_send(conformance::users(&db)).await;
        assert_send(conformance::sessions(&db)).await;
        assert_send(conformance::api_keys(&db)).await;
        assert_send(conformance::audit_log(&db)).await;
        assert_send(conformance::security(&db)).await;
        assert_send(conformance::document_store(&MemoryDocumentStore::new())).await;
        assert_send(conformance::backup_target(&MemoryBackupTarget::new(), true)).await;
        assert_send(conformance::metrics_sink(&MemorySink::new())).await;
        assert_send(conformance::alert_channel(&channel, &|| channel.sent())).await;
        assert_send(conformance::incident_tracker(&MemoryTracker::new(), true)).await;
        assert_send(conformance::incident_tracker(&db, true)).await;
        assert_send(conformance::alert_store(&db)).await;
        assert_send(conformance::lease_store(&db)).await;
    });
    assert!(handle.await.is_ok());
}

#[tokio::test]
async fn wrappers_pass_the_sink_suite_and_fan_out_to_every_sink() {
    use legalops_core::metrics::{FanoutSink, NoopSink};
    conformance::metrics_sink(&NoopSink).await;
    let (a, b) = (Arc::new(MemorySink::new()), Arc::new(MemorySink::new()));
    let fanout = FanoutSink::new(vec![a.clone(), Arc::new(NoopSink), b.clone()]);
    conformance::metrics_sink(&fanout).await;
    assert_eq!(
        a.snapshots(),
        b.snapshots(),
        "every sink of a fan-out sees every snapshot"
    );
    assert!(!a.snapshots().is_empty());
}

#[tokio::test]
async fn a_failing_sink_in_a_fanout_does_not_starve_the_others() {
    use legalops_core::metrics::{FanoutSink, MetricsSink, MetricsSnapshot};
    let (bad, good) = (Arc::new(MemorySink::new()), Arc::new(MemorySink::new()));
    bad.fail_next(1);
    let fanout = FanoutSink::new(vec![bad.clone(), good.clone()]);
    let snap = MetricsSnapshot {
        at: time::OffsetDateTime::UNIX_EPOCH,
        samples: Vec::new(),
    };
    assert!(
        fanout.write(&snap).await.is_err(),
        "the failure is reported"
    );
    assert_eq!(
        good.snapshots().len(),
        1,
        "the healthy sink still got the snapshot"
    );
    assert_eq!(fanout.to_string(), "fanout[memory, memory]");
}

mod broken;

use broken::{Broken, Fault};

#[tokio::test]
#[should_panic(
    expected = "broken: create_user with a taken email: expected Err(Error::AlreadyExists"
)]
async fn the_users_suite_catches_the_wrong_error_kind() {
    conformance::users(&Broken::new(Fault::EmailTakenIsConflict)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: create_user whose email differs only in case: expected Ok")]
async fn the_users_suite_catches_a_case_insensitive_email() {
    conformance::users(&Broken::new(Fault::EmailsFoldCase)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: a session is not active at its expires_at")]
async fn the_sessions_suite_catches_an_inclusive_expiry() {
    conformance::sessions(&Broken::new(Fault::ActiveAtExpiry)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: entries returns exactly what append returned")]
async fn the_audit_suite_catches_a_lossy_time_column() {
    conformance::audit_log(&Broken::new(Fault::AuditMilliseconds)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: append returns the entry normalised")]
async fn the_audit_suite_catches_an_unnormalised_entry() {
    conformance::audit_log(&Broken::new(Fault::AuditUnnormalised)).await;
}

#[tokio::test]
#[should_panic(expected = "an attempt at `since` counts")]
async fn the_security_suite_catches_an_exclusive_window_start() {
    conformance::security(&Broken::new(Fault::SinceExclusive)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: events lists only `at >= since`, newest first")]
async fn the_security_suite_catches_events_in_the_wrong_order() {
    conformance::security(&Broken::new(Fault::EventsOldestFirst)).await;
}

#[tokio::test]
async fn the_wrapper_without_a_fault_passes() {
    // The control: the wrapper itself is sound, so each fault test fails for its fault.
    let db = Broken::new(Fault::None);
    conformance::users(&db).await;
    conformance::sessions(&db).await;
    conformance::audit_log(&db).await;
    conformance::security(&db).await;
    conformance::alert_store(&db).await;
    conformance::lease_store(&db).await;
    conformance::incident_tracker(&db, true).await;
}

#[tokio::test]
#[should_panic(expected = "broken: rule_states returns every field as put")]
async fn the_alert_store_suite_catches_lossy_rule_values() {
    conformance::alert_store(&Broken::new(Fault::LossyRuleValues)).await;
}

#[tokio::test]
#[should_panic(expected = "broken: release by a non-holder changes nothing")]
async fn the_lease_suite_catches_a_release_by_anyone() {
    conformance::lease_store(&Broken::new(Fault::ReleaseByAnyone)).await;
}

#[tokio::test]
#[should_panic(
    expected = "broken: exactly one of eight concurrent try_acquire of a free lease wins"
)]
async fn the_lease_suite_catches_a_check_then_act_race() {
    conformance::lease_store(&Broken::new(Fault::LeaseCheckThenAct)).await;
}

#[tokio::test]
#[should_panic(expected = "(illegal): expected Err(Error::Conflict")]
async fn the_incident_suite_catches_the_wrong_error_kind_for_an_illegal_move() {
    conformance::incident_tracker(&Broken::new(Fault::IllegalMoveIsInvalidInput), true).await;
}

#[tokio::test]
#[should_panic(expected = "broken: list_recent lists only `opened_at >= since`, newest first")]
async fn the_incident_suite_catches_list_recent_in_the_wrong_order() {
    conformance::incident_tracker(&Broken::new(Fault::RecentOldestFirst), true).await;
}
