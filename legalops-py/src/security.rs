//! Bindings of `legalops_core::security::rules`' brute-force brakes: the IP ban
//! (`BanPolicy`) and the account's soft lockout (`LockoutPolicy`, `login_decision`,
//! `lockout_after_failure`), so that a Python tool decides exactly as the security engine
//! does. Block targets and IP sets are in [`crate::targets`].
//!
//! Durations cross as float seconds (`*_secs`); instants as aware `datetime`s (RFC 3339
//! strings accepted, see [`crate::convert::instant`]). A lockout is the dict
//! `{"account", "until", "level"}` that `lockout_after_failure` returns.

use std::time::Duration;

use legalops_core::Error;
use legalops_core::security::Lockout;
use legalops_core::security::rules as core;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{instant, optional_instant};
use crate::errors::to_py;

/// `value` seconds as a duration, or `default` when not given; a negative, NaN or infinite
/// value raises `InvalidConfigError` naming `key`.
fn seconds(key: &str, value: Option<f64>, default: Duration) -> PyResult<Duration> {
    value.map_or(Ok(default), |v| {
        Duration::try_from_secs_f64(v).map_err(|_| {
            to_py(Error::invalid_config(
                key,
                format!("must be a finite, non-negative number of seconds, got {v}"),
            ))
        })
    })
}

/// fail2ban's rule for one source: more than `max_failures` in `find_time_secs` bans it for
/// `ban_time_secs`, multiplied by `increment_factor` per earlier ban, up to
/// `max_ban_time_secs`.
#[pyclass(eq, frozen, module = "legalops")]
#[derive(Debug, Clone, PartialEq)]
pub struct BanPolicy(pub core::BanPolicy);

#[pymethods]
impl BanPolicy {
    /// A policy; every argument left out takes the service's default.
    #[new]
    #[pyo3(signature = (
        *,
        max_failures=None,
        find_time_secs=None,
        ban_time_secs=None,
        increment_factor=None,
        max_ban_time_secs=None,
    ))]
    fn new(
        max_failures: Option<u64>,
        find_time_secs: Option<f64>,
        ban_time_secs: Option<f64>,
        increment_factor: Option<u32>,
        max_ban_time_secs: Option<f64>,
    ) -> PyResult<Self> {
        let d = core::BanPolicy::default();
        Ok(Self(core::BanPolicy {
            max_failures: max_failures.unwrap_or(d.max_failures),
            find_time: seconds("find_time_secs", find_time_secs, d.find_time)?,
            ban_time: seconds("ban_time_secs", ban_time_secs, d.ban_time)?,
            increment_factor: increment_factor.unwrap_or(d.increment_factor),
            max_ban_time: seconds("max_ban_time_secs", max_ban_time_secs, d.max_ban_time)?,
        }))
    }

    /// Failures in the window that are tolerated; one more bans.
    #[getter]
    fn max_failures(&self) -> u64 {
        self.0.max_failures
    }

    /// The sliding window failures are counted in.
    #[getter]
    fn find_time_secs(&self) -> f64 {
        self.0.find_time.as_secs_f64()
    }

    /// The first ban's length.
    #[getter]
    fn ban_time_secs(&self) -> f64 {
        self.0.ban_time.as_secs_f64()
    }

    /// What each earlier ban multiplies the next by (1: no increase).
    #[getter]
    fn increment_factor(&self) -> u32 {
        self.0.increment_factor
    }

    /// The longest ban.
    #[getter]
    fn max_ban_time_secs(&self) -> f64 {
        self.0.max_ban_time.as_secs_f64()
    }

    /// Whether `failures` in the window ban the source (more than `max_failures`).
    fn should_ban(&self, failures: u64) -> bool {
        self.0.should_ban(failures)
    }

    /// How long a ban lasts for a source banned `previous_bans` times before.
    fn ban_duration_secs(&self, previous_bans: u64) -> f64 {
        self.0.ban_duration(previous_bans).as_secs_f64()
    }

    /// Raises `InvalidConfigError` naming the configuration key if the policy is unusable.
    fn validate(&self) -> PyResult<()> {
        self.0.validate().map_err(to_py)
    }

    fn __repr__(&self) -> String {
        let p = &self.0;
        format!(
            "BanPolicy(max_failures={}, find_time_secs={:?}, ban_time_secs={:?}, \
             increment_factor={}, max_ban_time_secs={:?})",
            p.max_failures,
            p.find_time.as_secs_f64(),
            p.ban_time.as_secs_f64(),
            p.increment_factor,
            p.max_ban_time.as_secs_f64(),
        )
    }
}

/// The account's soft lockout (OWASP ASVS): `threshold` failures in `window_secs` lock the
/// account for `lockout_secs` (doubling per lockout in a row, up to `max_lockout_secs`)
/// against the sources that failed; other sources wait a delay growing from
/// `base_delay_secs` to `max_delay_secs`.
#[pyclass(eq, frozen, module = "legalops")]
#[derive(Debug, Clone, PartialEq)]
pub struct LockoutPolicy(pub core::LockoutPolicy);

#[pymethods]
impl LockoutPolicy {
    /// A policy; every argument left out takes the service's default.
    #[new]
    #[pyo3(signature = (
        *,
        threshold=None,
        window_secs=None,
        lockout_secs=None,
        base_delay_secs=None,
        max_delay_secs=None,
        max_lockout_secs=None,
    ))]
    fn new(
        threshold: Option<u64>,
        window_secs: Option<f64>,
        lockout_secs: Option<f64>,
        base_delay_secs: Option<f64>,
        max_delay_secs: Option<f64>,
        max_lockout_secs: Option<f64>,
    ) -> PyResult<Self> {
        let d = core::LockoutPolicy::default();
        Ok(Self(core::LockoutPolicy {
            threshold: threshold.unwrap_or(d.threshold),
            window: seconds("window_secs", window_secs, d.window)?,
            lockout: seconds("lockout_secs", lockout_secs, d.lockout)?,
            base_delay: seconds("base_delay_secs", base_delay_secs, d.base_delay)?,
            max_delay: seconds("max_delay_secs", max_delay_secs, d.max_delay)?,
            max_lockout: seconds("max_lockout_secs", max_lockout_secs, d.max_lockout)?,
        }))
    }

    /// Failures against one account in the window that lock it.
    #[getter]
    fn threshold(&self) -> u64 {
        self.0.threshold
    }

    /// The sliding window failures are counted in.
    #[getter]
    fn window_secs(&self) -> f64 {
        self.0.window.as_secs_f64()
    }

    /// The first lockout's length.
    #[getter]
    fn lockout_secs(&self) -> f64 {
        self.0.lockout.as_secs_f64()
    }

    /// The delay after the third failure.
    #[getter]
    fn base_delay_secs(&self) -> f64 {
        self.0.base_delay.as_secs_f64()
    }

    /// The longest delay between checked attempts.
    #[getter]
    fn max_delay_secs(&self) -> f64 {
        self.0.max_delay.as_secs_f64()
    }

    /// The longest lockout.
    #[getter]
    fn max_lockout_secs(&self) -> f64 {
        self.0.max_lockout.as_secs_f64()
    }

    /// The wait after the account's last failure when it has `failures` in the window.
    fn delay_after_secs(&self, failures: u64) -> f64 {
        self.0.delay_after(failures).as_secs_f64()
    }

    /// How long a lockout at `level` (lockouts in a row) lasts.
    fn lockout_for_secs(&self, level: u32) -> f64 {
        self.0.lockout_for(level).as_secs_f64()
    }

    /// Raises `InvalidConfigError` naming the configuration key if the policy is unusable.
    fn validate(&self) -> PyResult<()> {
        self.0.validate().map_err(to_py)
    }

    fn __repr__(&self) -> String {
        let p = &self.0;
        format!(
            "LockoutPolicy(threshold={}, window_secs={:?}, lockout_secs={:?}, \
             base_delay_secs={:?}, max_delay_secs={:?}, max_lockout_secs={:?})",
            p.threshold,
            p.window.as_secs_f64(),
            p.lockout.as_secs_f64(),
            p.base_delay.as_secs_f64(),
            p.max_delay.as_secs_f64(),
            p.max_lockout.as_secs_f64(),
        )
    }
}

/// `obj[key]`, or `InvalidInputError` naming `field.key` if it is missing.
fn item<'py>(obj: &Bound<'py, PyAny>, field: &str, key: &str) -> PyResult<Bound<'py, PyAny>> {
    obj.get_item(key)
        .map_err(|_| to_py(Error::invalid_input(format!("{field}.{key}"), "is missing")))
}

/// A lockout dict (`account`, `until`, `level`) as `lockout_after_failure` returns it.
fn lockout_arg(field: &str, obj: &Bound<'_, PyAny>) -> PyResult<Lockout> {
    let wrong = |key: &str, rule: &str| to_py(Error::invalid_input(format!("{field}.{key}"), rule));
    Ok(Lockout {
        account: item(obj, field, "account")?
            .extract()
            .map_err(|_| wrong("account", "must be a string"))?,
        until: instant(&format!("{field}.until"), &item(obj, field, "until")?)?,
        level: item(obj, field, "level")?
            .extract()
            .map_err(|_| wrong("level", "must be an integer from 0 to 4294967295"))?,
    })
}

fn lockout_dict<'py>(py: Python<'py>, l: &Lockout) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("account", &l.account)?;
    dict.set_item("until", l.until)?;
    dict.set_item("level", l.level)?;
    Ok(dict)
}

/// Decides a login attempt on an account at `now`, before its password is checked:
/// `{"decision": "allow"}`, `{"decision": "delay", "retry_after_secs": float}` or
/// `{"decision": "locked", "until": datetime}`.
#[pyfunction]
#[pyo3(signature = (
    policy,
    now,
    lockout=None,
    failures_for_account=0,
    failures_from_ip=0,
    last_failure_at=None,
))]
pub fn login_decision<'py>(
    py: Python<'py>,
    policy: &LockoutPolicy,
    now: &Bound<'py, PyAny>,
    lockout: Option<&Bound<'py, PyAny>>,
    failures_for_account: u64,
    failures_from_ip: u64,
    last_failure_at: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let now = instant("now", now)?;
    let lockout = lockout
        .filter(|l| !l.is_none())
        .map(|l| lockout_arg("lockout", l))
        .transpose()?;
    let last = optional_instant("last_failure_at", last_failure_at)?;
    let decision = core::login_decision(
        &policy.0,
        now,
        lockout.as_ref(),
        failures_for_account,
        failures_from_ip,
        last,
    );
    let dict = PyDict::new(py);
    match decision {
        core::LoginDecision::Allow => dict.set_item("decision", "allow")?,
        core::LoginDecision::Delay { retry_after } => {
            dict.set_item("decision", "delay")?;
            dict.set_item("retry_after_secs", retry_after.as_secs_f64())?;
        }
        core::LoginDecision::Locked { until } => {
            dict.set_item("decision", "locked")?;
            dict.set_item("until", until)?;
        }
    }
    Ok(dict)
}

/// After a failure against `account` has been recorded: the lockout to store (a dict of
/// `account`, `until`, `level`), or None.
#[pyfunction]
#[pyo3(signature = (policy, account, now, current=None, failures_for_account=0))]
pub fn lockout_after_failure<'py>(
    py: Python<'py>,
    policy: &LockoutPolicy,
    account: &str,
    now: &Bound<'py, PyAny>,
    current: Option<&Bound<'py, PyAny>>,
    failures_for_account: u64,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let now = instant("now", now)?;
    let current = current
        .filter(|c| !c.is_none())
        .map(|c| lockout_arg("current", c))
        .transpose()?;
    core::lockout_after_failure(
        &policy.0,
        account,
        now,
        current.as_ref(),
        failures_for_account,
    )
    .map(|l| lockout_dict(py, &l))
    .transpose()
}

/// Adds the ban and lockout classes and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BanPolicy>()?;
    m.add_class::<LockoutPolicy>()?;
    m.add_function(wrap_pyfunction!(login_decision, m)?)?;
    m.add_function(wrap_pyfunction!(lockout_after_failure, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    // Pure Rust, like the other binding tests: behaviour is tested from pytest.
    use super::*;

    #[test]
    fn seconds_default_when_absent_and_exact_when_given() {
        let d = Duration::from_secs(900);
        assert_eq!(seconds("k", None, d).expect("default"), d);
        assert_eq!(
            seconds("k", Some(1.5), d).expect("given"),
            Duration::from_millis(1500)
        );
    }
}
