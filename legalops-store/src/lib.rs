//! LegalOps persistence backends.
//!
//! - Records over sqlx: [`connect`] picks SQLite (`sqlite://./data/legalops.db`,
//!   `sqlite::memory:`; feature `sqlite`) or PostgreSQL (`postgres://...`; feature
//!   `postgres`) by URL, applies the embedded migrations and returns a
//!   [`legalops_core::records::Records`] bundle. [`SqliteRecords`] and [`PostgresRecords`]
//!   implement every records trait: settings, rollups, users, sessions, API keys, the
//!   audit log (appends serialized across replicas), security state, alerting state
//!   (rule states, silences, notification groups, deliveries), leases (one holder across
//!   replicas) and the built-in incident tracker (writes serialized across replicas).
//! - Documents and backup targets over `object_store`: [`ObjectStoreDocuments`]
//!   (`file:///dir`, `memory://`), [`LocalDirTarget`] and [`ObjectStoreTarget`].
//!
//! Every error is a [`legalops_core::Error`] kind; backend errors never leak their types.
//!
//! ```
//! # tokio_test_block_on(async {
//! use legalops_store::{ConnectOptions, connect};
//!
//! let records = connect("sqlite::memory:", ConnectOptions::default()).await?;
//! records.settings.put_setting("instance_id", "abc").await?;
//! assert_eq!(records.settings.get_setting("instance_id").await?.as_deref(), Some("abc"));
//! assert_eq!(records.database.schema_version().await?, 3);
//! # Ok::<(), legalops_core::Error>(())
//! # });
//! # fn tokio_test_block_on<F: std::future::Future<Output = legalops_core::Result<()>>>(f: F) {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build()
//! #         .expect("runtime").block_on(f).expect("example");
//! # }
//! ```

mod objects;
mod sql;

pub use objects::{LocalDirTarget, ObjectStoreDocuments, ObjectStoreTarget};
#[cfg(feature = "postgres")]
pub use sql::PostgresRecords;
#[cfg(feature = "sqlite")]
pub use sql::SqliteRecords;
pub use sql::{ConnectOptions, connect};
