//! Conformance suites: plain async functions over `&dyn Trait` that every backend runs
//! unchanged, ours and yours (modelled on object_store's `integration.rs`).
//!
//! Call the entry point of your family from your own test, under any async runtime:
//!
//! ```
//! # async fn demo() {
//! use legalops_core::mem::MemoryDocumentStore;
//! legalops_core::conformance::document_store(&MemoryDocumentStore::new()).await;
//! # }
//! ```
//!
//! Each suite clears, or works under a key space unique to the run, before it writes, so
//! it can run again and again against a shared real backend; run the suites of one backend
//! one after another, not in parallel with each other. A failure panics with the backend's
//! display name, what was being checked, and the error kind expected and got. Differences
//! between backends are arguments (`supports_object_lock`, `supports_queries`), never
//! silent skips. The suites depend on no test framework and no runtime.
//!
//! The records suites ([`users`], [`sessions`], [`api_keys`], [`audit_log`], [`security`],
//! [`settings`], [`rollups`]) can share one database with other data: what cannot be
//! deleted (users, keys, blocks, events) is keyed by the run (`conf-<uuid>-...`,
//! `198.18.0.0/15` and `2001:db8::/32` addresses), and what is pruned lives on fixed days
//! of 2000 and 2001 that nothing real uses, so a block the suite adds is never in force
//! today. The audit log is append-only and global: [`audit_log`] reasons relative to
//! `len()` before it runs and needs no other writer meanwhile; it leaves its entries (a
//! valid chain) and two checkpoints at tree sizes far beyond the log, so run it on a
//! database whose checkpoints nothing else verifies. The alerting suites ([`alert_store`],
//! [`lease_store`]) key everything by the run too and write times of 2000-01-05 and
//! 2000-01-07; [`alert_store`] leaves its silences and deliveries behind.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use crate::error::Result;

/// Asserts that `$result` is an `Err` matching `$kind`, naming the backend and the check.
macro_rules! assert_kind {
    ($backend:expr, $result:expr, $kind:pat, $($what:tt)+) => {
        match $result {
            Err($kind) => {}
            other => panic!(
                "{}: {}: expected Err({}), got {:?}",
                $backend,
                format_args!($($what)+),
                stringify!($kind),
                other
            ),
        }
    };
}

mod alert_log;
mod alert_store;
mod alerts;
mod api_keys;
mod audit;
mod backup;
mod blobs;
mod documents;
mod incident_lifecycle;
mod incident_status;
mod incidents;
mod leases;
mod metrics;
mod records;
mod rollups;
mod security;
mod security_blocks;
mod sessions;
mod users;

pub use alert_store::alert_store;
pub use alerts::alert_channel;
pub use api_keys::api_keys;
pub use audit::audit_log;
pub use backup::{BACKUP_LOCKED_PREFIX, BACKUP_PREFIX, backup_target};
pub use documents::{DOCUMENTS_PREFIX, document_store};
pub use incidents::incident_tracker;
pub use leases::lease_store;
pub use metrics::metrics_sink;
pub use records::{database, settings};
pub use rollups::rollups;
pub use security::security;
pub use sessions::sessions;
pub use users::users;

/// Unwraps `result`, or panics naming the backend, the check and the error.
#[track_caller]
fn ok<T>(backend: &str, what: impl std::fmt::Display, result: Result<T>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{backend}: {what}: expected Ok, got Err({e:?}) ({e})"),
    }
}

/// Asserts `cond`, naming the backend and the check, with the value that failed it.
#[track_caller]
fn check(backend: &str, cond: bool, what: impl std::fmt::Display, got: impl Debug) {
    assert!(cond, "{backend}: {what}; got {got:?}");
}

/// A boxed future, so that calls to one backend can be raced against each other.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Polls every future concurrently on the calling task until all are done; outputs in the
/// input's order. Concurrent, not parallel: enough to interleave calls on a connection
/// pool or a network backend, which is where atomicity bugs show.
async fn join_all<T: Send>(mut futures: Vec<BoxFuture<'_, T>>) -> Vec<T> {
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(outputs.iter_mut().filter_map(Option::take).collect())
        }
    })
    .await
}

/// A fresh id for key spaces that cannot be cleared (incidents, retained objects).
fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
