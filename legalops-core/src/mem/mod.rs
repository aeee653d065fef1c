//! In-memory defaults of every contract: for tests, examples and single-process use.
//!
//! Each type keeps its state behind a `std::sync::Mutex` (core pulls in no runtime), never
//! holds the lock across an `.await`, and passes its family's conformance suite
//! (`tests/conformance_mem.rs`). Types that stand in for a receiver in other crates' tests
//! ([`MemoryChannel`], [`MemorySink`]) also record what they got and can be told to fail.
//!
//! [`MemoryRecords`] is one value implementing every records trait (settings, rollups,
//! users, sessions, API keys, the audit log, security state, alerting state, leases and the
//! built-in incident tracker) over one shared state; its
//! audit log numbers and hash-chains entries exactly as a SQL backend must, so that the
//! audit verifier can be tested without a database.

mod alerting;
mod alerts;
mod audit;
mod backup;
mod documents;
mod identity;
mod incidents;
mod metrics;
mod records;
mod security;
mod sessions;

pub use alerts::MemoryChannel;
pub use backup::MemoryBackupTarget;
pub use documents::MemoryDocumentStore;
pub use incidents::MemoryTracker;
pub use metrics::MemorySink;
pub use records::MemoryRecords;

use std::sync::{Mutex, MutexGuard};

use crate::error::Error;

/// The display name every in-memory default shares.
const NAME: &str = "memory";

/// Locks `m`, recovering from poisoning.
///
/// A poisoned lock only means another thread panicked while holding it; every mutation
/// here completes before anything that can panic, so the state behind it is consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The error an injected failure (`fail_next`) returns: retryable, like a transient
/// network failure, so that callers' retry paths are exercised too.
fn injected_failure() -> Error {
    Error::backend(
        NAME,
        true,
        std::io::Error::other("injected failure (fail_next)"),
    )
}

/// Runs a future that never waits on anything (every in-memory operation) to completion
/// without a runtime, so that unit tests and property tests stay synchronous.
#[cfg(test)]
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
