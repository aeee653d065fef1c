//! Hostile uploads are refused with a clear 4xx naming the reason, store nothing and are
//! audited; a clean PDF is stored.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::{ADMIN_TOKEN, call, clock, customer, platform};
use tower::ServiceExt;

const PW: &str = "Corr3ct-Horse-Battery!";
const IP: &str = "198.51.100.30";
const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

async fn upload(
    app: &axum::Router,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut req = Request::post(format!("/api/documents?name={encoded}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(IP.parse().expect("ip"), 1)));
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
}

#[tokio::test]
async fn eicar_and_a_renamed_executable_are_refused_and_a_pdf_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let p = platform(dir.path(), &clock).await;
    let app = p.router();
    let token = customer(&app, IP, "up@example.test", PW).await;

    let mut eicar_pdf = pdf();
    eicar_pdf.extend_from_slice(EICAR);
    let (status, body) = upload(&app, &token, "contract.pdf", "application/pdf", eicar_pdf).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(
        body.to_string().contains("EICAR"),
        "the reason is named: {body}"
    );

    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    exe.extend_from_slice(&[0u8; 64]);
    let (status, body) = upload(&app, &token, "invoice.pdf", "application/pdf", exe).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.to_string().to_lowercase().contains("execut"), "{body}");

    assert!(
        p.documents().list("").await.expect("list").is_empty(),
        "refused uploads store nothing"
    );

    let (status, body) = upload(
        &app,
        &token,
        "../../etc/Articles of Org.pdf",
        "application/pdf",
        pdf(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["key"].as_str().expect("key");
    assert!(!key.contains(".."), "{key}");
    assert_eq!(p.documents().list("").await.expect("list").len(), 1);

    let audit = call(
        &app,
        IP,
        axum::http::Method::GET,
        "/api/audit/entries?limit=1000",
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert!(
        audit.text.contains("document.upload") && audit.text.contains("denied"),
        "{}",
        audit.text
    );
}
