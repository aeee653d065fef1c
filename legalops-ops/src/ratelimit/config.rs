//! Rate-limit configuration: one quota per route group, with the business's defaults
//! (legal-domain.md, "Security defaults").

use std::collections::BTreeMap;

use legalops_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The group of login and registration routes, limited per IP.
pub const GROUP_AUTH: &str = "auth";
/// The group of every other API route, limited per IP.
pub const GROUP_API: &str = "api";
/// The group of document uploads, limited per user.
pub const GROUP_UPLOADS: &str = "uploads";
/// The group of business-formation requests, limited per user.
pub const GROUP_FORMATIONS: &str = "formations";

/// How much one subject of a group may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "QuotaRepr")]
pub struct Quota {
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests a fresh subject may make at once (`per_minute` when omitted in a config).
    pub burst: u32,
}

// The config form, where `burst` may be left out and then follows `per_minute`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QuotaRepr {
    per_minute: u32,
    #[serde(default)]
    burst: Option<u32>,
}

impl From<QuotaRepr> for Quota {
    fn from(r: QuotaRepr) -> Self {
        Self {
            per_minute: r.per_minute,
            burst: r.burst.unwrap_or(r.per_minute),
        }
    }
}

impl Quota {
    /// `n` per minute with a burst of `n`.
    pub fn per_minute(n: u32) -> Self {
        Self {
            per_minute: n,
            burst: n,
        }
    }

    /// The same rate with a burst of `burst`.
    pub fn with_burst(self, burst: u32) -> Self {
        Self { burst, ..self }
    }

    /// The quota scaled by a DoS-mode `factor` (0 < factor <= 1), each figure at least 1.
    pub fn tightened(&self, factor: f64) -> Self {
        Self {
            per_minute: scale(self.per_minute, factor),
            burst: scale(self.burst, factor),
        }
    }
}

fn scale(n: u32, factor: f64) -> u32 {
    // The epsilon keeps 5 * 0.2 at 1 where binary floating point lands a hair below.
    let scaled = (f64::from(n) * factor + 1e-9).floor();
    if scaled < 1.0 {
        1
    } else {
        scaled.min(f64::from(u32::MAX)) as u32
    }
}

/// Quotas per route group and the memory bound of the limiter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Quota per group name (`auth`, `api`, `uploads`, `formations`, or your own).
    pub groups: BTreeMap<String, Quota>,
    /// At most this many subjects are remembered across all groups; past it, those
    /// closest to a fresh state are forgotten first.
    pub max_keys: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let groups = [
            (GROUP_AUTH, 5),
            (GROUP_API, 100),
            (GROUP_UPLOADS, 10),
            (GROUP_FORMATIONS, 5),
        ]
        .into_iter()
        .map(|(g, n)| (g.to_owned(), Quota::per_minute(n)))
        .collect();
        Self {
            groups,
            max_keys: 100_000,
        }
    }
}

impl RateLimitConfig {
    /// Checks every rule, naming the offending key (`rate_limit.groups.auth.perMinute`).
    pub fn validate(&self) -> Result<()> {
        if self.max_keys == 0 {
            return Err(Error::invalid_config(
                "rate_limit.maxKeys",
                "must be at least 1",
            ));
        }
        for (name, quota) in &self.groups {
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid_name {
                return Err(Error::invalid_config(
                    format!("rate_limit.groups.{name}"),
                    "a group name is 1 to 64 of a-z, 0-9, '_' and '-'",
                ));
            }
            if quota.per_minute == 0 {
                return Err(Error::invalid_config(
                    format!("rate_limit.groups.{name}.perMinute"),
                    "must be at least 1",
                ));
            }
            if quota.burst == 0 {
                return Err(Error::invalid_config(
                    format!("rate_limit.groups.{name}.burst"),
                    "must be at least 1",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_business_numbers() {
        let c = RateLimitConfig::default();
        assert_eq!(c.groups[GROUP_AUTH], Quota::per_minute(5));
        assert_eq!(c.groups[GROUP_API].burst, 100);
        assert_eq!(c.groups[GROUP_UPLOADS].per_minute, 10);
        assert_eq!(c.groups[GROUP_FORMATIONS].per_minute, 5);
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn validate_names_the_offending_key() {
        let mut c = RateLimitConfig::default();
        c.groups
            .insert("auth".into(), Quota::per_minute(5).with_burst(0));
        let e = c.validate().expect_err("zero burst");
        assert!(
            e.to_string().contains("rate_limit.groups.auth.burst"),
            "{e}"
        );
        let mut c = RateLimitConfig::default();
        c.groups.insert("Bad Name".into(), Quota::per_minute(1));
        assert!(c.validate().is_err());
    }

    #[test]
    fn tightening_scales_every_figure_but_never_below_one() {
        let q = Quota::per_minute(5).tightened(0.2);
        assert_eq!((q.per_minute, q.burst), (1, 1));
        let q = Quota::per_minute(100).tightened(0.2);
        assert_eq!((q.per_minute, q.burst), (20, 20));
        let q = Quota::per_minute(3).tightened(0.01);
        assert_eq!((q.per_minute, q.burst), (1, 1));
    }

    #[test]
    fn config_reads_from_json_with_burst_defaulting_to_rate() {
        let c: RateLimitConfig =
            serde_json::from_str(r#"{"groups":{"auth":{"perMinute":7}}}"#).expect("parses");
        assert_eq!(c.groups["auth"].burst, 7);
        assert_eq!(c.max_keys, 100_000);
    }
}
