//! Role x route: every route's answer for every kind of caller, as a table. A route added
//! without a row here fails `every_route_is_in_the_table`.

mod common;

use axum::http::{Method, StatusCode};
use common::{ADMIN_TOKEN, call, clock, customer, login, platform};
use serde_json::json;

const PW: &str = "Corr3ct-Horse-Battery!";

fn ip_of(who: Who) -> &'static str {
    match who {
        Who::Anonymous => "198.51.100.20",
        Who::Customer => "198.51.100.21",
        Who::Staff => "198.51.100.22",
        Who::Attorney => "198.51.100.23",
        Who::AdminUser => "198.51.100.24",
        Who::AdminToken => "198.51.100.25",
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    Customer,
    Staff,
    Attorney,
    AdminUser,
    AdminToken,
}

/// Who may call each route: (method, path, the callers that get through).
const TABLE: &[(&str, &str, &[Who])] = {
    use Who::*;
    const ANYONE: &[Who] = &[Anonymous, Customer, Staff, Attorney, AdminUser, AdminToken];
    const USERS: &[Who] = &[Customer, Staff, Attorney, AdminUser];
    const ADMINS: &[Who] = &[AdminUser, AdminToken];
    &[
        ("GET", "/health", ANYONE),
        ("GET", "/livez", ANYONE),
        ("GET", "/readyz", ANYONE),
        ("GET", "/api/auth/me", USERS),
        ("GET", "/api/auth/sessions", USERS),
        ("GET", "/api/health/detailed", ADMINS),
        ("GET", "/metrics", ADMINS),
        ("GET", "/api/metrics/application", ADMINS),
        ("GET", "/api/metrics/system", ADMINS),
        ("GET", "/api/metrics/database", ADMINS),
        ("GET", "/api/metrics/security", ADMINS),
        ("GET", "/api/security/blocked-ips", ADMINS),
        ("GET", "/api/security/failed-logins", ADMINS),
        ("GET", "/api/security/events", ADMINS),
        ("GET", "/api/audit/verify", ADMINS),
        ("GET", "/api/audit/checkpoints", ADMINS),
        ("GET", "/api/audit/entries", ADMINS),
        ("GET", "/api/audit/proof", ADMINS),
        ("GET", "/api/users", ADMINS),
        ("GET", "/api/admin/api-keys", ADMINS),
        ("GET", "/api/alerts", ADMINS),
        ("GET", "/api/silences", ADMINS),
        ("GET", "/api/incidents", ADMINS),
        ("GET", "/api/incidents/no-such-id", ADMINS),
        ("GET", "/api/incidents/no-such-id/postmortem", ADMINS),
        ("GET", "/api/performance/metrics", ADMINS),
        ("GET", "/api/performance/database", ADMINS),
        ("GET", "/api/performance/cache", ADMINS),
    ]
};

#[tokio::test]
async fn every_role_gets_exactly_the_routes_it_should() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let p = platform(dir.path(), &clock).await;
    let app = p.router();
    let mut tokens = std::collections::HashMap::new();
    for (who, email, role) in [
        (Who::Customer, "c@example.test", None),
        (Who::Staff, "s@example.test", Some("staff")),
        (Who::Attorney, "a@example.test", Some("attorney")),
        (Who::AdminUser, "ad@example.test", Some("admin")),
    ] {
        let ip = ip_of(who);
        let token = customer(&app, ip, email, PW).await;
        if let Some(role) = role {
            let me = call(&app, ip, Method::GET, "/api/auth/me", Some(&token), None).await;
            let id = me.body["id"].as_str().expect("id").to_owned();
            let set = call(
                &app,
                ip,
                Method::PUT,
                &format!("/api/users/{id}/role"),
                Some(ADMIN_TOKEN),
                Some(json!({"role": role})),
            )
            .await;
            assert!(set.status.is_success(), "{}", set.text);
        }
        // A fresh login, so the session reflects the role.
        tokens.insert(format!("{who:?}"), login(&app, ip, email, PW).await);
    }
    let mut failures = Vec::new();
    for (method, path, allowed) in TABLE {
        for who in [
            Who::Anonymous,
            Who::Customer,
            Who::Staff,
            Who::Attorney,
            Who::AdminUser,
            Who::AdminToken,
        ] {
            let bearer = match who {
                Who::Anonymous => None,
                Who::AdminToken => Some(ADMIN_TOKEN.to_owned()),
                other => tokens.get(&format!("{other:?}")).cloned(),
            };
            let m = Method::from_bytes(method.as_bytes()).expect("method");
            // One address per caller, so the per-IP limits (auth 5/min, API 100/min) never
            // answer for the access rules.
            let a = call(&app, ip_of(who), m, path, bearer.as_deref(), None).await;
            let expected_in = allowed.contains(&who);
            let got_in = !matches!(a.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
            let right_refusal = match who {
                Who::Anonymous => a.status == StatusCode::UNAUTHORIZED,
                _ => a.status == StatusCode::FORBIDDEN,
            };
            if expected_in != got_in || (!expected_in && !right_refusal) {
                failures.push(format!("{method} {path} as {who:?}: {}", a.status));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "RBAC table violations:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_route_is_in_the_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let p = platform(dir.path(), &clock).await;
    for (method, path) in p.route_table() {
        if method != "GET" {
            continue; // writes are covered by their own tests; reads must all be tabled
        }
        let templated = path.contains('{');
        assert!(
            templated || TABLE.iter().any(|(m, p, _)| *m == method && *p == path),
            "{method} {path} has no RBAC row"
        );
    }
}
