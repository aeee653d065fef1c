//! `SmtpChannel`: one mail per notification (lettre over tokio): subject in Alertmanager's
//! style (`[FIRING:2] HighErrorRate (critical)`), a plain-text body listing every alert with
//! its annotations, and a short HTML alternative.
//!
//! Configured by one URL, `smtp://[user[:password]@]host[:port]?from=..&to=..[,..]` with
//! optional `tls=required` (STARTTLS) or `tls=opportunistic`, or `smtps://` (TLS from the
//! first byte); TLS needs the crate's `tls` feature. Transient SMTP replies (4xx) and
//! connection failures are retried; permanent replies (5xx) are final. The password is
//! never shown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::alerts::{AlertChannel, Notification};
use legalops_core::clock::{SharedClock, SystemClock};
use legalops_core::{Error, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use reqwest::Url;

use super::format::{html_body, text_body, title};
use super::http::{Secret, redact};
use super::retry::RetryPolicy;

/// Deadline of one SMTP command unless the builder sets another.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    StartTlsRequired,
    StartTlsOpportunistic,
    Wrapper,
}

/// Delivers notifications by mail.
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    name: String,
    secrets: Vec<String>,
    retry: RetryPolicy,
    timeout: Duration,
    clock: SharedClock,
}

/// Configures an [`SmtpChannel`].
#[derive(Debug, Clone)]
pub struct SmtpChannelBuilder {
    url: Secret,
    from: Option<String>,
    to: Vec<String>,
    credentials: Option<(String, Secret)>,
    timeout: Duration,
    retry: RetryPolicy,
    clock: SharedClock,
}

/// `%XX` sequences of a URL's userinfo decoded (invalid ones kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mailbox(key: &str, addr: &str) -> Result<Mailbox> {
    addr.trim()
        .parse()
        .map_err(|e| Error::invalid_config(key, format!("not a mail address ({e})")))
}

impl SmtpChannelBuilder {
    /// The sender (overrides the URL's `from`).
    pub fn from(mut self, addr: impl Into<String>) -> Self {
        self.from = Some(addr.into());
        self
    }

    /// Adds a recipient (to those of the URL's `to`).
    pub fn to(mut self, addr: impl Into<String>) -> Self {
        self.to.push(addr.into());
        self
    }

    /// Logs in with `user` and `password` (overrides the URL's userinfo; a secret).
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), Secret::new(password)));
        self
    }

    /// Deadline of each SMTP command (default [`DEFAULT_SMTP_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How failed deliveries are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The clock that dates the mails (default the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The channel; `InvalidConfig` naming `smtp_url`, `from`, `to` or `tls`.
    pub fn build(self) -> Result<SmtpChannel> {
        let key = "smtp_url";
        let url = Url::parse(self.url.expose().trim())
            .map_err(|e| Error::invalid_config(key, format!("not a URL ({e})")))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::invalid_config(key, "must name a host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let (mut from, mut to, mut tls) = (None, Vec::new(), None);
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "from" => from = Some(v.into_owned()),
                "to" => to.extend(v.split(',').map(str::to_owned)),
                "tls" => tls = Some(v.into_owned()),
                other => {
                    return Err(Error::invalid_config(
                        key,
                        format!("unknown parameter `{other}` (expected from, to, tls)"),
                    ));
                }
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => Security::Plain,
            ("smtp", Some("required")) => Security::StartTlsRequired,
            ("smtp", Some("opportunistic")) => Security::StartTlsOpportunistic,
            ("smtps", None) => Security::Wrapper,
            ("smtp" | "smtps", Some(_)) => {
                return Err(Error::invalid_config(
                    "tls",
                    "must be `required` or `opportunistic` (and only with smtp://)",
                ));
            }
            (other, _) => {
                return Err(Error::invalid_config(
                    key,
                    format!("scheme must be smtp or smtps, not `{other}`"),
                ));
            }
        };
        let port = url.port().unwrap_or(match security {
            Security::Plain | Security::StartTlsOpportunistic => 25,
            Security::StartTlsRequired => 587,
            Security::Wrapper => 465,
        });
        let from = mailbox(
            "from",
            self.from.as_deref().or(from.as_deref()).unwrap_or(""),
        )?;
        to.extend(self.to);
        if to.iter().all(|t| t.trim().is_empty()) {
            return Err(Error::invalid_config("to", "needs at least one recipient"));
        }
        let to = to
            .iter()
            .filter(|t| !t.trim().is_empty())
            .map(|t| mailbox("to", t))
            .collect::<Result<Vec<_>>>()?;
        let credentials = self
            .credentials
            .map(|(u, p)| (u, p.expose().to_owned()))
            .or_else(|| {
                (!url.username().is_empty()).then(|| {
                    let pass = url.password().map(percent_decode).unwrap_or_default();
                    (percent_decode(url.username()), pass)
                })
            });
        let mut builder = transport(&host, security)?
            .port(port)
            .timeout(Some(self.timeout));
        let mut secrets = Vec::new();
        if let Some((user, pass)) = credentials {
            secrets.push(pass.clone());
            secrets.extend(url.password().map(str::to_owned));
            builder = builder.credentials(Credentials::new(user, pass));
        }
        let scheme = if security == Security::Wrapper {
            "smtps"
        } else {
            "smtp"
        };
        Ok(SmtpChannel {
            transport: builder.build(),
            from,
            to,
            name: format!("{scheme}:{}:{port}", url.host_str().unwrap_or(&host)),
            secrets,
            retry: self.retry,
            timeout: self.timeout,
            clock: self.clock,
        })
    }
}

type TransportBuilder = lettre::transport::smtp::AsyncSmtpTransportBuilder;

#[cfg(feature = "tls")]
fn transport(host: &str, security: Security) -> Result<TransportBuilder> {
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    let params = || {
        TlsParameters::new(host.to_owned()).map_err(|e| Error::invalid_config("tls", e.to_string()))
    };
    let plain = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
    Ok(match security {
        Security::Plain => plain,
        Security::StartTlsRequired => plain.tls(Tls::Required(params()?)),
        Security::StartTlsOpportunistic => plain.tls(Tls::Opportunistic(params()?)),
        Security::Wrapper => plain.tls(Tls::Wrapper(params()?)),
    })
}

#[cfg(not(feature = "tls"))]
fn transport(host: &str, security: Security) -> Result<TransportBuilder> {
    match security {
        Security::Plain => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
        _ => Err(Error::invalid_config(
            "tls",
            "smtps:// and STARTTLS need the `tls` feature of legalops-ops",
        )),
    }
}

impl SmtpChannel {
    /// A channel configured by `url` alone (see the module docs).
    pub fn from_url(url: &str) -> Result<Self> {
        Self::builder(url).build()
    }

    /// A builder starting from `url` (`from`, `to` and credentials may also come from the
    /// builder).
    pub fn builder(url: impl Into<String>) -> SmtpChannelBuilder {
        SmtpChannelBuilder {
            url: Secret::new(url),
            from: None,
            to: Vec::new(),
            credentials: None,
            timeout: DEFAULT_SMTP_TIMEOUT,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }

    fn message(&self, n: &Notification) -> Result<Message> {
        let mut m = Message::builder()
            .from(self.from.clone())
            .subject(title(n))
            .date(self.clock.now().into());
        for to in &self.to {
            m = m.to(to.clone());
        }
        m.multipart(MultiPart::alternative_plain_html(
            text_body(n),
            html_body(n),
        ))
        .map_err(|e| Error::backend(self.name.clone(), false, e.to_string()))
    }

    /// The error kind for a failed SMTP exchange: 4xx replies and connection trouble may
    /// pass, 5xx replies and our own mistakes will not.
    fn error(&self, e: &lettre::transport::smtp::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                operation: format!("{} command", self.name),
                after: self.timeout,
            };
        }
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        let retryable = !(e.is_permanent() || e.is_client() || e.is_response() || is_tls(e));
        Error::backend(self.name.clone(), retryable, redact(&msg, &self.secrets))
    }
}

#[cfg(feature = "tls")]
fn is_tls(e: &lettre::transport::smtp::Error) -> bool {
    e.is_tls()
}

#[cfg(not(feature = "tls"))]
fn is_tls(_: &lettre::transport::smtp::Error) -> bool {
    false
}

impl fmt::Debug for SmtpChannel {
    // By hand: the transport holds the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("server", &self.name)
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for SmtpChannel {
    /// `smtp:host:port` or `smtps:host:port`; never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[async_trait]
impl AlertChannel for SmtpChannel {
    async fn send(&self, n: &Notification) -> Result<()> {
        let message = self.message(n)?;
        let envelope = message.envelope().clone();
        let raw = message.formatted();
        self.retry
            .run(|_| async {
                self.transport
                    .send_raw(&envelope, &raw)
                    .await
                    .map(drop)
                    .map_err(|e| self.error(&e))
            })
            .await
            .0
    }

    /// Connects, greets and says NOOP (and QUIT); no mail is sent.
    async fn healthcheck(&self) -> Result<()> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::backend(
                self.name.clone(),
                true,
                "the server did not answer NOOP",
            )),
            Err(e) => Err(self.error(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_and_key(r: Result<SmtpChannel>) -> (String, String) {
        match r {
            Err(Error::InvalidConfig { key, message }) => (key, message),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn the_url_carries_sender_recipients_and_credentials_and_display_hides_them() {
        let ch = SmtpChannel::from_url(
            "smtp://alerts%40x.test:pa%24%24word@127.0.0.1:2525?from=ops@x.test&to=a@x.test,b@x.test",
        )
        .expect("valid");
        assert_eq!(ch.to.len(), 2);
        assert_eq!(ch.from.to_string(), "ops@x.test");
        assert_eq!(ch.secrets.first().map(String::as_str), Some("pa$$word"));
        let shown = format!("{ch} {ch:?}");
        assert!(shown.starts_with("smtp:127.0.0.1:2525 "), "{shown}");
        assert!(
            !shown.contains("pa$$") && !shown.contains("pa%24"),
            "{shown}"
        );
        assert!(!format!("{:?}", SmtpChannel::builder("smtp://u:PW@h")).contains("PW"));
    }

    #[test]
    fn missing_or_malformed_settings_name_their_key() {
        let (key, _) = kind_and_key(SmtpChannel::from_url("smtp://h?to=a@x.test"));
        assert_eq!(key, "from");
        let (key, _) = kind_and_key(SmtpChannel::from_url("smtp://h?from=a@x.test"));
        assert_eq!(key, "to");
        let (key, _) = kind_and_key(SmtpChannel::from_url("smtp://h?from=a@x.test&to=nope"));
        assert_eq!(key, "to");
        let (key, _) = kind_and_key(SmtpChannel::from_url("http://h?from=a@x.test&to=b@x.test"));
        assert_eq!(key, "smtp_url");
        let (key, _) = kind_and_key(SmtpChannel::from_url(
            "smtp://h?from=a@x.test&to=b@x.test&tls=maybe",
        ));
        assert_eq!(key, "tls");
    }

    #[test]
    fn tls_urls_need_the_tls_feature() {
        let r = SmtpChannel::from_url("smtps://h?from=a@x.test&to=b@x.test");
        assert_eq!(r.is_ok(), cfg!(feature = "tls"));
        let r = SmtpChannel::from_url("smtp://h?from=a@x.test&to=b@x.test&tls=required");
        assert_eq!(r.is_ok(), cfg!(feature = "tls"));
    }

    #[test]
    fn percent_decoding_keeps_invalid_sequences() {
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
