//! The HTTP routes, grouped by the runbook section they serve, and the one table that says
//! who may call each ([`table`]): the router is built from it, and the RBAC test walks it,
//! so a route cannot exist without an access rule.

use axum::routing::{MethodRouter, delete, get, post, put};

use crate::access::Access;
use crate::platform::Platform;

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod documents;
pub mod health;
pub mod incidents;
pub mod metrics;
pub mod performance;
pub mod security;
pub mod users;

/// One route: method, path, who may call it, the handler.
pub type Route = (&'static str, &'static str, Access, MethodRouter<Platform>);

/// Every route of the platform. `/metrics` is listed as admin (`metrics:read`); with
/// `metrics_public` the router serves it to anyone.
pub fn table() -> Vec<Route> {
    use Access::{Admin, Public, User};
    vec![
        ("GET", "/health", Public, get(health::health)),
        ("GET", "/livez", Public, get(health::livez)),
        ("GET", "/readyz", Public, get(health::readyz)),
        (
            "GET",
            "/api/health/detailed",
            Admin("health:read"),
            get(health::detailed),
        ),
        (
            "GET",
            "/metrics",
            Admin("metrics:read"),
            get(metrics::prometheus),
        ),
        (
            "GET",
            "/api/metrics/application",
            Admin("metrics:read"),
            get(metrics::application),
        ),
        (
            "GET",
            "/api/metrics/system",
            Admin("metrics:read"),
            get(metrics::system),
        ),
        (
            "GET",
            "/api/metrics/database",
            Admin("metrics:read"),
            get(metrics::database),
        ),
        (
            "GET",
            "/api/metrics/security",
            Admin("security:read"),
            get(security::metrics),
        ),
        ("POST", "/api/auth/register", Public, post(auth::register)),
        ("POST", "/api/auth/login", Public, post(auth::login)),
        ("POST", "/api/auth/logout", User, post(auth::logout)),
        ("GET", "/api/auth/me", User, get(auth::me)),
        (
            "POST",
            "/api/auth/password",
            User,
            post(auth::change_password),
        ),
        ("GET", "/api/auth/sessions", User, get(auth::sessions)),
        (
            "DELETE",
            "/api/auth/sessions/{id}",
            User,
            delete(auth::revoke_session),
        ),
        ("GET", "/api/users", Admin("users:read"), get(users::list)),
        (
            "PUT",
            "/api/users/{id}/role",
            Admin("users:write"),
            put(users::set_role),
        ),
        (
            "GET",
            "/api/admin/api-keys",
            Admin("users:read"),
            get(users::list_keys),
        ),
        (
            "POST",
            "/api/admin/api-keys",
            Admin("users:write"),
            post(users::create_key),
        ),
        (
            "DELETE",
            "/api/admin/api-keys/{id}",
            Admin("users:write"),
            delete(users::revoke_key),
        ),
        (
            "POST",
            "/api/security/block-ip",
            Admin("security:write"),
            post(security::block_ip),
        ),
        (
            "GET",
            "/api/security/blocked-ips",
            Admin("security:read"),
            get(security::blocked_ips),
        ),
        (
            "DELETE",
            "/api/security/blocked-ips/{id}",
            Admin("security:write"),
            delete(security::unblock),
        ),
        (
            "GET",
            "/api/security/failed-logins",
            Admin("security:read"),
            get(security::failed_logins),
        ),
        (
            "GET",
            "/api/security/events",
            Admin("security:read"),
            get(security::events),
        ),
        (
            "POST",
            "/api/security/dos-mode",
            Admin("security:write"),
            post(security::dos_mode),
        ),
        (
            "GET",
            "/api/audit/entries",
            Admin("audit:read"),
            get(audit::entries),
        ),
        (
            "GET",
            "/api/audit/checkpoints",
            Admin("audit:read"),
            get(audit::checkpoints),
        ),
        (
            "GET",
            "/api/audit/verify",
            Admin("audit:read"),
            get(audit::verify),
        ),
        (
            "GET",
            "/api/audit/proof",
            Admin("audit:read"),
            get(audit::proof),
        ),
        ("POST", "/api/documents", User, post(documents::upload)),
        (
            "GET",
            "/api/alerts",
            Admin("alerts:read"),
            get(alerts::list),
        ),
        (
            "GET",
            "/api/silences",
            Admin("alerts:read"),
            get(alerts::silences),
        ),
        (
            "POST",
            "/api/silences",
            Admin("alerts:write"),
            post(alerts::create_silence),
        ),
        (
            "DELETE",
            "/api/silences/{id}",
            Admin("alerts:write"),
            delete(alerts::expire_silence),
        ),
        (
            "GET",
            "/api/incidents",
            Admin("incidents:read"),
            get(incidents::list),
        ),
        (
            "GET",
            "/api/incidents/{id}",
            Admin("incidents:read"),
            get(incidents::get),
        ),
        (
            "POST",
            "/api/incidents/{id}/acknowledge",
            Admin("incidents:write"),
            post(incidents::acknowledge),
        ),
        (
            "POST",
            "/api/incidents/{id}/investigate",
            Admin("incidents:write"),
            post(incidents::investigate),
        ),
        (
            "POST",
            "/api/incidents/{id}/resolve",
            Admin("incidents:write"),
            post(incidents::resolve),
        ),
        (
            "POST",
            "/api/incidents/{id}/review",
            Admin("incidents:write"),
            post(incidents::review),
        ),
        (
            "POST",
            "/api/incidents/{id}/close",
            Admin("incidents:write"),
            post(incidents::close),
        ),
        (
            "POST",
            "/api/incidents/{id}/notes",
            Admin("incidents:write"),
            post(incidents::note),
        ),
        (
            "GET",
            "/api/incidents/{id}/postmortem",
            Admin("incidents:read"),
            get(incidents::postmortem),
        ),
        (
            "GET",
            "/api/performance/metrics",
            Admin("metrics:read"),
            get(performance::application),
        ),
        (
            "GET",
            "/api/performance/database",
            Admin("metrics:read"),
            get(performance::database),
        ),
        (
            "GET",
            "/api/performance/cache",
            Admin("metrics:read"),
            get(performance::cache),
        ),
    ]
}
