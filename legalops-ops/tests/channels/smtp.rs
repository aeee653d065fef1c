//! SmtpChannel against a real SMTP server (aiosmtpd writing a maildir; address in
//! LEGALOPS_TEST_SMTP_ADDR, maildir in LEGALOPS_TEST_SMTP_MAILDIR): the mail arrives with
//! the subject and the alert names, plain text and HTML.

use std::path::Path;
use std::time::Duration;

use legalops_core::alerts::{AlertChannel, AlertStatus};
use legalops_ops::channels::SmtpChannel;

use crate::fixtures::{alert, group, service};

/// Mails in the maildir (new/ and cur/) whose text contains `needle`.
fn mails_with(maildir: &Path, needle: &str) -> Vec<String> {
    ["new", "cur"]
        .iter()
        .filter_map(|d| std::fs::read_dir(maildir.join(d)).ok())
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        // Quoted-printable soft line breaks would split a long label.
        .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
        .filter(|m| m.contains(needle))
        .collect()
}

#[tokio::test]
async fn a_notification_arrives_as_one_mail_with_subject_and_alert_names() {
    let Some(addr) = service("LEGALOPS_TEST_SMTP_ADDR", "the SMTP channel") else {
        return;
    };
    let Some(maildir) = service("LEGALOPS_TEST_SMTP_MAILDIR", "the SMTP channel") else {
        return;
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let ch = SmtpChannel::from_url(&format!(
        "smtp://{addr}?from=alerts@legalops.test&to=oncall@legalops.test,ops@legalops.test"
    ))
    .expect("valid config");
    ch.healthcheck().await.expect("the SMTP server greets");
    assert_eq!(ch.to_string(), format!("smtp:{addr}"));

    let mut alerts = vec![
        alert("api-1", AlertStatus::Firing),
        alert("api-2", AlertStatus::Firing),
    ];
    for a in &mut alerts {
        a.labels.insert("run".into(), run.clone());
    }
    ch.send(&group(alerts))
        .await
        .expect("the server takes the mail");

    // The server writes the mail after it answers; wait for the file, boundedly.
    let mut found = Vec::new();
    for _ in 0..100 {
        found = mails_with(Path::new(&maildir), &run);
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1, "exactly one mail for the run");
    let mail = &found[0];
    assert!(
        mail.contains("Subject: [FIRING:2] HighErrorRate (critical)"),
        "{mail}"
    );
    assert!(mail.contains("From: alerts@legalops.test"), "{mail}");
    assert!(mail.contains("oncall@legalops.test") && mail.contains("ops@legalops.test"));
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(mail.contains("text/html"), "{mail}");
    for needle in [
        "- HighErrorRate {instance=\"api-1\"",
        "- HighErrorRate {instance=\"api-2\"",
        "summary: 5xx error rate 7.5% over 5 m",
    ] {
        assert!(mail.contains(needle), "{needle} missing from {mail}");
    }
}

/// A scripted SMTP server: greets, accepts EHLO and any AUTH PLAIN, answers MAIL FROM with the next scripted
/// code (250 once the script is used up), takes the message; counts MAIL FROM commands.
/// For what aiosmtpd will not do on request: refuse, transiently or for good.
async fn scripted_smtp(codes: Vec<u16>) -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let mails = std::sync::Arc::new(AtomicU32::new(0));
    let count = mails.clone();
    let script = std::sync::Arc::new(std::sync::Mutex::new(codes.into_iter()));
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (count, script) = (count.clone(), script.clone());
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 scripted ESMTP\r\n").await;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: String = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        "250 queued".into()
                    } else {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        match verb.as_str() {
                            "EHLO" | "HELO" => "250-scripted\r\n250 AUTH PLAIN".into(),
                            "AUTH" => "235 authenticated".into(),
                            "MAIL" => {
                                count.fetch_add(1, Ordering::SeqCst);
                                let code = script.lock().expect("script").next().unwrap_or(250);
                                format!("{code} scripted answer")
                            }
                            "DATA" => {
                                in_data = true;
                                "354 go ahead".into()
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => "250 ok".into(),
                        }
                    };
                    if w.write_all(format!("{reply}\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    (addr, mails)
}

fn scripted_channel(addr: &str) -> SmtpChannel {
    SmtpChannel::builder(format!(
        "smtp://{addr}?from=alerts@legalops.test&to=oncall@legalops.test"
    ))
    .credentials("alerts", "smtp-pa55word")
    .build()
    .expect("valid config")
}

#[tokio::test(start_paused = true)]
async fn a_transient_451_is_retried_and_a_permanent_550_is_final() {
    use legalops_ops::channels::deliver;
    use std::sync::atomic::Ordering;

    let (addr, mails) = scripted_smtp(vec![451, 451]).await;
    let (result, attempts) = deliver(&scripted_channel(&addr), &crate::fixtures::firing()).await;
    result.expect("taken on the third attempt");
    assert_eq!((attempts, mails.load(Ordering::SeqCst)), (3, 3));

    let (addr, mails) = scripted_smtp(vec![550]).await;
    let ch = scripted_channel(&addr);
    let (result, attempts) = deliver(&ch, &crate::fixtures::firing()).await;
    let err = result.expect_err("refused for good");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!((attempts, mails.load(Ordering::SeqCst)), (1, 1));
    let shown = format!("{err} {err:?} {ch} {ch:?}");
    assert!(shown.contains("550"), "{shown}");
    assert!(!shown.contains("pa55word"), "the password leaked: {shown}");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_is_down_is_retried_and_the_password_never_shows() {
    use legalops_ops::channels::deliver;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    let ch = SmtpChannel::from_url(&format!(
        "smtp://alerts:smtp-pa55word@{closed}?from=alerts@legalops.test&to=oncall@legalops.test"
    ))
    .expect("valid config");
    let (result, attempts) = deliver(&ch, &crate::fixtures::firing()).await;
    let err = result.expect_err("nothing listens");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(attempts, 4);
    let health = ch.healthcheck().await.expect_err("nothing listens");
    let shown = format!("{err} {err:?} {health} {ch} {ch:?}");
    assert!(!shown.contains("pa55word"), "the password leaked: {shown}");
}
