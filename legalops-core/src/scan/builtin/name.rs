//! File-name sanitising: what is left of a client's file name that is safe to store, show
//! and offer back for download on any operating system.

use crate::scan::Refusal;

/// Longest name most file systems store (bytes).
const MAX_NAME_BYTES: usize = 255;
/// An extension longer than this is not kept whole when a name is cut.
const MAX_EXT_BYTES: usize = 16;

/// Windows reserves these names, with any extension, in every directory.
const DEVICE_NAMES: [&str; 30] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "com¹", "com²",
    "com³", "lpt¹", "lpt²", "lpt³", "conin$", "conout$",
];

/// Characters Windows refuses in names, besides the path separators.
fn is_forbidden(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
}

/// Invisible characters that change how a name reads without changing what it is: the
/// bidirectional overrides behind `invoice<U+202E>fdp.exe` (shown as `invoiceexe.pdf`) and
/// zero-width characters.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Sanitises an untrusted file name: the last path component (by `/` and `\`), without
/// control, invisible or Windows-forbidden characters (`<>:"|?*`), whitespace collapsed to
/// single spaces, no leading dots or trailing dots and spaces, at most 255 bytes (the
/// extension kept). Refuses Windows device names (`CON`, `nul.txt`, `COM1`, ...) and names
/// of which nothing is left. The result is a fixed point: sanitising it again changes
/// nothing.
pub fn sanitize_file_name(name: &str) -> Result<String, Refusal> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out = String::with_capacity(last.len().min(MAX_NAME_BYTES * 4));
    let mut pending_space = false;
    for c in last.chars() {
        if c.is_whitespace() {
            pending_space = true;
        } else if c.is_control() || is_forbidden(c) || is_invisible(c) {
            continue;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
    }
    let trimmed = trim_edges(&out);
    let mut name = cap_length(trimmed);
    name = trim_edges(&name).to_owned();
    if name.is_empty() {
        return Err(Refusal::BadFileName(
            "nothing usable is left of the name".into(),
        ));
    }
    let stem = name
        .split('.')
        .next()
        .unwrap_or(&name)
        .trim_end()
        .to_lowercase();
    if DEVICE_NAMES.contains(&stem.as_str()) {
        return Err(Refusal::BadFileName(
            "the name is a reserved device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)".into(),
        ));
    }
    Ok(name)
}

/// Without leading dots and spaces and without trailing dots and spaces. Leading spaces
/// can only appear once a dot before them is gone, so both go together.
fn trim_edges(s: &str) -> &str {
    s.trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
}

/// At most [`MAX_NAME_BYTES`], cut at a character boundary, keeping a short extension.
fn cap_length(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if name.len() - dot <= MAX_EXT_BYTES + 1 && dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    let room = MAX_NAME_BYTES - ext.len();
    let mut end = room.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    // Cutting may leave the stem ending in dots or spaces: drop them so that the result
    // is already trimmed.
    let stem = stem[..end].trim_end_matches(['.', ' ']);
    format!("{stem}{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sanitising_table() {
        let long_stem = "a".repeat(300);
        let long_want = format!("{}.pdf", "a".repeat(251));
        let cut = "a".repeat(255);
        let cases: Vec<(&str, &str)> = vec![
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\x\\My Report.pdf", "My Report.pdf"),
            ("a/b\\c.png", "c.png"),
            ("in<voi>ce:|?*\".pdf", "invoice.pdf"),
            ("bell\u{7}\ttab\nnewline.pdf", "bell tab newline.pdf"),
            ("  lots   of \u{a0} space .pdf ", "lots of space .pdf"),
            (".hidden", "hidden"),
            ("...dots...", "dots"),
            (". leading dot then space.gif", "leading dot then space.gif"),
            ("trailing. . .", "trailing"),
            ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
            ("zero\u{200B}width.pdf", "zerowidth.pdf"),
            ("Ünïcödé – résumé.pdf", "Ünïcödé – résumé.pdf"),
            ("CONSENT.pdf", "CONSENT.pdf"),
            ("console.png", "console.png"),
            (&long_stem, &cut),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_file_name(input).as_deref(), Ok(want), "{input:?}");
        }
        let long = format!("{long_stem}.pdf");
        assert_eq!(sanitize_file_name(&long).as_deref(), Ok(long_want.as_str()));
    }

    #[test]
    fn unusable_names_are_refused() {
        for bad in [
            "",
            "   ",
            ".",
            "..",
            "...",
            "/",
            "a/",
            "dir\\",
            "\u{0}\u{1}",
            "<>:\"|?*",
            "CON",
            "con.txt",
            "Nul.tar.gz",
            "com1",
            "LPT9.pdf",
            "aux .pdf",
            "PRN",
            "com¹.pdf",
            "CONIN$",
        ] {
            assert!(
                matches!(sanitize_file_name(bad), Err(Refusal::BadFileName(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn cutting_a_long_multibyte_name_keeps_a_char_boundary_and_the_extension() {
        let name = format!("{}.jpeg", "é".repeat(200));
        let got = sanitize_file_name(&name).expect("usable");
        assert!(got.len() <= MAX_NAME_BYTES);
        assert!(got.ends_with(".jpeg"));
    }

    proptest! {
        #[test]
        fn sanitised_names_are_safe_and_a_fixed_point(name in "\\PC{0,300}|[./\\\\ a-zA-Z\\x00-\\x1f\u{202E}]{0,40}") {
            if let Ok(clean) = sanitize_file_name(&name) {
                prop_assert!(!clean.is_empty());
                prop_assert!(clean.len() <= MAX_NAME_BYTES);
                prop_assert!(!clean.contains(['/', '\\']));
                prop_assert!(!clean.chars().any(|c| c.is_control() || is_forbidden(c) || is_invisible(c)));
                prop_assert!(!clean.starts_with('.'));
                prop_assert!(!clean.starts_with(' ') && !clean.ends_with(['.', ' ']));
                prop_assert_eq!(sanitize_file_name(&clean), Ok(clean.clone()));
            }
        }
    }
}
