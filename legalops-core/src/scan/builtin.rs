//! The built-in upload scanner: pure rules over the bytes and the name, no I/O.
//!
//! Rules, in order (the first that matches decides):
//! 1. empty -> [`Refusal::Empty`]; larger than the limit -> [`Refusal::TooLarge`];
//! 2. the EICAR test signature anywhere -> [`Refusal::Malware`] (`EICAR-Test-File`), so that
//!    operators can prove the pipeline end to end with the file every scanner knows;
//! 3. an executable or script by content (MZ, ELF, Mach-O, `#!`, HTML, PHP, ASP, batch,
//!    PowerShell, SVG), whatever the name says -> [`Refusal::Executable`];
//! 4. a file name with nothing usable left -> [`Refusal::BadFileName`];
//! 5. a dangerous extension anywhere among the name's extensions (`invoice.pdf.exe`,
//!    `a.exe.pdf`) -> [`Refusal::Executable`];
//! 6. content that is not an allowed type -> [`Refusal::TypeNotAllowed`];
//! 7. an extension that disagrees with the content, or a declared media type that does ->
//!    [`Refusal::TypeMismatch`] (a name without an extension gets the content's);
//! 8. a PDF with active content (`/JavaScript`, `/JS`, `/Launch`, `/EmbeddedFile`) ->
//!    [`Refusal::Executable`].
//!
//! Content decides what a file is; names and declared types are only believed when they
//! agree with it, since both come from the client.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::scan::{Accepted, Refusal, Scanner, Upload, Verdict};

mod name;
mod sniff;

pub use name::sanitize_file_name;
pub use sniff::sniff;

use sniff::Sniffed;

/// A media type an upload may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    /// `application/pdf`.
    #[serde(rename = "application/pdf", alias = "pdf")]
    Pdf,
    /// `image/png`.
    #[serde(rename = "image/png", alias = "png")]
    Png,
    /// `image/jpeg`.
    #[serde(rename = "image/jpeg", alias = "jpeg", alias = "jpg")]
    Jpeg,
    /// `image/gif`.
    #[serde(rename = "image/gif", alias = "gif")]
    Gif,
}

impl MediaType {
    /// Every type the scanner can recognise.
    pub const ALL: [MediaType; 4] = [Self::Pdf, Self::Png, Self::Jpeg, Self::Gif];

    /// The IANA media type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
        }
    }

    /// The extensions a file of this type may carry, the usual one first.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Pdf => &["pdf"],
            Self::Png => &["png"],
            Self::Jpeg => &["jpg", "jpeg"],
            Self::Gif => &["gif"],
        }
    }

    /// The type named by a media type string (parameters ignored, case-insensitive, with
    /// the common aliases `image/jpg`, `image/pjpeg` and `application/x-pdf`).
    pub fn from_media_type(s: &str) -> Option<Self> {
        let essence = s
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/pdf" | "application/x-pdf" => Some(Self::Pdf),
            "image/png" => Some(Self::Png),
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Self::Jpeg),
            "image/gif" => Some(Self::Gif),
            _ => None,
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::from_media_type(s).ok_or_else(|| {
            Error::invalid_input(
                "mediaType",
                "must be one of application/pdf, image/png, image/jpeg, image/gif",
            )
        })
    }
}

/// What the built-in scanner lets in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanPolicy {
    /// The largest upload (bytes; 10 MiB).
    pub max_bytes: u64,
    /// The types an upload may be (PDF, PNG, JPEG, GIF).
    pub allowed: Vec<MediaType>,
}

impl Default for ScanPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            allowed: MediaType::ALL.to_vec(),
        }
    }
}

impl ScanPolicy {
    /// Checks the policy; errors name the configuration key.
    pub fn validate(&self) -> Result<()> {
        if !(1..=1 << 30).contains(&self.max_bytes) {
            return Err(Error::invalid_config(
                "uploads.max_bytes",
                "must be between 1 byte and 1 GiB",
            ));
        }
        if self.allowed.is_empty() {
            return Err(Error::invalid_config(
                "uploads.allowed",
                "must name at least one media type",
            ));
        }
        Ok(())
    }
}

/// Extensions refused anywhere in a name: programs, scripts, installers, shortcuts and
/// active documents that a browser or desktop would run.
const DANGEROUS_EXTENSIONS: [&str; 24] = [
    "exe", "dll", "com", "scr", "bat", "cmd", "ps1", "vbs", "js", "jar", "msi", "sh", "php", "py",
    "pl", "rb", "html", "htm", "svg", "hta", "lnk", "apk", "app", "dmg",
];

/// The longest run after a dot that still counts as an extension.
const MAX_EXT_LEN: usize = 10;

/// The parts of `name` after each dot, trimmed and lowercased (`a.PDF.exe` -> pdf, exe).
fn extensions(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split('.')
        .skip(1)
        .map(|e| e.trim().to_ascii_lowercase())
}

/// The final extension, if the name has one: 1 to 10 ASCII letters and digits, at least
/// one a letter (`Contract v2.1` and `Smith v. Jones` have none).
fn final_extension(name: &str) -> Option<String> {
    let (_, ext) = name.rsplit_once('.')?;
    let ok = (1..=MAX_EXT_LEN).contains(&ext.len())
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        && ext.bytes().any(|b| b.is_ascii_alphabetic());
    ok.then(|| ext.to_ascii_lowercase())
}

/// Untrusted text for a refusal message: printable ASCII only, bounded.
fn shown(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(80)
        .collect()
}

/// Judges one upload under `policy` (the rules are in the module docs).
pub fn scan(policy: &ScanPolicy, upload: &Upload<'_>) -> Verdict {
    let bytes = upload.bytes;
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() as u64 > policy.max_bytes {
        return Err(Refusal::TooLarge(policy.max_bytes));
    }
    if sniff::has_eicar(bytes) {
        return Err(Refusal::Malware("EICAR-Test-File".into()));
    }
    let sniffed = sniff::classify(bytes);
    if let Some(Sniffed::Active(_, what)) = sniffed {
        return Err(Refusal::Executable(format!("the content is a {what}")));
    }
    let mut file_name = sanitize_file_name(upload.file_name)?;
    if let Some(ext) = extensions(&file_name).find(|e| DANGEROUS_EXTENSIONS.contains(&e.as_str())) {
        return Err(Refusal::Executable(format!(
            "the name has a .{ext} extension"
        )));
    }
    let media = match sniffed {
        Some(Sniffed::Document(m)) if policy.allowed.contains(&m) => m,
        Some(Sniffed::Document(m)) => return Err(Refusal::TypeNotAllowed(m.as_str().into())),
        _ => return Err(Refusal::TypeNotAllowed("unrecognised content".into())),
    };
    match final_extension(&file_name) {
        Some(ext) if !media.extensions().contains(&ext.as_str()) => {
            return Err(Refusal::TypeMismatch(format!(
                "the name ends in .{ext} but the content is {media}"
            )));
        }
        Some(_) => {}
        None => file_name = sanitize_file_name(&format!("{file_name}.{}", media.extensions()[0]))?,
    }
    if let Some(declared) = upload.declared_type {
        let essence = declared
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // `application/octet-stream` is what clients send when they do not know: no claim.
        let claims = !essence.is_empty() && essence != "application/octet-stream";
        if claims && MediaType::from_media_type(&essence) != Some(media) {
            return Err(Refusal::TypeMismatch(format!(
                "declared as {} but the content is {media}",
                shown(&essence)
            )));
        }
    }
    if media == MediaType::Pdf
        && let Some(marker) = sniff::pdf_active_content(bytes)
    {
        return Err(Refusal::Executable(format!(
            "PDF with active content ({})",
            shown(&marker)
        )));
    }
    Ok(Accepted {
        media_type: media.as_str().into(),
        file_name,
    })
}

/// The built-in [`Scanner`]: [`scan`] under a [`ScanPolicy`].
#[derive(Debug, Clone, Default)]
pub struct BuiltinScanner {
    policy: ScanPolicy,
}

impl BuiltinScanner {
    /// A scanner enforcing `policy`.
    pub fn new(policy: ScanPolicy) -> Self {
        Self { policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ScanPolicy {
        &self.policy
    }
}

impl fmt::Display for BuiltinScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "builtin scanner (max {} bytes)", self.policy.max_bytes)
    }
}

#[async_trait]
impl Scanner for BuiltinScanner {
    async fn scan(&self, upload: &Upload<'_>) -> Result<Verdict> {
        Ok(scan(&self.policy, upload))
    }

    async fn healthcheck(&self) -> Result<()> {
        self.policy.validate()
    }
}

#[cfg(test)]
mod tests;
