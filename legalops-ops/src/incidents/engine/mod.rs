//! The incident engine: turns alert groups into incidents, escalates the ones nobody
//! acknowledges, times out acknowledgements, measures response against the runbook's
//! targets, and carries the manual moves of the API and CLI.
//!
//! The tracker (the built-in records tracker by default) is the record: everything the
//! engine decides is written to the incident's timeline and read back from it on the next
//! [`IncidentEngine::tick`] (see [`schedule`] for the notes it writes), so replicas and
//! restarts agree. A second tracker (PagerDuty) can mirror triggers, acknowledgements and
//! resolutions; its failures are logged and never fail the record.

mod alerts;
pub mod config;
mod escalate;
mod manual;
mod metrics;
pub mod postmortem;
pub mod schedule;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use legalops_core::alerts::AlertChannel;
use legalops_core::clock::{SharedClock, SystemClock};
use legalops_core::incidents::{Incident, IncidentTracker};
use legalops_core::{Error, Result};

use crate::metrics::Registry;

pub use alerts::IncidentSignals;
pub use config::{EscalationPolicy, EscalationStep, IncidentConfig};
pub use metrics::{
    INCIDENT_RESPONSE_TARGET_MET_TOTAL, INCIDENT_TIME_TO_ACKNOWLEDGE_SECONDS,
    INCIDENT_TIME_TO_RESOLVE_SECONDS, INCIDENTS_OPEN,
};
pub use postmortem::{DATA_LOSS, MISSED_DETECTION, postmortem_draft, postmortem_required};
pub use schedule::{SYSTEM_ACTOR, recorded_reasons};

/// Opens, escalates and closes incidents. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct IncidentEngine {
    inner: Arc<Inner>,
}

struct Inner {
    tracker: Arc<dyn IncidentTracker>,
    mirror: Option<Arc<dyn IncidentTracker>>,
    targets: Vec<(String, Arc<dyn AlertChannel>)>,
    clock: SharedClock,
    metrics: Option<metrics::EngineMetrics>,
    config: IncidentConfig,
    // Dedup key -> what last triggered its open incident, so that a notification repeated
    // for an unchanged group does not count as another trigger. Lost on restart, which
    // costs one extra trigger entry at most.
    seen: Mutex<HashMap<String, alerts::Seen>>,
}

/// Configures an [`IncidentEngine`].
pub struct IncidentEngineBuilder {
    tracker: Arc<dyn IncidentTracker>,
    mirror: Option<Arc<dyn IncidentTracker>>,
    targets: Vec<(String, Arc<dyn AlertChannel>)>,
    clock: SharedClock,
    registry: Option<Registry>,
    config: IncidentConfig,
}

impl IncidentEngineBuilder {
    /// A second tracker (PagerDuty) told of triggers, acknowledgements and resolutions.
    pub fn mirror(mut self, tracker: Arc<dyn IncidentTracker>) -> Self {
        self.mirror = Some(tracker);
        self
    }

    /// A notification target escalation steps can name.
    pub fn target(mut self, name: impl Into<String>, channel: Arc<dyn AlertChannel>) -> Self {
        self.targets.push((name.into(), channel));
        self
    }

    /// All notification targets at once (replacing any added before).
    pub fn targets(mut self, targets: Vec<(String, Arc<dyn AlertChannel>)>) -> Self {
        self.targets = targets;
        self
    }

    /// The clock (default: the system's).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Where the engine's metrics are recorded (default: nowhere).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The settings (default [`IncidentConfig::default`]).
    pub fn config(mut self, config: IncidentConfig) -> Self {
        self.config = config;
        self
    }

    /// The engine; `InvalidConfig` for a duplicate or empty target name or a policy that
    /// does not hold (naming the policy and step).
    pub fn build(self) -> Result<IncidentEngine> {
        let mut names = BTreeSet::new();
        for (name, _) in &self.targets {
            if name.trim().is_empty() {
                return Err(Error::invalid_config(
                    "incidents.targets",
                    "a target needs a name",
                ));
            }
            if !names.insert(name.as_str()) {
                return Err(Error::invalid_config(
                    format!("incidents.targets.{name}"),
                    "target names must be unique",
                ));
            }
        }
        self.config.validate(&names)?;
        let metrics = self.registry.map(metrics::EngineMetrics::new);
        Ok(IncidentEngine {
            inner: Arc::new(Inner {
                tracker: self.tracker,
                mirror: self.mirror,
                targets: self.targets,
                clock: self.clock,
                metrics,
                config: self.config,
                seen: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl IncidentEngine {
    /// A builder over `tracker`, the record of incidents.
    pub fn builder(tracker: Arc<dyn IncidentTracker>) -> IncidentEngineBuilder {
        IncidentEngineBuilder {
            tracker,
            mirror: None,
            targets: Vec::new(),
            clock: Arc::new(SystemClock),
            registry: None,
            config: IncidentConfig::default(),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &IncidentConfig {
        &self.inner.config
    }

    /// The tracker that is the record.
    pub fn tracker(&self) -> &Arc<dyn IncidentTracker> {
        &self.inner.tracker
    }

    /// The incident with tracker id `id`.
    pub async fn get(&self, id: &str) -> Result<Incident> {
        self.inner.tracker.get(id).await
    }

    /// The open incident with `dedup_key`, if any.
    async fn open_by_key(&self, dedup_key: &str) -> Result<Option<Incident>> {
        let open = self.inner.tracker.list_open().await?;
        Ok(open.into_iter().find(|i| i.dedup_key == dedup_key))
    }

    /// Tells the mirror tracker; a failure there is logged, never returned: the record
    /// has the change already.
    async fn mirror<'a, F, Fut>(&'a self, what: &str, call: F)
    where
        F: FnOnce(&'a dyn IncidentTracker) -> Fut,
        Fut: std::future::Future<Output = Result<Incident>> + 'a,
    {
        if let Some(m) = &self.inner.mirror
            && let Err(e) = call(m.as_ref()).await
        {
            tracing::warn!(tracker = %m, operation = what, error = %e, "mirror tracker refused");
        }
    }

    /// Sets the open-incidents gauge from the tracker (a failure only leaves it stale).
    async fn refresh_open_gauge(&self) {
        if let Some(m) = &self.inner.metrics {
            match self.inner.tracker.list_open().await {
                Ok(open) => m.set_open(open.len()),
                Err(e) => tracing::debug!(error = %e, "incidents_open gauge not refreshed"),
            }
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, alerts::Seen>> {
        // A poisoned lock only means a panic elsewhere; the map is a cache either way.
        self.inner.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for IncidentEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.inner.targets.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("IncidentEngine")
            .field("tracker", &self.inner.tracker.to_string())
            .field("mirror", &self.inner.mirror.as_ref().map(|m| m.to_string()))
            .field("targets", &names)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
