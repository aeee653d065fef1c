//! SlackChannel against the in-test receiver: the exact incoming-webhook payload, retries
//! of 429 and 500, no retry of 400, and the webhook URL (the credential) kept out of sight.

use std::time::Duration;

use legalops_core::alerts::{AlertChannel, AlertStatus};
use legalops_ops::channels::{SlackChannel, deliver};
use serde_json::json;
use tokio::time::Instant;

use crate::fixtures::{alert, firing, group};
use crate::receiver::{Accept, Receiver};

const HOOK: &str = "/services/T000/B000/XXXXsecretXXXX";

fn section(instance: &str, status: &str) -> serde_json::Value {
    json!({
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": format!(
                "*HighErrorRate* `{{instance=\"{instance}\"}}` · {status} · critical\n\
                 5xx error rate 7.5% over 5 m\n\
                 <https://runbooks.example/high-error-rate|Runbook>"
            ),
        },
    })
}

#[tokio::test]
async fn posts_text_and_blocks_summarising_the_group() {
    let rx = Receiver::start(Accept::SlackOk).await;
    let ch = SlackChannel::from_url(&rx.url(HOOK)).expect("valid config");
    let n = group(vec![
        alert("api-1", AlertStatus::Firing),
        alert("api-2", AlertStatus::Firing),
        alert("api-3", AlertStatus::Resolved),
    ]);
    ch.send(&n).await.expect("delivered");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, HOOK);
    assert_eq!(
        reqs[0].json(),
        json!({
            "text": "[FIRING:2] HighErrorRate (critical)",
            "blocks": [
                {
                    "type": "header",
                    "text": { "type": "plain_text", "text": "[FIRING:2] HighErrorRate (critical)" },
                },
                section("api-1", "firing"),
                section("api-2", "firing"),
                section("api-3", "resolved"),
                {
                    "type": "context",
                    "elements": [{
                        "type": "mrkdwn",
                        "text": "receiver *ops* · <http://legalops.local|LegalOps>",
                    }],
                },
            ],
        })
    );
}

#[tokio::test]
async fn a_resolved_group_says_resolved() {
    let rx = Receiver::start(Accept::SlackOk).await;
    let ch = SlackChannel::from_url(&rx.url(HOOK)).expect("valid config");
    ch.send(&group(vec![alert("api-1", AlertStatus::Resolved)]))
        .await
        .expect("delivered");
    assert_eq!(
        rx.requests()[0].json()["text"],
        "[RESOLVED] HighErrorRate (critical)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_and_a_500_are_retried() {
    let rx = Receiver::start(Accept::SlackOk).await;
    rx.fail_next(1, 429, Some("2"), "rate_limited");
    rx.fail_next(1, 500, None, "");
    let ch = SlackChannel::from_url(&rx.url(HOOK)).expect("valid config");
    let start = Instant::now();
    let (result, attempts) = deliver(&ch, &firing()).await;
    result.expect("delivered on the third attempt");
    assert_eq!((attempts, rx.requests().len()), (3, 3));
    // Retry-After 2 s (longer than the 0.5 s backoff), then the 1 s backoff.
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_400_is_final_and_the_webhook_url_never_shows() {
    let rx = Receiver::start(Accept::SlackOk).await;
    rx.fail_next(1, 400, None, "invalid_payload");
    let ch = SlackChannel::from_url(&rx.url(HOOK)).expect("valid config");
    let (result, attempts) = deliver(&ch, &firing()).await;
    let err = result.expect_err("refused");
    assert_eq!((attempts, rx.requests().len()), (1, 1));
    let shown = format!("{err} {err:?} {ch} {ch:?}");
    assert!(shown.contains("invalid_payload"), "{shown}");
    assert!(
        !shown.contains("secret") && !shown.contains("T000"),
        "{shown}"
    );
    assert_eq!(ch.to_string(), format!("slack:{}", rx.base));
}
