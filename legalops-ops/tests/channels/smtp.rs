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
