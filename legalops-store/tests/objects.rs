//! Documents and backup targets over `object_store`: the conformance suites on a temp
//! directory and in memory, hostile keys that must not escape the directory, and health
//! probes that fail on an unusable directory.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use legalops_core::Error;
use legalops_core::backup::{BackupTarget, PutMode, PutOptions};
use legalops_core::documents::DocumentStore;
use legalops_store::{LocalDirTarget, ObjectStoreDocuments, ObjectStoreTarget};

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// Every regular file under `root`, recursively.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path)
            } else {
                out.push(path)
            }
        }
    }
    out
}

#[tokio::test]
async fn local_documents_pass_the_document_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A missing directory is created.
    let store = ObjectStoreDocuments::from_url(&file_url(&dir.path().join("docs"))).expect("store");
    legalops_core::conformance::document_store(&store).await;
    store.healthcheck().await.expect("healthcheck");
}

#[tokio::test]
async fn memory_documents_pass_the_document_suite() {
    let store = ObjectStoreDocuments::from_url("memory://").expect("store");
    legalops_core::conformance::document_store(&store).await;
}

#[tokio::test]
async fn local_dir_target_passes_the_backup_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = LocalDirTarget::new(dir.path().join("backups")).expect("target");
    legalops_core::conformance::backup_target(&target, false).await;
    target.healthcheck().await.expect("healthcheck");
}

#[tokio::test]
async fn memory_target_passes_the_backup_suite() {
    legalops_core::conformance::backup_target(&ObjectStoreTarget::memory(), false).await;
}

const HOSTILE: [&str; 10] = [
    "../escape",
    "a/../../escape",
    "/etc/escape",
    "..",
    "a//b",
    "./a",
    "a\\..\\escape",
    "a/\0b",
    "",
    "a/",
];

#[tokio::test]
async fn hostile_keys_cannot_escape_the_directory() {
    let root = tempfile::tempdir().expect("tempdir");
    let inside = root.path().join("store");
    let docs = ObjectStoreDocuments::from_url(&file_url(&inside.join("docs"))).expect("docs");
    let target = LocalDirTarget::new(inside.join("backups")).expect("target");
    for key in HOSTILE {
        let body = Bytes::from_static(b"pwned");
        let e = docs.put(key, body.clone()).await.err();
        assert!(
            matches!(e, Some(Error::InvalidInput { .. })),
            "documents put {key:?}: {e:?}"
        );
        let e = target.put(key, body, PutOptions::default()).await.err();
        assert!(
            matches!(e, Some(Error::InvalidInput { .. })),
            "target put {key:?}: {e:?}"
        );
        assert!(
            matches!(docs.get(key).await, Err(Error::InvalidInput { .. })),
            "get {key:?}"
        );
        assert!(
            matches!(docs.delete(key).await, Err(Error::InvalidInput { .. })),
            "del {key:?}"
        );
    }
    // Keys that merely look like climbing are stored, inside, as ordinary names.
    for key in ["%2e%2e/x", "..%2f..%2fx", "a..b/c", "~/x"] {
        docs.put(key, Bytes::from_static(b"ok"))
            .await
            .expect("a legal key is stored");
        assert_eq!(docs.get(key).await.expect("get"), Bytes::from_static(b"ok"));
    }
    let outside: Vec<_> = files_under(root.path())
        .into_iter()
        .filter(|p| !p.starts_with(&inside))
        .collect();
    assert!(outside.is_empty(), "written outside the store: {outside:?}");
}

#[tokio::test]
async fn create_mode_is_atomic_on_a_local_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = LocalDirTarget::new(dir.path()).expect("target");
    let create = PutOptions {
        mode: PutMode::Create,
        retain_until: None,
    };
    target
        .put("locks/leader", Bytes::from_static(b"a"), create.clone())
        .await
        .expect("create");
    let e = target
        .put("locks/leader", Bytes::from_static(b"b"), create)
        .await
        .err();
    assert!(matches!(e, Some(Error::AlreadyExists { .. })), "{e:?}");
    assert_eq!(
        target.get("locks/leader").await.expect("get"),
        Bytes::from_static(b"a")
    );
}

#[tokio::test]
async fn health_probe_fails_when_the_directory_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs_dir = dir.path().join("docs");
    let docs = ObjectStoreDocuments::from_url(&file_url(&docs_dir)).expect("docs");
    docs.healthcheck().await.expect("healthy at first");
    assert!(
        docs.list("").await.expect("list").is_empty(),
        "the probe leaves nothing listed"
    );
    // Replace the directory by a file: nothing can be written under it any more.
    std::fs::remove_dir_all(&docs_dir).expect("remove");
    std::fs::write(&docs_dir, b"not a dir").expect("write");
    let e = docs.healthcheck().await.err();
    assert!(matches!(e, Some(Error::Backend { .. })), "{e:?}");
}

#[test]
fn display_names_the_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = LocalDirTarget::new(dir.path()).expect("target");
    assert!(target.to_string().starts_with("file:///"), "{target}");
    assert_eq!(ObjectStoreTarget::memory().to_string(), "memory://");
}
