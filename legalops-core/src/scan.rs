//! Upload scanning: the `Scanner` trait and its verdicts. The built-in scanner (size,
//! content sniffing against declared type and extension, executables and scripts, the
//! EICAR test signature, file-name sanitising) is pure and lives in [`builtin`]; a clamd
//! backend lives in `legalops-ops`.

use std::fmt::{Debug, Display};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub mod builtin;

/// What is being uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload<'a> {
    /// The file name as the client gave it (untrusted).
    pub file_name: &'a str,
    /// The declared media type (untrusted), if any.
    pub declared_type: Option<&'a str>,
    /// The content.
    pub bytes: &'a [u8],
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum Refusal {
    /// Larger than the limit (bytes).
    TooLarge(u64),
    /// Empty.
    Empty,
    /// The content is not an allowed type (what it looks like).
    TypeNotAllowed(String),
    /// Content, declared type and extension disagree.
    TypeMismatch(String),
    /// An executable or a script (by content or by name).
    Executable(String),
    /// Malware (signature name, e.g. `EICAR-Test-File`).
    Malware(String),
    /// The file name is unusable even after sanitising.
    BadFileName(String),
}

impl Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge(limit) => write!(f, "file is larger than the {limit}-byte limit"),
            Self::Empty => f.write_str("file is empty"),
            Self::TypeNotAllowed(t) => write!(f, "file type {t} is not allowed"),
            Self::TypeMismatch(m) => write!(f, "file type mismatch: {m}"),
            Self::Executable(m) => write!(f, "executables and scripts are refused: {m}"),
            Self::Malware(sig) => write!(f, "malware detected: {sig}"),
            Self::BadFileName(m) => write!(f, "unusable file name: {m}"),
        }
    }
}

/// An accepted upload: what it is and the name it will be stored under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The sniffed media type (`application/pdf`).
    pub media_type: String,
    /// The sanitised file name.
    pub file_name: String,
}

/// The outcome of a scan.
pub type Verdict = std::result::Result<Accepted, Refusal>;

/// Something that judges uploads. `Err` is a scanner failure (unreachable clamd), which
/// callers treat as a refusal: an upload is stored only on an explicit acceptance.
#[async_trait]
pub trait Scanner: Debug + Display + Send + Sync + 'static {
    /// Judges one upload.
    async fn scan(&self, upload: &Upload<'_>) -> Result<Verdict>;

    /// Proves the scanner can scan.
    async fn healthcheck(&self) -> Result<()>;
}
