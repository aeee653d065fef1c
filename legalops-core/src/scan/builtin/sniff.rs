//! What an upload is by its content: magic numbers of the allowed document and image types
//! and of executables, script markers near the start, the EICAR test signature, and active
//! content in PDFs.

use super::MediaType;

/// What the content turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sniffed {
    /// One of the document or image types an upload may be.
    Document(MediaType),
    /// An executable or a script: media type and a description for the refusal.
    Active(&'static str, &'static str),
}

/// How far into the content script markers are looked for: scripts announce themselves in
/// their first lines, and a bounded look keeps false alarms in binary data negligible.
const HEAD: usize = 1024;

/// The media type of `bytes` by their content: `application/pdf`, `image/png`,
/// `image/jpeg`, `image/gif`, or the type of an executable or script
/// (`application/x-msdownload`, `application/x-executable`, `text/html`, ...). `None` if
/// nothing is recognised. A document carrying a script marker near its start (a GIF that is
/// also PHP) is reported as the script.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    classify(bytes).map(|s| match s {
        Sniffed::Document(m) => m.as_str(),
        Sniffed::Active(media, _) => media,
    })
}

pub(super) fn classify(bytes: &[u8]) -> Option<Sniffed> {
    if let Some(exe) = executable_magic(bytes) {
        return Some(exe);
    }
    let document = document_magic(bytes);
    let head = text_head(bytes);
    if let Some(script) = script_anywhere_in_head(&head) {
        return Some(script);
    }
    if document.is_none()
        && let Some(script) = script_in_text(&head)
    {
        return Some(script);
    }
    document.map(Sniffed::Document)
}

fn document_magic(b: &[u8]) -> Option<MediaType> {
    if b.starts_with(b"%PDF-") {
        Some(MediaType::Pdf)
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(MediaType::Png)
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(MediaType::Jpeg)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(MediaType::Gif)
    } else {
        None
    }
}

fn executable_magic(b: &[u8]) -> Option<Sniffed> {
    const MACHO: [[u8; 4]; 5] = [
        [0xFE, 0xED, 0xFA, 0xCE],
        [0xFE, 0xED, 0xFA, 0xCF],
        [0xCE, 0xFA, 0xED, 0xFE],
        [0xCF, 0xFA, 0xED, 0xFE],
        [0xCA, 0xFE, 0xBA, 0xBE],
    ];
    if b.starts_with(b"MZ") {
        Some(Sniffed::Active(
            "application/x-msdownload",
            "Windows executable (MZ)",
        ))
    } else if b.starts_with(b"\x7fELF") {
        Some(Sniffed::Active(
            "application/x-executable",
            "ELF executable",
        ))
    } else if MACHO.iter().any(|m| b.starts_with(m)) {
        Some(Sniffed::Active(
            "application/x-mach-binary",
            "Mach-O executable or Java class",
        ))
    } else if b.starts_with(b"#!") {
        Some(Sniffed::Active("text/x-shellscript", "script (#!)"))
    } else {
        None
    }
}

/// The first [`HEAD`] bytes, ASCII-lowercased, without a byte-order mark, leading
/// whitespace or NUL bytes (so that UTF-16 text reads like ASCII).
fn text_head(bytes: &[u8]) -> Vec<u8> {
    let b = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .or_else(|| bytes.strip_prefix(b"\xFF\xFE"))
        .or_else(|| bytes.strip_prefix(b"\xFE\xFF"))
        .unwrap_or(bytes);
    let mut head: Vec<u8> = b
        .iter()
        .take(HEAD)
        .filter(|c| **c != 0)
        .map(u8::to_ascii_lowercase)
        .collect();
    let start = head
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(head.len());
    head.drain(..start);
    head
}

/// Markers that mean active content wherever they sit near the start, even behind an
/// image's magic number (the classic GIF/PHP polyglot).
const ANYWHERE: [(&[u8], &str, &str); 5] = [
    (b"<?php", "application/x-php", "PHP script"),
    (b"<script", "text/html", "HTML with script"),
    (b"<html", "text/html", "HTML document"),
    (b"<!doctype html", "text/html", "HTML document"),
    (b"<svg", "image/svg+xml", "SVG image (can carry script)"),
];

/// Markers that mean a script when the content starts with them or, being text, carries
/// them near its start. Too short or too common to look for inside binary documents.
const TEXT: [(&[u8], &str, &str); 12] = [
    (b"<%", "text/x-asp", "ASP/JSP page"),
    (b"@echo off", "application/x-bat", "Windows batch script"),
    (
        b"invoke-expression",
        "application/x-powershell",
        "PowerShell script",
    ),
    (b"iex(", "application/x-powershell", "PowerShell script"),
    (b"iex (", "application/x-powershell", "PowerShell script"),
    (
        b"executionpolicy",
        "application/x-powershell",
        "PowerShell script",
    ),
    (
        b"net.webclient",
        "application/x-powershell",
        "PowerShell script",
    ),
    (
        b"::frombase64string",
        "application/x-powershell",
        "PowerShell script",
    ),
    (
        b"invoke-webrequest",
        "application/x-powershell",
        "PowerShell script",
    ),
    (
        b"start-process",
        "application/x-powershell",
        "PowerShell script",
    ),
    (
        b"write-host",
        "application/x-powershell",
        "PowerShell script",
    ),
    (
        b"#requires -",
        "application/x-powershell",
        "PowerShell script",
    ),
];

fn script_anywhere_in_head(head: &[u8]) -> Option<Sniffed> {
    ANYWHERE
        .iter()
        .find(|(m, _, _)| contains(head, m))
        .map(|(_, media, what)| Sniffed::Active(media, what))
}

fn script_in_text(head: &[u8]) -> Option<Sniffed> {
    TEXT.iter()
        .find(|(m, _, _)| contains(head, m))
        .map(|(_, media, what)| Sniffed::Active(media, what))
}

/// Whether `needle` occurs in `haystack` (first-byte scan, then compare).
pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle, 0).is_some()
}

/// The first position of `needle` in `haystack` at or after `from`.
pub(super) fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut i = from;
    while i + needle.len() <= haystack.len() {
        let off = haystack.get(i..)?.iter().position(|&c| c == first)?;
        i += off;
        if haystack.get(i + 1..i + needle.len()) == Some(rest) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The EICAR anti-virus test file (68 bytes), as published by EICAR.
pub(super) const EICAR: &[u8] =
    br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// Whether the EICAR test signature occurs anywhere in `bytes`.
pub(super) fn has_eicar(bytes: &[u8]) -> bool {
    contains(bytes, EICAR)
}

/// Long PDF names that mean active content wherever they appear (even inside a stream,
/// where an uncompressed object stream may hold the dictionaries).
const PDF_ACTIVE: [&[u8]; 5] = [
    b"JavaScript",
    b"Launch",
    b"EmbeddedFile",
    b"EmbeddedFiles",
    b"RichMedia",
];

/// The first active-content name in a PDF (`/JavaScript`, `/JS`, `/Launch`,
/// `/EmbeddedFile`, `/RichMedia`), with `#xx` escapes decoded so that `/J#61vaScript` is
/// caught. `/JS` is short enough to occur by chance in compressed data, so it counts only
/// outside stream bodies. Compressed object streams are not inflated: the clamd backend is
/// the deeper check.
pub(super) fn pdf_active_content(pdf: &[u8]) -> Option<String> {
    let mut i = 0;
    let mut in_stream = false;
    while i < pdf.len() {
        let c = pdf[i];
        if !in_stream && c == b's' && keyword_at(pdf, i, b"stream") {
            in_stream = true;
            i += b"stream".len();
            continue;
        }
        if in_stream && c == b'e' && keyword_at(pdf, i, b"endstream") {
            in_stream = false;
            i += b"endstream".len();
            continue;
        }
        if c == b'/' {
            let (name, next) = pdf_name(pdf, i + 1);
            if PDF_ACTIVE.contains(&name.as_slice()) || (!in_stream && name == b"JS") {
                return Some(format!("/{}", String::from_utf8_lossy(&name)));
            }
            i = next;
            continue;
        }
        i += 1;
    }
    None
}

fn is_pdf_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0c'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

/// Whether `word` stands at `i` as a keyword (delimited on both sides).
fn keyword_at(b: &[u8], i: usize, word: &[u8]) -> bool {
    b.get(i..i + word.len()) == Some(word)
        && (i == 0 || is_pdf_delimiter(b[i - 1]))
        && b.get(i + word.len()).is_none_or(|c| is_pdf_delimiter(*c))
}

/// The decoded name starting at `start` (after the `/`) and the index after it. Names are
/// at most 127 bytes in PDF; longer runs are cut (nothing we look for is that long).
fn pdf_name(b: &[u8], start: usize) -> (Vec<u8>, usize) {
    let mut name = Vec::new();
    let mut i = start;
    while let Some(&c) = b.get(i) {
        if is_pdf_delimiter(c) {
            break;
        }
        let hex = |k: usize| b.get(k).and_then(|h| (*h as char).to_digit(16));
        if c == b'#'
            && let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2))
        {
            // Two hex digits: at most 0xFF, so the cast is exact.
            name.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            name.push(c);
            i += 1;
        }
        if name.len() > 127 {
            break;
        }
    }
    (name, i)
}
