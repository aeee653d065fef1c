//! Bindings of `legalops_core::audit`: chain hashes, the verifier, Merkle roots and
//! inclusion proofs, over the JSON shapes the server's audit endpoints answer with
//! (`/api/audit/entries`, `/api/audit/checkpoints`, `/api/audit/proof`), so that an auditor
//! fetches them with any HTTP client and checks them in Python, without trusting the server.
//!
//! Verification and hashing of long lists run detached from the interpreter: other Python
//! threads keep running while a million entries are checked.

use legalops_core::audit::chain::{self, GENESIS_HASH};
use legalops_core::audit::merkle::{self, Hash};
use legalops_core::audit::verify::Verifier;
use legalops_core::audit::{AuditEntry, Checkpoint, NewAuditEntry};
use legalops_core::{Error, Result};
use pyo3::prelude::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::convert::{from_python, to_python};
use crate::errors::to_py;

/// Each element of `items` as a `T`; the error names the element (`entries[3]`).
fn parse_each<T: DeserializeOwned>(what: &str, items: Vec<Value>) -> Result<Vec<T>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v)
                .map_err(|e| Error::invalid_input(format!("{what}[{i}]"), e.to_string()))
        })
        .collect()
}

/// A hex hash; the error names `field` rather than the core's generic `hash`.
fn hash(field: &str, hex: &str) -> Result<Hash> {
    merkle::from_hex(hex).map_err(|e| match e {
        Error::InvalidInput { message, .. } => Error::invalid_input(field, message),
        other => other,
    })
}

/// The chain hash of entry number `seq` following `prev_hash`: hex
/// `SHA-256(canonical(seq, entry) || prev_hash)`. `entry` is an entry dict (`at`, `actor`,
/// `action`, `target`, `outcome`, `ip`, `user_agent`, `request_id`, `details`); other keys,
/// such as a stored entry's `seq` and hashes, are ignored.
#[pyfunction]
pub fn entry_hash(seq: u64, entry: &Bound<'_, PyAny>, prev_hash: &str) -> PyResult<String> {
    let entry: NewAuditEntry = from_python("entry", entry)?;
    Ok(chain::entry_hash(seq, &entry, prev_hash))
}

/// Recomputes the chain of `entries` (the whole log from seq 1, in order) and checks each
/// checkpoint; the report dict is what `GET /api/audit/verify` answers.
#[pyfunction]
#[pyo3(signature = (entries, checkpoints=None))]
pub fn verify_audit<'py>(
    py: Python<'py>,
    entries: &Bound<'py, PyAny>,
    checkpoints: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let entries: Vec<Value> = from_python("entries", entries)?;
    let checkpoints: Vec<Value> = match checkpoints.filter(|c| !c.is_none()) {
        Some(c) => from_python("checkpoints", c)?,
        None => Vec::new(),
    };
    let report = py
        .detach(move || -> Result<_> {
            let checkpoints: Vec<Checkpoint> = parse_each("checkpoints", checkpoints)?;
            let mut verifier = Verifier::with_checkpoints(&checkpoints);
            for (i, value) in entries.into_iter().enumerate() {
                let entry: AuditEntry = serde_json::from_value(value)
                    .map_err(|e| Error::invalid_input(format!("entries[{i}]"), e.to_string()))?;
                verifier.push(&entry);
            }
            Ok(verifier.finish(&[]))
        })
        .map_err(to_py)?;
    to_python(py, &report)
}

/// The RFC 6962 Merkle root (hex) over the audit leaves of `entry_hashes`, in order: what a
/// checkpoint of that many entries records as `root_hash`.
#[pyfunction]
pub fn merkle_root(py: Python<'_>, entry_hashes: Vec<String>) -> PyResult<String> {
    py.detach(move || -> Result<_> {
        let leaves = entry_hashes
            .iter()
            .enumerate()
            .map(|(i, h)| hash(&format!("entry_hashes[{i}]"), h).map(|h| merkle::leaf_hash(&h)))
            .collect::<Result<Vec<_>>>()?;
        Ok(merkle::to_hex(&merkle::root(&leaves)))
    })
    .map_err(to_py)
}

/// `GET /api/audit/proof`'s body (`legalops_ops::audit::InclusionProof`).
#[derive(Debug, Deserialize)]
struct InclusionProof {
    seq: u64,
    tree_size: u64,
    entry_hash: String,
    leaf_hash: String,
    proof: Vec<String>,
    root: String,
}

/// Whether `proof` (the body of `GET /api/audit/proof`) shows that its entry is entry `seq`
/// of the tree of `tree_size` entries with root `root` if given (the `root_hash` of a
/// checkpoint the auditor kept), else the proof's own `root`; and, if `entry_hash` is given
/// (from the entry the auditor holds), that the proof is about that entry. Malformed hex
/// raises `InvalidInputError` naming the field.
#[pyfunction]
#[pyo3(signature = (proof, *, root=None, entry_hash=None))]
pub fn verify_inclusion(
    proof: &Bound<'_, PyAny>,
    root: Option<&str>,
    entry_hash: Option<&str>,
) -> PyResult<bool> {
    let p: InclusionProof = from_python("proof", proof)?;
    let check = || -> Result<bool> {
        let leaf = hash("proof.leaf_hash", &p.leaf_hash)?;
        let path = p
            .proof
            .iter()
            .enumerate()
            .map(|(i, h)| hash(&format!("proof.proof[{i}]"), h))
            .collect::<Result<Vec<_>>>()?;
        let root = match root {
            Some(r) => hash("root", r)?,
            None => hash("proof.root", &p.root)?,
        };
        let stated = hash("proof.entry_hash", &p.entry_hash)?;
        let same_entry = match entry_hash {
            Some(h) => hash("entry_hash", h)? == stated,
            None => true,
        };
        Ok(same_entry
            && merkle::leaf_hash(&stated) == leaf
            && p.seq >= 1
            && merkle::verify_inclusion(p.seq - 1, p.tree_size, &leaf, &path, &root))
    };
    check().map_err(to_py)
}

/// Adds the audit functions and `GENESIS_HASH` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(entry_hash, m)?)?;
    m.add_function(wrap_pyfunction!(verify_audit, m)?)?;
    m.add_function(wrap_pyfunction!(merkle_root, m)?)?;
    m.add_function(wrap_pyfunction!(verify_inclusion, m)?)?;
    m.add("GENESIS_HASH", GENESIS_HASH)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    // Pure Rust, like the other binding tests: behaviour is tested from pytest.
    use super::*;

    #[test]
    fn a_one_entry_tree_has_the_entrys_leaf_as_root() {
        let h = "ab".repeat(32);
        let leaf = merkle::audit_leaf(&h).expect("hex");
        assert_eq!(merkle::root(&[leaf]), leaf);
        assert_eq!(
            hash("x", &h).map(|h| merkle::leaf_hash(&h)).ok(),
            Some(leaf)
        );
    }

    #[test]
    fn hash_errors_name_the_field_given() {
        match hash("proof.root", "zz") {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "proof.root"),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn the_proof_shape_is_the_servers() {
        // A struct literal, so that a field added to the server's proof fails to compile here.
        let served = legalops_ops::audit::InclusionProof {
            seq: 3,
            tree_size: 5,
            entry_hash: "e".into(),
            leaf_hash: "l".into(),
            proof: vec!["a".into()],
            root: "r".into(),
        };
        let text = serde_json::to_string(&served).expect("json");
        let p: InclusionProof = serde_json::from_str(&text).expect("shape");
        assert_eq!((p.seq, p.tree_size, p.proof.len()), (3, 5, 1));
        assert_eq!(
            (p.entry_hash, p.leaf_hash, p.root),
            ("e".into(), "l".into(), "r".into())
        );
    }
}
