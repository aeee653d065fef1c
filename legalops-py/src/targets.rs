//! Bindings of what the security engine blocks and allowlists: block targets
//! (`parse_target`, `legalops_core::security::rules::parse_target_with`) and sets of networks
//! (`IpSet`, fail2ban's `ignoreip`).

use std::net::IpAddr;

use legalops_core::Error;
use legalops_core::security::rules::{self as core, TargetRules};
use pyo3::prelude::*;

use crate::errors::to_py;

/// The canonical network of a block target (`192.0.2.7` is `192.0.2.7/32`); raises
/// `InvalidInputError` (field `ipAddress`) for anything else, and for ranges broader than
/// /8 or /16 unless `allow_broad`.
#[pyfunction]
#[pyo3(signature = (target, *, allow_broad=false))]
pub fn parse_target(target: &str, allow_broad: bool) -> PyResult<String> {
    let rules = TargetRules {
        allow_broad,
        ..TargetRules::default()
    };
    core::parse_target_with(target, rules)
        .map(|net| net.to_string())
        .map_err(to_py)
}

/// A set of IPv4/IPv6 networks (an allowlist, fail2ban's `ignoreip`): the most specific
/// match wins, IPv4-mapped IPv6 addresses match their IPv4 networks.
#[pyclass(frozen, module = "legalops")]
#[derive(Debug, Clone)]
pub struct IpSet(core::IpSet);

impl IpSet {
    fn lookup(&self, ip: &str) -> PyResult<bool> {
        let addr: IpAddr = ip.trim().parse().map_err(|_| {
            to_py(Error::invalid_input(
                "ip",
                format!("must be an IPv4 or IPv6 address, got {ip:?}"),
            ))
        })?;
        Ok(self.0.contains(addr))
    }
}

#[pymethods]
impl IpSet {
    /// Parses every network (broad ranges allowed, as in the allowlist); the first bad one
    /// raises `InvalidInputError` naming it by index (`nets[2]`).
    #[new]
    fn new(nets: Vec<String>) -> PyResult<Self> {
        let rules = TargetRules {
            allow_broad: true,
            ..TargetRules::default()
        };
        let parsed = nets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                core::parse_target_with(s, rules).map_err(|e| match e {
                    Error::InvalidInput { message, .. } => {
                        to_py(Error::invalid_input(format!("nets[{i}]"), message))
                    }
                    other => to_py(other),
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self(core::IpSet::new(parsed)))
    }

    /// Whether `ip` lies in a network of the set; `InvalidInputError` if it is no address.
    fn contains(&self, ip: &str) -> PyResult<bool> {
        self.lookup(ip)
    }

    fn __contains__(&self, ip: &str) -> PyResult<bool> {
        self.lookup(ip)
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// The networks, canonical, duplicates dropped, in the order given.
    #[getter]
    fn nets(&self) -> Vec<String> {
        self.0
            .entries()
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("IpSet({:?})", self.nets())
    }
}

/// Adds `parse_target` and `IpSet` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<IpSet>()?;
    m.add_function(wrap_pyfunction!(parse_target, m)?)?;
    Ok(())
}
