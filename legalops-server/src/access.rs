//! Who is calling and what they may do: the client address (behind trusted proxies), the
//! blocklist and the per-IP API rate limit in front of every route but `/livez`, and per
//! route the authentication of the bearer (admin token, API key or session) and its
//! authorization ([`Access`]). Every refusal is audited; unauthenticated calls to admin
//! routes feed the suspicious-activity detectors.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use legalops_core::Error;
use legalops_core::audit::Outcome;
use legalops_core::identity::{ApiKey, Role, User};
use legalops_core::security::rules::IpSet;
use legalops_ops::audit::RequestMeta;
use legalops_ops::identity::scope_allows;
use legalops_ops::ratelimit::{GROUP_API, RateDecision, headers as ratelimit_headers};

use crate::error::{AppError, Problem};
use crate::middleware::X_REQUEST_ID;
use crate::platform::Platform;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the blocklist and rate limits still apply).
    Public,
    /// Any logged-in user (a session), whatever the role.
    User,
    /// Admins: the bootstrap admin token, a user with the admin role, or an API key
    /// holding this scope.
    Admin(&'static str),
}

/// The authenticated caller, available to handlers as an extension.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The bootstrap admin token.
    AdminToken,
    /// An admin API key.
    ApiKey(ApiKey),
    /// A user's session.
    User {
        /// The user.
        user: User,
        /// The session's public id.
        session_id: String,
    },
}

impl Principal {
    /// The audit `actor` for this caller.
    pub fn actor(&self) -> String {
        match self {
            Self::AdminToken => "admin-token".to_owned(),
            Self::ApiKey(k) => format!("api-key:{}", k.id),
            Self::User { user, .. } => user.id.clone(),
        }
    }

    fn allows(&self, access: Access) -> bool {
        match (access, self) {
            (Access::Public, _) => true,
            (Access::User, Self::User { .. }) => true,
            (Access::User, _) => false,
            (Access::Admin(_), Self::AdminToken) => true,
            (Access::Admin(_), Self::User { user, .. }) => user.role == Role::Admin,
            (Access::Admin(scope), Self::ApiKey(key)) => scope_allows(&key.scopes, scope),
        }
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest
/// untrusted address in `X-Forwarded-For`. Without connection info (a router called
/// in-process) the address is 0.0.0.0, which IP rules treat as unknown.
pub fn client_ip(req: &Request, trusted: &IpSet) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| {
            c.0.ip().to_canonical()
        });
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let forwarded = req.headers().get_all("x-forwarded-for");
    let hops: Vec<IpAddr> = forwarded
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(*ip))
        .unwrap_or(peer)
}

/// The request's audit metadata (address, user agent, request id).
pub fn request_meta(ip: IpAddr, headers: &HeaderMap) -> RequestMeta {
    let mut meta = RequestMeta::new(ip);
    if let Some(ua) = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        meta = meta.with_user_agent(ua);
    }
    if let Some(id) = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
        meta = meta.with_request_id(id);
    }
    meta
}

/// The client address as computed once per request by [`guard_request`].
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// In front of every route but `/livez`: refuse blocked addresses (403) and apply the
/// per-IP API rate limit to `/api/` routes (429 with `Retry-After` and `RateLimit`).
pub async fn guard_request(State(p): State<Platform>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req, p.trusted_proxies());
    req.extensions_mut().insert(ClientIp(ip));
    let path = req.uri().path();
    if path == "/livez" || path.ends_with("/livez") {
        return next.run(req).await;
    }
    if let Some(block) = p.security().check_ip(ip) {
        tracing::info!(ip = %ip, block = %block.id, "request from a blocked address refused");
        return Problem::new(StatusCode::FORBIDDEN, "blocked")
            .detail("this address is blocked")
            .into_response();
    }
    if path.starts_with("/api/") || path.contains("/api/") {
        match p.limiter().check(GROUP_API, &ip.to_string()) {
            Ok(d) if !d.allowed => return rate_limited(GROUP_API, &d, &p, ip, req.headers()).await,
            Ok(d) => {
                let mut res = next.run(req).await;
                set_ratelimit_headers(res.headers_mut(), GROUP_API, &d);
                return res;
            }
            Err(e) => tracing::error!(error = %e, "rate limiter failed; request let through"),
        }
    }
    next.run(req).await
}

fn set_ratelimit_headers(headers: &mut HeaderMap, group: &str, d: &RateDecision) {
    for (name, value) in ratelimit_headers(group, d) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

async fn rate_limited(
    group: &str,
    d: &RateDecision,
    p: &Platform,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Response {
    p.auditor()
        .event("security.rate_limited", Outcome::Denied)
        .actor("anonymous")
        .target(group)
        .meta(&request_meta(ip, headers))
        .emit()
        .await;
    let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        .detail(format!("too many requests for {group}; retry later"))
        .into_response();
    set_ratelimit_headers(res.headers_mut(), group, d);
    res
}

/// Resolves the bearer into a [`Principal`]; `Ok(None)` when there is none.
async fn authenticate(
    p: &Platform,
    headers: &HeaderMap,
    meta: &RequestMeta,
) -> Result<Option<Principal>, AppError> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
    else {
        return Err(AppError::Unauthorized);
    };
    if p.admin_auth().verify(token) {
        return Ok(Some(Principal::AdminToken));
    }
    let result = if token.starts_with(legalops_ops::identity::tokens::API_KEY_PREFIX) {
        p.identity()
            .authenticate_api_key(token, meta)
            .await
            .map(Principal::ApiKey)
    } else {
        p.identity()
            .authenticate_session(token, meta)
            .await
            .map(|(user, session)| Principal::User {
                user,
                session_id: session.id,
            })
    };
    match result {
        Ok(principal) => Ok(Some(principal)),
        Err(Error::PermissionDenied { .. }) => Err(AppError::Unauthorized),
        Err(e) => Err(e.into()),
    }
}

/// Per route: authenticate, authorize against `access`, feed the detectors, audit
/// refusals, and put the [`Principal`] in the request for the handler.
pub async fn authorize(
    State((p, access)): State<(Platform, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0);
    let meta = request_meta(ip, req.headers());
    let is_admin_route = matches!(access, Access::Admin(_));
    let principal = authenticate(&p, req.headers(), &meta).await;
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    p.security()
        .observe_request(
            ip,
            ua.as_deref(),
            is_admin_route,
            matches!(principal, Ok(Some(_))),
        )
        .await;
    let path = req.uri().path().to_owned();
    let refuse = |status: StatusCode, actor: String, why: &'static str| {
        let auditor = p.auditor().clone();
        let meta = meta.clone();
        let path = path.clone();
        async move {
            auditor
                .event(
                    if status == StatusCode::UNAUTHORIZED {
                        "auth.bearer"
                    } else {
                        "authz.denied"
                    },
                    Outcome::Denied,
                )
                .actor(actor)
                .target(path)
                .detail("reason", why)
                .meta(&meta)
                .emit()
                .await;
        }
    };
    match principal {
        Err(AppError::Unauthorized) => {
            refuse(
                StatusCode::UNAUTHORIZED,
                "anonymous".into(),
                "invalid credentials",
            )
            .await;
            AppError::Unauthorized.into_response()
        }
        Err(e) => e.into_response(),
        Ok(None) if access == Access::Public => next.run(req).await,
        Ok(None) => {
            if is_admin_route {
                refuse(
                    StatusCode::UNAUTHORIZED,
                    "anonymous".into(),
                    "no credentials on an admin route",
                )
                .await;
            }
            AppError::Unauthorized.into_response()
        }
        Ok(Some(principal)) if principal.allows(access) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Ok(Some(principal)) => {
            refuse(
                StatusCode::FORBIDDEN,
                principal.actor(),
                "role or scope does not allow this route",
            )
            .await;
            Problem::new(StatusCode::FORBIDDEN, "forbidden").into_response()
        }
    }
}

/// Applies a per-route rate-limit group to `subject` (an IP or a user id).
pub async fn limit(
    p: &Platform,
    group: &str,
    subject: &str,
    meta: &RequestMeta,
) -> Result<RateDecision, Response> {
    match p.limiter().check(group, subject) {
        Ok(d) if d.allowed => Ok(d),
        Ok(d) => {
            p.auditor()
                .event("security.rate_limited", Outcome::Denied)
                .actor("anonymous")
                .target(group)
                .meta(meta)
                .emit()
                .await;
            let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                .detail(format!("too many requests for {group}; retry later"))
                .into_response();
            set_ratelimit_headers(res.headers_mut(), group, &d);
            Err(res)
        }
        Err(e) => Err(AppError::from(e).into_response()),
    }
}

/// Adds a per-route group's rate-limit headers to a response.
pub fn with_ratelimit(mut res: Response, group: &str, d: &RateDecision) -> Response {
    set_ratelimit_headers(res.headers_mut(), group, d);
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::security::rules::TargetRules;

    fn req(peer: &str, xff: Option<&str>) -> Request {
        let mut r = Request::new(axum::body::Body::empty());
        let addr = SocketAddr::new(peer.parse().expect("peer ip"), 1);
        r.extensions_mut().insert(ConnectInfo(addr));
        if let Some(x) = xff {
            r.headers_mut()
                .insert("x-forwarded-for", HeaderValue::from_str(x).expect("header"));
        }
        r
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = IpSet::parse(&["10.0.0.0/8"], TargetRules::default()).expect("set");
        let none = IpSet::parse::<&str>(&[], TargetRules::default()).expect("set");
        assert_eq!(
            client_ip(&req("203.0.113.5", Some("1.2.3.4")), &trusted).to_string(),
            "203.0.113.5"
        );
        assert_eq!(
            client_ip(&req("10.0.0.2", Some("1.2.3.4, 10.0.0.9")), &trusted).to_string(),
            "1.2.3.4"
        );
        assert_eq!(
            client_ip(&req("10.0.0.2", Some("garbage")), &trusted).to_string(),
            "10.0.0.2"
        );
        assert_eq!(
            client_ip(&req("10.0.0.2", Some("1.2.3.4")), &none).to_string(),
            "10.0.0.2"
        );
        assert_eq!(
            client_ip(&req("::ffff:192.0.2.1", None), &none).to_string(),
            "192.0.2.1"
        );
    }
}
