//! The platform: every backend and engine of a deployment composed once, shared by the
//! router, the CLI and background tasks. An embedding service builds one with
//! [`Platform::builder`] (swapping any backend) and mounts [`Platform::router`] or wraps
//! its own routes with [`Platform::apply_middleware`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::from_fn_with_state;
use legalops_core::documents::DocumentStore;
use legalops_core::mem::{MemoryDocumentStore, MemoryRecords};
use legalops_core::metrics::MetricsSink;
use legalops_core::records::Records;
use legalops_core::scan::Scanner;
use legalops_core::security::rules::{IpSet, TargetRules};
use legalops_core::{Result, SharedClock, SystemClock};
use legalops_ops::alerting::evaluator::{Evaluator, TickOutcome};
use legalops_ops::alerting::notifier::Notifier;
use legalops_ops::audit::{Auditor, spawn_checkpointer};
use legalops_ops::health::checks::{
    DatabaseCheck, DiskCheck, DocumentStoreCheck, MemoryCheck, SchemaVersionCheck, UptimeCheck,
};
use legalops_ops::health::{HealthRegistry, Probe};
use legalops_ops::identity::IdentityService;
use legalops_ops::incidents::engine::IncidentEngine;
use legalops_ops::metrics::reports::SystemSampler;
use legalops_ops::metrics::{Registry, RollupSink, spawn_collector};
use legalops_ops::ratelimit::RateLimiter;
use legalops_ops::security::SecurityEngine;
use legalops_store::{ConnectOptions, ObjectStoreDocuments};
use time::OffsetDateTime;
use tower_http::catch_panic::CatchPanicLayer;

use crate::access::{Access, authorize, guard_request};
use crate::auth::{AdminAuth, TokenOrigin};
use crate::config::Config;
use crate::middleware::{PanicToProblem, request_context};
use crate::routes;

mod signals;
mod wiring;

struct Inner {
    config: Config,
    auditor: Auditor,
    identity: IdentityService,
    security: SecurityEngine,
    limiter: RateLimiter,
    scanner: Arc<dyn Scanner>,
    trusted_proxies: IpSet,
    clock: SharedClock,
    records: Records,
    documents: Arc<dyn DocumentStore>,
    health: HealthRegistry,
    registry: Registry,
    auth: AdminAuth,
    system: SystemSampler,
    started: OffsetDateTime,
    service_id: String,
    alerting: wiring::Alerting,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A running LegalOps platform (cheap to clone).
#[derive(Clone)]
pub struct Platform {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("records", &self.inner.records.database.to_string())
            .field("documents", &self.inner.documents.to_string())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Platform`]: every backend defaults to what the configuration's URLs name,
/// and any of them can be replaced.
pub struct PlatformBuilder {
    config: Config,
    clock: SharedClock,
    records: Option<Records>,
    documents: Option<Arc<dyn DocumentStore>>,
    registry: Option<Registry>,
    extra_sinks: Vec<Arc<dyn MetricsSink>>,
    // Unset records and documents live in memory, on the builder's final clock.
    in_memory: bool,
}

impl PlatformBuilder {
    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Uses these records instead of connecting to `database_url`.
    pub fn records(mut self, records: Records) -> Self {
        self.records = Some(records);
        self
    }

    /// Uses this document store instead of opening `documents_url`.
    pub fn documents(mut self, documents: Arc<dyn DocumentStore>) -> Self {
        self.documents = Some(documents);
        self
    }

    /// Uses this metrics registry (e.g. the one installed as the global recorder).
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Also sends metric snapshots to `sink` (besides the rollups in the records store).
    pub fn metrics_sink(mut self, sink: Arc<dyn MetricsSink>) -> Self {
        self.extra_sinks.push(sink);
        self
    }

    /// Connects the backends, registers the health checks, starts the background tasks
    /// and sets up the admin token. Returns how the token was obtained, so that a
    /// generated one can be shown once.
    pub async fn build(self) -> Result<(Platform, TokenOrigin)> {
        let config = self.config;
        config.validate()?;
        let clock = self.clock;
        let records = match self.records {
            Some(r) => r,
            None if self.in_memory => {
                Records::from_backend(Arc::new(MemoryRecords::with_clock(clock.clone())))
            }
            None => {
                if config.database_url.is_none() {
                    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                        legalops_core::Error::invalid_config(
                            "data_dir",
                            format!("cannot create {}: {e}", config.data_dir.display()),
                        )
                    })?;
                }
                let options = ConnectOptions::default().with_clock(clock.clone());
                legalops_store::connect(&config.database_url(), options).await?
            }
        };
        let documents: Arc<dyn DocumentStore> = match self.documents {
            Some(d) => d,
            None if self.in_memory => Arc::new(MemoryDocumentStore::with_clock(clock.clone())),
            None => Arc::new(ObjectStoreDocuments::from_url(&config.documents_url())?),
        };
        let (auth, origin) =
            AdminAuth::init(config.admin_token.as_deref(), records.settings.as_ref()).await?;
        let registry = self.registry.unwrap_or_default();
        let started = clock.now();

        let health = HealthRegistry::new(clock.clone(), config.health_timeout());
        let deps = [Probe::Readiness, Probe::Detailed];
        health.register(
            "database:responseTime",
            &deps,
            Arc::new(DatabaseCheck::new(records.database.clone(), clock.clone())),
        );
        health.register(
            "database:schemaVersion",
            &[Probe::Detailed],
            Arc::new(SchemaVersionCheck::new(
                records.database.clone(),
                clock.clone(),
            )),
        );
        health.register(
            "documents:responseTime",
            &deps,
            Arc::new(DocumentStoreCheck::new(documents.clone()).with_clock(clock.clone())),
        );
        health.register(
            "disk:utilization",
            &[Probe::Detailed],
            Arc::new(DiskCheck::new(config.data_dir.clone()).with_clock(clock.clone())),
        );
        health.register(
            "memory:utilization",
            &[Probe::Detailed],
            Arc::new(MemoryCheck::new().with_clock(clock.clone())),
        );
        health.register(
            "uptime:uptime",
            &[Probe::Liveness, Probe::Detailed],
            Arc::new(UptimeCheck::new(started, clock.clone())),
        );

        let system = SystemSampler::spawn(
            config.data_dir.clone(),
            Duration::from_secs(10),
            registry.clone(),
        );
        let mut sinks: Vec<Arc<dyn MetricsSink>> =
            vec![Arc::new(RollupSink::new(records.rollups.clone()))];
        sinks.extend(self.extra_sinks);
        let sink: Arc<dyn MetricsSink> = Arc::new(legalops_core::metrics::FanoutSink::new(sinks));
        let collector = spawn_collector(
            registry.clone(),
            sink,
            Duration::from_secs(config.rollup_interval_secs),
            clock.clone(),
        );

        let auditor = Auditor::new(records.audit.clone(), clock.clone());
        let security = SecurityEngine::new(
            records.security.clone(),
            records.settings.clone(),
            clock.clone(),
            wiring::security_config(&config)?,
        )?;
        let limiter = RateLimiter::new(wiring::rate_limit_config(&config), clock.clone())?;
        security.attach_rate_limiter(limiter.clone())?;
        security.refresh_now().await?;
        let identity = IdentityService::from_stores(
            records.users.clone(),
            records.sessions.clone(),
            records.api_keys.clone(),
            clock.clone(),
            Arc::new(security.clone()),
            auditor.clone(),
            wiring::identity_config(&config),
        )?;
        let scanner = wiring::scanner(&config)?;
        let trusted_proxies = IpSet::parse(
            &config.security.trusted_proxies,
            TargetRules {
                allow_broad: true,
                field: "security.trusted_proxies",
            },
        )?;
        let mut tasks = vec![collector, security.spawn_refresher()];
        tasks.push(spawn_checkpointer(
            auditor.clone(),
            Duration::from_secs(config.audit.checkpoint_interval_secs),
        ));
        tasks.push(wiring::spawn_housekeeping(
            records.clone(),
            limiter.clone(),
            clock.clone(),
        ));

        // One evaluator per deployment: each platform is a replica with its own lease id.
        let holder = format!("{}#{}", config.listen, uuid::Uuid::new_v4());
        let alerting = wiring::alerting(
            &config, &records, &registry, &health, &security, &clock, &holder,
        )?;
        alerting.evaluator.load().await?;
        tasks.push(wiring::spawn_alerting(
            alerting.clone(),
            Duration::from_secs(config.alerting.evaluation_interval_secs),
            &registry,
        ));

        let service_id = format!("legalops@{}", config.listen);
        let inner = Inner {
            auditor,
            identity,
            security,
            limiter,
            scanner,
            trusted_proxies,
            config,
            clock,
            records,
            documents,
            health,
            registry,
            auth,
            system,
            started,
            service_id,
            alerting,
            tasks,
        };
        Ok((
            Platform {
                inner: Arc::new(inner),
            },
            origin,
        ))
    }
}

impl Platform {
    /// A builder over `config`, with the system clock.
    pub fn builder(config: Config) -> PlatformBuilder {
        PlatformBuilder {
            config,
            clock: Arc::new(SystemClock),
            records: None,
            documents: None,
            registry: None,
            extra_sinks: Vec::new(),
            in_memory: false,
        }
    }

    /// A builder whose records and documents live in memory (nothing touches the disk
    /// but the logs, if enabled): for tests, examples and benchmarks.
    pub fn in_memory(config: Config) -> PlatformBuilder {
        PlatformBuilder {
            in_memory: true,
            ..Self::builder(config)
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }
    /// The records backends.
    pub fn records(&self) -> &Records {
        &self.inner.records
    }
    /// The document store.
    pub fn documents(&self) -> &Arc<dyn DocumentStore> {
        &self.inner.documents
    }
    /// The health check registry (later work registers more checks here).
    pub fn health(&self) -> &HealthRegistry {
        &self.inner.health
    }
    /// The metrics registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }
    /// The system sampler.
    pub fn system(&self) -> &SystemSampler {
        &self.inner.system
    }
    /// The admin token checker.
    pub fn admin_auth(&self) -> &AdminAuth {
        &self.inner.auth
    }
    /// The audit trail's writer and verifier.
    pub fn auditor(&self) -> &Auditor {
        &self.inner.auditor
    }
    /// Users, sessions, API keys.
    pub fn identity(&self) -> &IdentityService {
        &self.inner.identity
    }
    /// Blocks, lockouts, detectors, DoS mode.
    pub fn security(&self) -> &SecurityEngine {
        &self.inner.security
    }
    /// The request rate limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }
    /// The upload scanner.
    pub fn scanner(&self) -> &Arc<dyn Scanner> {
        &self.inner.scanner
    }
    /// Proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &IpSet {
        &self.inner.trusted_proxies
    }
    /// The `serviceId` of health reports.
    pub fn service_id(&self) -> &str {
        &self.inner.service_id
    }
    /// The alert rule evaluator.
    pub fn evaluator(&self) -> &Evaluator {
        &self.inner.alerting.evaluator
    }
    /// The notifier: routing, channels, silences.
    pub fn notifier(&self) -> &Notifier {
        &self.inner.alerting.notifier
    }
    /// The incident engine.
    pub fn incidents(&self) -> &IncidentEngine {
        &self.inner.alerting.incidents
    }
    /// One alerting round, as the background task runs it every
    /// `alerting.evaluation_interval_secs`: evaluate the rules, notify the due groups,
    /// open or update incidents, run escalations. For tests and tools that drive time.
    pub async fn run_alerting_once(&self) -> Result<TickOutcome> {
        self.inner.alerting.run_once().await
    }
    /// How long the platform has run.
    pub fn uptime(&self) -> Duration {
        let d = self.inner.clock.now() - self.inner.started;
        Duration::try_from(d).unwrap_or_default()
    }

    /// The platform's routes, each behind its access rule ([`routes::table`]), without
    /// the request middleware.
    pub fn routes(&self) -> Router {
        let mut by_path: std::collections::BTreeMap<
            &'static str,
            axum::routing::MethodRouter<Platform>,
        > = std::collections::BTreeMap::new();
        for (_, path, access, handler) in routes::table() {
            let access = if path == "/metrics" && self.inner.config.metrics_public {
                Access::Public
            } else {
                access
            };
            let guarded =
                handler.route_layer(from_fn_with_state((self.clone(), access), authorize));
            let merged = match by_path.remove(path) {
                Some(existing) => existing.merge(guarded),
                None => guarded,
            };
            by_path.insert(path, merged);
        }
        by_path
            .into_iter()
            .fold(Router::new(), |router, (path, handler)| {
                router.route(path, handler)
            })
            .with_state(self.clone())
    }

    /// Every (method, path) the platform serves.
    pub fn route_table(&self) -> Vec<(&'static str, &'static str)> {
        routes::table()
            .into_iter()
            .map(|(m, p, _, _)| (m, p))
            .collect()
    }

    /// Wraps `router` (the platform's or an embedding service's own) in the request
    /// middleware: request id, access log, metrics, blocklist and the per-IP API rate
    /// limit, panic catcher.
    pub fn apply_middleware(&self, router: Router) -> Router {
        let registry = self.inner.registry.clone();
        router
            .layer(CatchPanicLayer::custom(PanicToProblem {
                registry: registry.clone(),
            }))
            .layer(from_fn_with_state(self.clone(), guard_request))
            .layer(from_fn_with_state(registry, request_context))
    }

    /// The whole application: [`Self::routes`] with [`Self::apply_middleware`] and a
    /// problem-details 404 for unknown paths.
    pub fn router(&self) -> Router {
        let routes = self.routes().fallback(not_found);
        self.apply_middleware(routes)
    }
}

async fn not_found() -> crate::error::Problem {
    crate::error::Problem::new(axum::http::StatusCode::NOT_FOUND, "not_found")
}
