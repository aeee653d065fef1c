//! Helpers shared by the server's integration tests: a platform on in-memory backends, a
//! client that calls the router with `oneshot` from a chosen IP, JSON bodies.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use std::sync::Arc;

use legalops_core::ManualClock;
use legalops_server::{Config, Platform};
use serde_json::Value;
use tower::ServiceExt;

/// The bootstrap admin token every test platform uses.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A config for tests: admin token set, no log file, data in `dir`.
pub fn config(dir: &std::path::Path) -> Config {
    let mut config = Config {
        admin_token: Some(ADMIN_TOKEN.to_owned()),
        data_dir: dir.to_owned(),
        health_timeout_ms: 500,
        ..Config::default()
    };
    config.log.file = false;
    config
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Calls `app` as a client at `ip` would.
pub async fn call(
    app: &Router,
    ip: &str,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let ip: IpAddr = ip.parse().expect("test IP");
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let mut req = req.body(body).expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40000)));
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// Registers a customer and returns a session token.
pub async fn customer(app: &Router, ip: &str, email: &str, password: &str) -> String {
    let a = call(
        app,
        ip,
        Method::POST,
        "/api/auth/register",
        None,
        Some(serde_json::json!({"email": email, "password": password, "displayName": "Test"})),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "register {email}: {}",
        a.text
    );
    login(app, ip, email, password).await
}

/// Logs in and returns the session token.
pub async fn login(app: &Router, ip: &str, email: &str, password: &str) -> String {
    let a = call(
        app,
        ip,
        Method::POST,
        "/api/auth/login",
        None,
        Some(serde_json::json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "login {email}: {}", a.text);
    a.body["token"].as_str().expect("token").to_owned()
}

/// A config for tests: admin token set, no log file, data in `dir`, test-speed password
/// hashing.
pub fn fast_config(dir: &std::path::Path) -> Config {
    let mut c = config(dir);
    c.identity.argon2_memory_kib = 64;
    c.identity.argon2_iterations = 1;
    c
}

/// A platform on in-memory backends with test-speed password hashing, on `clock`.
pub async fn platform(dir: &std::path::Path, clock: &ManualClock) -> Platform {
    let (p, _) = Platform::in_memory(fast_config(dir))
        .clock(Arc::new(clock.clone()))
        .build()
        .await
        .expect("platform");
    p
}

/// A manual clock at a fixed, readable instant.
pub fn clock() -> ManualClock {
    ManualClock::new(time::macros::datetime!(2026-11-23 09:00 UTC))
}
