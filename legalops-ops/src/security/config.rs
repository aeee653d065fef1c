//! The security engine's configuration: the ban and lockout policies, the allowlist, the
//! detectors' thresholds, how often the blocklist is reloaded and how hard DoS mode brakes.

use std::time::Duration;

use ipnet::IpNet;
use legalops_core::security::rules::{
    BanPolicy, DetectorConfig, IpSet, LockoutPolicy, TargetRules, parse_target_with,
};
use legalops_core::{Error, Result};

/// Slowest blocklist reload accepted: a block made on another replica must not take longer
/// than this to apply here.
const MAX_REFRESH: Duration = Duration::from_secs(300);
/// Fastest blocklist reload accepted: each reload is one query per replica.
const MIN_REFRESH: Duration = Duration::from_millis(100);

/// Everything the [`SecurityEngine`](super::SecurityEngine) decides by.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityConfig {
    /// When an IP is banned and for how long (fail2ban's rule).
    pub ban: BanPolicy,
    /// When an account is locked against the sources that failed on it, and the delays.
    pub lockout: LockoutPolicy,
    /// Addresses and CIDR ranges never blocked (fail2ban `ignoreip`); loopback by default.
    pub allowlist: Vec<String>,
    /// Thresholds of the suspicious-activity detectors.
    pub detectors: DetectorConfig,
    /// How often the blocklist and the DoS-mode flag are reloaded from the store, so that
    /// a block made on another replica applies here (2 s).
    pub blocklist_refresh: Duration,
    /// The factor DoS mode scales every rate-limit quota by (0.2: a fifth, at least 1).
    pub dos_tightening: f64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            ban: BanPolicy::default(),
            lockout: LockoutPolicy::default(),
            allowlist: vec!["127.0.0.0/8".into(), "::1/128".into()],
            detectors: DetectorConfig::default(),
            blocklist_refresh: Duration::from_secs(2),
            dos_tightening: 0.2,
        }
    }
}

impl SecurityConfig {
    /// Checks every rule; errors name the key (`security.allowlist[2]`,
    /// `security.ban.max_failures`, ...).
    pub fn validate(&self) -> Result<()> {
        self.ban.validate()?;
        self.lockout.validate()?;
        self.detectors.validate()?;
        self.allowlist_nets()?;
        if !(MIN_REFRESH..=MAX_REFRESH).contains(&self.blocklist_refresh) {
            return Err(Error::invalid_config(
                "security.blocklist_refresh",
                format!("must be between {MIN_REFRESH:?} and {MAX_REFRESH:?}"),
            ));
        }
        if !(self.dos_tightening > 0.0 && self.dos_tightening <= 1.0) {
            return Err(Error::invalid_config(
                "security.dos_tightening",
                "must be greater than 0 and at most 1",
            ));
        }
        Ok(())
    }

    /// The allowlist parsed; the first bad entry is named by its index.
    pub(crate) fn allowlist_nets(&self) -> Result<Vec<IpNet>> {
        // Operators may allowlist broad private ranges (10.0.0.0/8 and wider) on purpose.
        let rules = TargetRules {
            allow_broad: true,
            ..TargetRules::default()
        };
        self.allowlist
            .iter()
            .enumerate()
            .map(|(i, s)| {
                parse_target_with(s, rules).map_err(|e| {
                    let message = match e {
                        Error::InvalidInput { message, .. } => message,
                        other => other.to_string(),
                    };
                    Error::invalid_config(format!("security.allowlist[{i}]"), message)
                })
            })
            .collect()
    }

    /// The allowlist as a set for fast membership tests.
    pub(crate) fn allowlist_set(&self) -> Result<(Vec<IpNet>, IpSet)> {
        let nets = self.allowlist_nets()?;
        Ok((nets.clone(), IpSet::new(nets)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_allow_loopback() {
        let c = SecurityConfig::default();
        c.validate().expect("defaults are valid");
        let (_, set) = c.allowlist_set().expect("valid");
        assert!(set.contains("127.0.0.1".parse().expect("literal")));
        assert!(set.contains("::1".parse().expect("literal")));
    }

    #[test]
    fn a_bad_allowlist_entry_is_named_by_index() {
        let c = SecurityConfig {
            allowlist: vec!["127.0.0.1".into(), "10.0.0.0/8".into(), "localhost".into()],
            ..SecurityConfig::default()
        };
        let e = c.validate().expect_err("localhost is not an address");
        assert!(e.to_string().contains("security.allowlist[2]"), "{e}");
        assert_eq!(e.kind(), "invalid_config");
    }

    #[test]
    fn refresh_and_tightening_are_bounded() {
        let c = SecurityConfig {
            blocklist_refresh: Duration::ZERO,
            ..SecurityConfig::default()
        };
        assert!(
            c.validate()
                .expect_err("zero")
                .to_string()
                .contains("blocklist_refresh")
        );
        let c = SecurityConfig {
            dos_tightening: 1.5,
            ..SecurityConfig::default()
        };
        assert!(
            c.validate()
                .expect_err("loosening")
                .to_string()
                .contains("dos_tightening")
        );
    }
}
