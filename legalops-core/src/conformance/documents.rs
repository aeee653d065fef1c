//! Conformance of [`DocumentStore`]: the blob checks it shares with backup targets.

use super::blobs::{self, Blobs};
use crate::documents::DocumentStore;

/// The key prefix the suite owns; everything under it is deleted first and last.
pub const DOCUMENTS_PREFIX: &str = "conformance/documents/";

/// Checks a [`DocumentStore`]: round trips (including a key with spaces and non-ASCII),
/// overwrite, `NotFound` for missing keys, idempotent delete, binary and empty objects,
/// listing by prefix sorted by key, and hostile keys (`../x`, `/abs`, `a//b`, ...)
/// refused with `InvalidInput` by every method, writing nothing.
///
/// Works only under [`DOCUMENTS_PREFIX`], which it clears first and last.
pub async fn document_store(store: &dyn DocumentStore) {
    let b = Blobs::Documents(store);
    blobs::basics(b, DOCUMENTS_PREFIX).await;
    blobs::clear(b, DOCUMENTS_PREFIX).await;
}
