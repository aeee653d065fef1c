//! HTTP plumbing shared by the webhook, Slack, PagerDuty and Alertmanager channels: URL
//! checks, one POST with retries, the mapping of HTTP answers to error kinds, and a cheap
//! reachability probe for healthchecks.
//!
//! Secrets (a Slack webhook URL, a routing key, a bearer token) reach only the request:
//! reqwest's errors are stripped of their URL, response bodies are cut short and redacted,
//! and the channel's display name shows the endpoint's origin only.

use std::time::Duration;

use legalops_core::Result;
use legalops_core::clock::{SharedClock, SystemClock};
use legalops_core::error::Error;
use legalops_core::redact::REDACTED;
use reqwest::{StatusCode, Url};
use serde::Serialize;
use std::sync::Arc;

use super::retry::RetryPolicy;

/// Per-request deadline unless a builder sets another.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a refusing response's body an error quotes.
const EXCERPT: usize = 200;

/// Parses an endpoint URL given under configuration `key`: http or https (https only with
/// the `tls` feature), with a host.
pub(crate) fn parse_url(key: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::invalid_config(key, format!("not a URL ({e})")))?;
    match url.scheme() {
        "http" => {}
        "https" if cfg!(feature = "tls") => {}
        "https" => {
            return Err(Error::invalid_config(
                key,
                "https needs the `tls` feature of legalops-ops",
            ));
        }
        other => {
            return Err(Error::invalid_config(
                key,
                format!("scheme must be http or https, not `{other}`"),
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_config(key, "must name a host"));
    }
    Ok(url)
}

/// `scheme://host[:port]`: what a display name may show of an endpoint.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Replaces every occurrence of a secret in `text` with `[REDACTED]`.
pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    // Shorter strings would redact ordinary words; no real secret is that short.
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), REDACTED);
    }
    out
}

/// A secret string: `Debug` shows `[REDACTED]`, so a derived `Debug` of a channel or a
/// builder cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Sends JSON to one endpoint with retries, mapping answers to error kinds.
#[derive(Clone)]
pub(crate) struct HttpSender {
    client: reqwest::Client,
    /// The channel's display name, used as the backend in errors.
    pub(crate) name: String,
    secrets: Vec<String>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    clock: SharedClock,
}

impl std::fmt::Debug for HttpSender {
    // Hand-written so that no secret can reach a `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSender")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpSender {
    /// A sender named `name` that redacts `secrets` from whatever it reports.
    pub(crate) fn new(name: String, secrets: Vec<String>) -> Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("LegalOps/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::invalid_config("http_client", e.without_url().to_string()))?;
        Ok(Self {
            client,
            name,
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Replaces the clock (used only to read an HTTP-date `Retry-After`).
    pub(crate) fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// POSTs `body` as JSON to `url` (with a bearer token if given) until it is accepted or
    /// the retry policy gives up; returns the accepted response's body.
    pub(crate) async fn post_json<B: Serialize + ?Sized>(
        &self,
        url: &Url,
        body: &B,
        bearer: Option<&str>,
    ) -> Result<String> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::backend(self.name.clone(), false, e))?;
        self.retry
            .run(|_| {
                let mut req = self
                    .client
                    .post(url.clone())
                    .timeout(self.timeout)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(bytes.clone());
                if let Some(token) = bearer {
                    req = req.bearer_auth(token);
                }
                self.once(req)
            })
            .await
            .0
    }

    /// A GET that must answer 2xx, for healthchecks (no retries: a probe reports now).
    pub(crate) async fn get_ok(&self, url: &Url) -> Result<String> {
        self.once(self.client.get(url.clone()).timeout(self.timeout))
            .await
    }

    async fn once(&self, req: reqwest::RequestBuilder) -> Result<String> {
        let resp = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(|v| self.parse_retry_after(v));
        let body = resp.text().await.map_err(|e| self.transport_error(e))?;
        if status.is_success() {
            return Ok(body);
        }
        Err(self.refusal(status, retry_after.flatten(), &body))
    }

    fn transport_error(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                operation: format!("{} request", self.name),
                after: self.timeout,
            };
        }
        // The URL may hold the secret; the source chain says what went wrong.
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        Error::backend(self.name.clone(), true, redact(&msg, &self.secrets))
    }

    /// The error kind for a non-2xx answer: 429 -> `RateLimited`, 408/5xx -> retryable
    /// `Backend`, 401/403 -> `PermissionDenied`, any other -> final `Backend`.
    fn refusal(&self, status: StatusCode, retry_after: Option<Duration>, body: &str) -> Error {
        let excerpt: String = body
            .chars()
            .take(EXCERPT)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let excerpt = redact(excerpt.trim(), &self.secrets);
        let what = if excerpt.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {excerpt}")
        };
        match status.as_u16() {
            429 => Error::RateLimited {
                retry_after: retry_after.unwrap_or(Duration::ZERO),
            },
            408 | 500..=599 => Error::backend(self.name.clone(), true, what),
            401 | 403 => Error::PermissionDenied {
                message: format!("{} refused the credentials ({what})", self.name),
            },
            _ => Error::backend(self.name.clone(), false, what),
        }
    }

    /// `Retry-After` as delta-seconds or an HTTP date; `None` if it is neither.
    fn parse_retry_after(&self, value: &str) -> Option<Duration> {
        let value = value.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
            .ok()?;
        let wait = at - self.clock.now();
        Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
    }
}

/// Whether `url`'s host and port accept a TCP connection within `timeout`: a probe that
/// sends nothing, for channels whose only request would deliver a message.
pub(crate) async fn reachable(url: &Url, timeout: Duration, name: &str) -> Result<()> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Error::invalid_config("url", "has no port"))?;
    // An IPv6 host is written in brackets in a URL but not in a socket address.
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid_config("url", "must name a host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::backend(
            name.to_owned(),
            true,
            format!("cannot connect to {host}:{port}: {e}"),
        )),
        Err(_) => Err(Error::Timeout {
            operation: format!("{name} connect"),
            after: timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legalops_core::clock::ManualClock;
    use time::macros::datetime;

    #[test]
    fn only_http_urls_with_a_host_are_accepted_and_https_needs_tls() {
        assert!(parse_url("url", "http://127.0.0.1:9/x").is_ok());
        for bad in ["ftp://x/", "not a url", "http://"] {
            assert!(
                matches!(parse_url("url", bad), Err(Error::InvalidConfig { ref key, .. }) if key == "url"),
                "{bad}"
            );
        }
        assert_eq!(
            parse_url("url", "https://hooks.example.com/a").is_ok(),
            cfg!(feature = "tls")
        );
    }

    #[test]
    fn origin_hides_userinfo_path_and_query() {
        let url = parse_url("url", "http://user:pw@example.com:8080/T/B/secret?token=x");
        let url = url.expect("valid url");
        assert_eq!(origin(&url), "http://example.com:8080");
    }

    #[test]
    fn redact_hides_every_occurrence_and_ignores_trivial_secrets() {
        let secrets = vec!["s3cr3t-key".to_owned(), "ab".to_owned()];
        assert_eq!(
            redact("a s3cr3t-key b s3cr3t-key ab", &secrets),
            "a [REDACTED] b [REDACTED] ab"
        );
    }

    #[test]
    fn answers_map_to_error_kinds() {
        let s = HttpSender::new("test:http://h".into(), vec!["KEY123".into()]);
        let s = s.expect("client builds");
        let kind = |code: u16| {
            s.refusal(StatusCode::from_u16(code).expect("code"), None, "")
                .kind()
        };
        assert_eq!(kind(429), "rate_limited");
        assert_eq!(kind(500), "backend");
        assert!(s.refusal(StatusCode::BAD_GATEWAY, None, "").is_retryable());
        assert!(!s.refusal(StatusCode::BAD_REQUEST, None, "").is_retryable());
        assert_eq!(kind(403), "permission_denied");
        let e = s.refusal(StatusCode::BAD_REQUEST, None, "bad key KEY123\nline");
        assert_eq!(
            e.to_string(),
            "test:http://h failed: HTTP 400 Bad Request: bad key [REDACTED] line"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let clock = ManualClock::new(datetime!(2026-03-01 12:00:00 UTC));
        let s = HttpSender::new("t".into(), vec![]).expect("client builds");
        let s = s.with_clock(Arc::new(clock));
        assert_eq!(s.parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            s.parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            s.parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(s.parse_retry_after("soon"), None);
    }
}
