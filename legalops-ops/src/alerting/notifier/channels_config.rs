//! Channels configured by URL, one line each in the config file
//! (`[alerting.channels] ops = "slack+https://hooks.slack.com/services/..."`), so that an
//! operator names a destination the way Alertmanager users already write them and the
//! scheme alone picks the channel type.
//!
//! | URL | channel |
//! |---|---|
//! | `log:` | [`LogChannel`] |
//! | `memory:` | [`MemoryChannel`] (keeps what it was sent, for the dashboard and tests) |
//! | `webhook+http://...`, `webhook+https://...` | [`WebhookChannel`] |
//! | `slack+https://hooks.slack.com/...` | [`SlackChannel`] |
//! | `pagerduty://ROUTING_KEY[?base=http://...]` | [`PagerDutyChannel`] |
//! | `alertmanager+http://host:port`, `alertmanager+https://...` | [`AlertmanagerChannel`] |
//! | `smtp://...`, `smtps://...` | [`SmtpChannel`] |
//!
//! Errors are `InvalidConfig` with key `alerting.channels.<name>`; they never repeat the
//! URL, since its path, user info or host may be the credential (Slack webhook path,
//! PagerDuty routing key, SMTP password).

use std::sync::Arc;

use legalops_core::alerts::AlertChannel;
use legalops_core::mem::MemoryChannel;
use legalops_core::{Error, Result, SharedClock, SystemClock};
use reqwest::Url;

use crate::channels::{
    AlertmanagerChannel, LogChannel, PagerDutyChannel, SlackChannel, SmtpChannel, WebhookChannel,
};

/// The schemes [`channel_from_url`] accepts, as the error messages list them.
pub const SUPPORTED_SCHEMES: &str = "log:, memory:, webhook+http(s)://, slack+https://, \
     pagerduty://ROUTING_KEY, alertmanager+http(s)://, smtp://, smtps://";

/// The longest channel name accepted (it becomes a metric label and a config key).
pub const MAX_CHANNEL_NAME: usize = 64;

/// The channel that `url` describes (see the module docs), named `name` in errors.
/// Channels that need a clock (Alertmanager's `endsAt`, SMTP's `Date`) use the system
/// clock; [`channel_from_url_with_clock`] injects one.
pub fn channel_from_url(name: &str, url: &str) -> Result<Arc<dyn AlertChannel>> {
    channel_from_url_with_clock(name, url, Arc::new(SystemClock))
}

/// [`channel_from_url`] with the clock the Alertmanager and SMTP channels read.
pub fn channel_from_url_with_clock(
    name: &str,
    url: &str,
    clock: SharedClock,
) -> Result<Arc<dyn AlertChannel>> {
    let key = format!("alerting.channels.{name}");
    check_name(name)?;
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(Error::invalid_config(
            key,
            format!("has no scheme; supported: {SUPPORTED_SCHEMES}"),
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    // `rest` keeps its leading "//" where there is one, so `webhook+https://h` -> `https://h`.
    let inner = |s: &str| format!("{s}:{rest}");
    let built: Result<Arc<dyn AlertChannel>> = match scheme.as_str() {
        "log" | "memory" if !rest.trim_start_matches('/').is_empty() => Err(Error::invalid_config(
            "url",
            format!("`{scheme}:` takes nothing after the colon"),
        )),
        "log" => Ok(Arc::new(LogChannel::new())),
        "memory" => Ok(Arc::new(MemoryChannel::new())),
        "webhook+http" | "webhook+https" => {
            WebhookChannel::from_url(&inner(&scheme["webhook+".len()..]))
                .map(|c| Arc::new(c) as Arc<dyn AlertChannel>)
        }
        "slack+https" | "slack+http" => SlackChannel::from_url(&inner(&scheme["slack+".len()..]))
            .map(|c| Arc::new(c) as Arc<dyn AlertChannel>),
        "alertmanager+http" | "alertmanager+https" => {
            AlertmanagerChannel::builder(inner(&scheme["alertmanager+".len()..]))
                .clock(clock)
                .build()
                .map(|c| Arc::new(c) as Arc<dyn AlertChannel>)
        }
        "pagerduty" => pagerduty(rest).map(|c| Arc::new(c) as Arc<dyn AlertChannel>),
        "smtp" | "smtps" => SmtpChannel::builder(url)
            .clock(clock)
            .build()
            .map(|c| Arc::new(c) as Arc<dyn AlertChannel>),
        "http" | "https" => Err(Error::invalid_config(
            "url",
            format!(
                "a bare {scheme}:// URL is ambiguous; write webhook+{scheme}://, \
                 slack+{scheme}:// or alertmanager+{scheme}:// (supported: {SUPPORTED_SCHEMES})"
            ),
        )),
        other => Err(Error::invalid_config(
            "url",
            format!(
                "unknown scheme {}; supported: {SUPPORTED_SCHEMES}",
                shown(other)
            ),
        )),
    };
    built.map_err(|e| under_key(&key, e))
}

/// Builds every `(name, url)` pair, refusing duplicate names, so a config section becomes
/// the notifier's channel list in one call; the first bad entry is the error.
pub fn channels_from_urls(
    entries: &[(String, String)],
    clock: SharedClock,
) -> Result<Vec<(String, Arc<dyn AlertChannel>)>> {
    let mut out: Vec<(String, Arc<dyn AlertChannel>)> = Vec::with_capacity(entries.len());
    for (name, url) in entries {
        if out.iter().any(|(n, _)| n == name) {
            return Err(Error::invalid_config(
                format!("alerting.channels.{name}"),
                "defined twice",
            ));
        }
        out.push((
            name.clone(),
            channel_from_url_with_clock(name, url, clock.clone())?,
        ));
    }
    Ok(out)
}

/// A channel name: 1..=64 of `[A-Za-z0-9_-]`, since it is a config key and a metric label.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_CHANNEL_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_config(
            "alerting.channels",
            format!(
                "channel names are 1 to {MAX_CHANNEL_NAME} letters, digits, `_` or `-` \
                 (got {} bytes)",
                name.len()
            ),
        ))
    }
}

/// `pagerduty://ROUTING_KEY[?base=URL]`. Parsed by hand rather than as a URL so that the
/// key is taken byte for byte (a URL parser would lowercase or percent-decode a host).
fn pagerduty(rest: &str) -> Result<PagerDutyChannel> {
    let body = rest.strip_prefix("//").ok_or_else(|| {
        Error::invalid_config("url", "write pagerduty://ROUTING_KEY[?base=http://...]")
    })?;
    let (routing_key, query) = body.split_once('?').unwrap_or((body, ""));
    let routing_key = routing_key.trim_end_matches('/');
    if routing_key.is_empty() {
        return Err(Error::invalid_config(
            "routing_key",
            "pagerduty:// needs the integration's routing key",
        ));
    }
    let mut builder = PagerDutyChannel::builder(routing_key);
    if !query.is_empty() {
        // Any base URL parses as a query of this dummy URL; only the pairs are read.
        let pairs = Url::parse(&format!("http://query.invalid/?{query}"))
            .map_err(|_| Error::invalid_config("url", "the query does not parse"))?;
        for (k, v) in pairs.query_pairs() {
            match k.as_ref() {
                "base" => builder = builder.base_url(v.into_owned()),
                other => {
                    return Err(Error::invalid_config(
                        "url",
                        format!("unknown parameter {} (expected base)", shown(other)),
                    ));
                }
            }
        }
    }
    builder.build()
}

/// Moves a channel builder's `InvalidConfig` under the channel's config key, keeping the
/// builder's key (`url`, `routing_key`, `tls`...) in the message. Builders never put the
/// URL in a message, so nothing secret is added here.
fn under_key(key: &str, e: Error) -> Error {
    match e {
        Error::InvalidConfig {
            key: inner,
            message,
        } if inner == "url" => Error::invalid_config(key, message),
        Error::InvalidConfig {
            key: inner,
            message,
        } => Error::invalid_config(key, format!("{inner}: {message}")),
        other => other,
    }
}

/// A word from the URL fit to repeat in an error: short and made of scheme characters;
/// anything else might be (part of) a secret.
fn shown(word: &str) -> String {
    let plain = word.len() <= 32
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_'));
    if plain {
        format!("`{word}`")
    } else {
        "(not shown)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str, url: &str) -> (String, String) {
        match channel_from_url(name, url) {
            Err(Error::InvalidConfig { key, message }) => (key, message),
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn each_scheme_builds_its_channel_type() {
        let cases = [
            ("log:", "log"),
            ("memory:", "memory"),
            (
                "webhook+http://127.0.0.1:9/hook/SECRETPATH",
                "webhook:http://127.0.0.1:9",
            ),
            ("alertmanager+http://127.0.0.1:9093", "alertmanager"),
            (
                "pagerduty://R0UTINGKEY0123456789?base=http://127.0.0.1:9",
                "pagerduty",
            ),
            (
                "smtp://127.0.0.1:2525?from=a@example.com&to=b@example.com",
                "smtp:",
            ),
        ];
        for (url, shows) in cases {
            let ch = channel_from_url("ops", url).unwrap_or_else(|e| panic!("{url}: {e}"));
            let display = ch.to_string();
            assert!(display.starts_with(shows), "{url} -> {display}");
            assert!(!display.contains("SECRETPATH") && !display.contains("R0UTINGKEY"));
        }
    }

    #[test]
    fn unknown_or_missing_schemes_list_the_supported_ones_under_the_channel_key() {
        for url in ["ftp://x", "no-scheme-here", "https://hooks.example.com/x"] {
            let (key, message) = err("ops", url);
            assert_eq!(key, "alerting.channels.ops");
            assert!(message.contains("pagerduty://"), "{message}");
        }
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_without_the_tls_feature_names_the_feature() {
        let (key, message) = err(
            "chat",
            "slack+https://hooks.slack.com/services/T/B/XYZSECRET",
        );
        assert_eq!(key, "alerting.channels.chat");
        assert!(message.contains("`tls`"), "{message}");
        assert!(!message.contains("XYZSECRET"));
    }

    #[test]
    fn errors_never_repeat_secrets() {
        let secret = "S3CR3T-VALUE";
        let urls = [
            format!("pagerduty://{secret}?bogus={secret}"),
            format!("smtp://user:{secret}@127.0.0.1?from=nope&to=b@example.com"),
            format!("webhook+http://:{secret}"),
            format!("{secret}//x:y"),
            format!("log:{secret}"),
        ];
        for url in urls {
            let (_, message) = err("ops", &url);
            assert!(!message.contains(secret), "{url}: {message}");
        }
        let (key, _) = err("ops", "pagerduty://");
        assert_eq!(key, "alerting.channels.ops");
    }

    #[test]
    fn channel_names_are_checked_and_unique() {
        let (key, _) = err("bad name", "log:");
        assert_eq!(key, "alerting.channels");
        let clock: SharedClock = Arc::new(SystemClock);
        let entries = vec![
            ("a".to_owned(), "log:".to_owned()),
            ("a".to_owned(), "memory:".to_owned()),
        ];
        match channels_from_urls(&entries, clock.clone()) {
            Err(Error::InvalidConfig { key, .. }) => assert_eq!(key, "alerting.channels.a"),
            other => panic!("{other:?}"),
        }
        let ok = channels_from_urls(&entries[..1], clock).expect("one log channel");
        assert_eq!(ok.len(), 1);
    }
}
