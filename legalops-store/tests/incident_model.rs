//! The built-in tracker over SQLite behaves exactly like `MemoryTracker` for any sequence
//! of actions: same incidents (ids, severities, timelines), same errors, same listings.

mod common;

use common::incidents::{Op, matches_memory};
use legalops_core::incidents::{IncidentSeverity, IncidentStatus};
use legalops_store::{ConnectOptions, SqliteRecords};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    use IncidentSeverity::*;
    use IncidentStatus::*;
    let sev = prop_oneof![Just(Sev1), Just(Sev2), Just(Sev3), Just(Sev4)];
    let status = prop_oneof![
        Just(Triggered),
        Just(Acknowledged),
        Just(Investigating),
        Just(Resolved),
        Just(Reviewing),
        Just(Closed),
    ];
    prop_oneof![
        4 => (0..3usize, sev).prop_map(|(k, s)| Op::Trigger(k, s)),
        2 => (0..3usize).prop_map(Op::Ack),
        2 => (0..3usize).prop_map(Op::Resolve),
        1 => (0..3usize).prop_map(Op::Note),
        2 => (1..6u64, status).prop_map(|(id, s)| Op::SetStatus(id, s)),
        1 => (0..6u64).prop_map(Op::Get),
        1 => Just(Op::ListOpen),
        1 => (0..30i64, 0..5u64).prop_map(|(m, l)| Op::ListRecent(m, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sqlite_tracker_matches_the_memory_model(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let db = SqliteRecords::from_url("sqlite::memory:", ConnectOptions::default())
                .await
                .expect("connect");
            matches_memory(&db, &ops).await;
        });
    }
}
