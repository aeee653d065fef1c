//! LegalOps contracts and rules.
//!
//! This crate holds what every other crate speaks: the [`Error`] type, the injectable
//! [`Clock`], the health model, and the backend traits of the six families
//! (records, documents, metrics, alerts, backups, incidents), each with an in-memory default
//! in [`mem`] and, behind the `conformance` feature, a conformance suite in `conformance`
//! that every backend (ours and yours) runs unchanged.
//!
//! It does no I/O of its own and pulls in no runtime, web framework, SQL driver or cloud SDK.

pub mod alerting;
pub mod alerts;
pub mod audit;
pub mod backup;
pub mod clock;
pub mod documents;
pub mod error;
pub mod health;
pub mod identity;
pub mod incidents;
pub mod mem;
pub mod metrics;
pub mod object;
pub mod records;
pub mod redact;
pub mod scan;
pub mod security;
pub mod stats;
pub mod thresholds;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{BoxError, Error, Result};
