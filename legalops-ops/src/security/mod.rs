//! The security engine: IP bans and account lockouts from failed logins, manual blocks, the
//! per-request blocklist, the suspicious-activity detectors and DoS mode, applying the pure
//! rules of `legalops_core::security::rules` to the state in a [`SecurityStore`].
//!
//! Every replica over the same store enforces the same blocks: each keeps the active blocks
//! in memory (so that [`SecurityEngine::check_ip`] costs no query per request), reloads them
//! every [`SecurityConfig::blocklist_refresh`] ([`SecurityEngine::spawn_refresher`]), and
//! applies its own changes at once.
//!
//! # Security events: the seam for alerting
//!
//! Every event the engine raises (`ip_blocked`, `ip_unblocked`, `account_locked`,
//! `dos_mode`, and each detector's kind such as `credential_stuffing`) is stored in the
//! [`SecurityStore`], logged by `tracing` at warn level, counted in
//! [`SECURITY_EVENTS_TOTAL`]`{kind, severity}`, and sent on a broadcast channel: alerting connects
//! with [`SecurityEngine::subscribe`] and turns events into alerts. A slow subscriber that
//! falls more than [`EVENT_CHANNEL_CAPACITY`] events behind misses the oldest (it sees
//! `RecvError::Lagged`); the store keeps them all.

mod config;
mod guard;
mod manual;
mod report;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use ipnet::IpNet;
use legalops_core::records::SettingStore;
use legalops_core::security::rules::{Detectors, IpSet, canonical_ip};
use legalops_core::security::{Block, SecurityEvent, SecurityStore};
use legalops_core::{Result, SharedClock};
use time::OffsetDateTime;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::ratelimit::RateLimiter;

pub use config::SecurityConfig;
pub use report::{BlockCounts, SecurityReport};

/// Counter of security events, labelled `kind` and `severity` (`critical`, `warning`,
/// `info`: the alert rules count critical events as breaches).
pub const SECURITY_EVENTS_TOTAL: &str = "legalops_security_events_total";
/// The settings key holding the DoS-mode flag (`on` / `off`), shared by every replica.
pub const DOS_MODE_SETTING: &str = "security.dos_mode";
/// Events a subscriber may fall behind by before it misses some.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// The security engine; cheap to clone (one shared state).
#[derive(Debug, Clone)]
pub struct SecurityEngine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn SecurityStore>,
    settings: Arc<dyn SettingStore>,
    clock: SharedClock,
    config: SecurityConfig,
    allow_nets: Vec<IpNet>,
    allowlist: IpSet,
    blocklist: RwLock<Arc<IpSet<Block>>>,
    // Serialises writers of `blocklist`, held across the store read of a refresh, so that
    // a refresh that read the store before a local change cannot overwrite that change.
    writer: tokio::sync::Mutex<()>,
    dos_mode: AtomicBool,
    detectors: Mutex<Detectors>,
    // Each account's newest failure seen by this replica (for the growing login delay).
    last_failure: Mutex<HashMap<String, OffsetDateTime>>,
    events: broadcast::Sender<SecurityEvent>,
    limiter: OnceLock<RateLimiter>,
}

impl SecurityEngine {
    /// An engine over `store` (security state) and `settings` (the DoS-mode flag).
    /// `InvalidConfig` naming the key if `config` is invalid. The blocklist starts empty:
    /// call [`refresh_now`](Self::refresh_now) (or [`spawn_refresher`](Self::spawn_refresher),
    /// which does so at once) before serving.
    pub fn new(
        store: Arc<dyn SecurityStore>,
        settings: Arc<dyn SettingStore>,
        clock: SharedClock,
        config: SecurityConfig,
    ) -> Result<Self> {
        config.validate()?;
        metrics::describe_counter!(
            SECURITY_EVENTS_TOTAL,
            "Security events (bans, lockouts, detector findings, DoS mode), by kind and severity."
        );
        let (allow_nets, allowlist) = config.allowlist_set()?;
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                settings,
                clock,
                allow_nets,
                allowlist,
                blocklist: RwLock::new(Arc::new(IpSet::from_entries([]))),
                writer: tokio::sync::Mutex::new(()),
                dos_mode: AtomicBool::new(false),
                detectors: Mutex::new(Detectors::new(config.detectors)),
                last_failure: Mutex::new(HashMap::new()),
                events,
                limiter: OnceLock::new(),
                config,
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &SecurityConfig {
        &self.inner.config
    }

    /// Lets DoS mode tighten `limiter` (and counts its refusals in the report). At most one
    /// limiter; `Conflict` for a second.
    pub fn attach_rate_limiter(&self, limiter: RateLimiter) -> Result<()> {
        self.inner
            .limiter
            .set(limiter)
            .map_err(|_| legalops_core::Error::conflict("a rate limiter is already attached"))?;
        self.apply_dos_mode(self.dos_mode());
        Ok(())
    }

    /// Whether `ip` is allowlisted (never blocked).
    pub fn is_allowlisted(&self, ip: IpAddr) -> bool {
        self.inner.allowlist.contains(canonical_ip(ip))
    }

    /// The block in force for `ip`, if any: from memory, no query. Allowlisted addresses
    /// are never reported blocked, and a block stops applying at its expiry even before
    /// the next reload.
    pub fn check_ip(&self, ip: IpAddr) -> Option<Block> {
        let ip = canonical_ip(ip);
        if self.inner.allowlist.contains(ip) {
            return None;
        }
        let set = self.blocklist();
        let hit = set.block_for(ip)?;
        let now = self.inner.clock.now();
        if hit.is_active(now) {
            return Some(hit.clone());
        }
        // The most specific block expired; a broader one may still hold (rare: scan).
        set.entries()
            .iter()
            .find(|(net, b)| net.contains(&ip) && b.is_active(now))
            .map(|(_, b)| b.clone())
    }

    /// Reloads the blocklist and the DoS-mode flag from the store now (what the refresher
    /// does every `blocklist_refresh`).
    pub async fn refresh_now(&self) -> Result<()> {
        let flag = self.inner.settings.get_setting(DOS_MODE_SETTING).await?;
        let on = flag.as_deref() == Some("on");
        if on != self.inner.dos_mode.swap(on, Ordering::Relaxed) {
            tracing::warn!(dos_mode = on, "DoS mode flag read from the settings store");
            self.apply_dos_mode(on);
        }
        let writer = self.inner.writer.lock().await;
        let now = self.inner.clock.now();
        let blocks = self.inner.store.active_blocks(now).await?;
        let set = IpSet::from_blocks(&blocks, now);
        if set.skipped() > 0 {
            tracing::warn!(
                skipped = set.skipped(),
                "blocks with unparsable targets ignored"
            );
        }
        self.set_blocklist(set);
        drop(writer);
        self.forget_old(now);
        Ok(())
    }

    /// Drops detector state past its windows (password-spraying tags live no longer than
    /// their window) and failures too old to delay a login.
    fn forget_old(&self, now: OffsetDateTime) {
        self.detectors().prune(now);
        let keep = self.inner.config.lockout.max_delay;
        self.inner
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, at| now - *at < keep);
    }

    /// Reloads at once and then every `blocklist_refresh` until the handle is aborted or
    /// the engine is dropped. A failed reload is logged and the previous blocklist kept.
    pub fn spawn_refresher(&self) -> JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let every = self.inner.config.blocklist_refresh;
        tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let engine = SecurityEngine { inner };
                if let Err(e) = engine.refresh_now().await {
                    tracing::error!(error = %e, "security blocklist reload failed");
                }
                drop(engine);
                tokio::time::sleep(every).await;
            }
        })
    }

    /// The engine's events as they happen (see the module docs: the alerting seam).
    pub fn subscribe(&self) -> broadcast::Receiver<SecurityEvent> {
        self.inner.events.subscribe()
    }

    /// Whether DoS mode is on (as of the last change here or reload).
    pub fn dos_mode(&self) -> bool {
        self.inner.dos_mode.load(Ordering::Relaxed)
    }

    /// Feeds one request to the detectors (cheap: memory only, unless a detector fires);
    /// returns the events raised. Allowlisted sources are not fed: monitoring is robotic.
    pub async fn observe_request(
        &self,
        ip: IpAddr,
        user_agent: Option<&str>,
        path_is_admin: bool,
        authenticated: bool,
    ) -> Vec<SecurityEvent> {
        let ip = canonical_ip(ip);
        if self.inner.allowlist.contains(ip) {
            return Vec::new();
        }
        let now = self.inner.clock.now();
        let findings =
            self.detectors()
                .on_request(ip, user_agent, path_is_admin, authenticated, now);
        let mut raised = Vec::with_capacity(findings.len());
        for f in findings {
            raised.push(self.emit(guard::finding_event(&f, Some(ip), now)).await);
        }
        raised
    }

    fn blocklist(&self) -> Arc<IpSet<Block>> {
        // Poisoning needs a panic while swapping an Arc: the value is still whole.
        self.inner
            .blocklist
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_blocklist(&self, set: IpSet<Block>) {
        *self
            .inner
            .blocklist
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
    }

    /// Applies a local change to the in-memory blocklist at once: `add` joins, the block
    /// with id `remove` leaves, expired blocks drop out.
    async fn update_blocklist(&self, add: Option<&Block>, remove: Option<&str>) {
        let _writer = self.inner.writer.lock().await;
        let now = self.inner.clock.now();
        let current = self.blocklist();
        let blocks: Vec<Block> = current
            .entries()
            .iter()
            .map(|(_, b)| b)
            .filter(|b| Some(b.id.as_str()) != remove)
            .chain(add)
            .cloned()
            .collect();
        self.set_blocklist(IpSet::from_blocks(&blocks, now));
    }

    fn detectors(&self) -> std::sync::MutexGuard<'_, Detectors> {
        // The detectors are bounded counters; after a panic mid-update they are still usable.
        self.inner
            .detectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn apply_dos_mode(&self, on: bool) {
        if let Some(limiter) = self.inner.limiter.get() {
            let factor = if on {
                self.inner.config.dos_tightening
            } else {
                1.0
            };
            // The factor was validated with the config (0 < f <= 1), so this cannot fail.
            if let Err(e) = limiter.set_tightening(factor) {
                tracing::error!(error = %e, "could not apply DoS-mode tightening");
            }
        }
    }

    /// Stores, logs, counts and broadcasts one event. A store failure is logged and the
    /// event still goes out (id 0): a decision already taken must not be undone by it.
    async fn emit(&self, event: SecurityEvent) -> SecurityEvent {
        let event = match self.inner.store.record_event(&event).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(error = %e, kind = %event.kind, "security event not stored");
                event
            }
        };
        tracing::warn!(
            kind = %event.kind,
            severity = %event.severity,
            ip = event.ip.as_deref().unwrap_or(""),
            account = event.account.as_deref().unwrap_or(""),
            "security event: {}",
            event.message
        );
        metrics::counter!(
            SECURITY_EVENTS_TOTAL,
            "kind" => event.kind.clone(),
            "severity" => event.severity.clone()
        )
        .increment(1);
        // No subscriber is fine: the store has it.
        let _ = self.inner.events.send(event.clone());
        event
    }
}

/// A new event at `at`, id 0 until stored.
fn new_event(
    at: OffsetDateTime,
    kind: &str,
    severity: &str,
    ip: Option<String>,
    account: Option<&str>,
    message: String,
    details: serde_json::Value,
) -> SecurityEvent {
    SecurityEvent {
        id: 0,
        at,
        kind: kind.to_owned(),
        severity: severity.to_owned(),
        ip,
        account: account.map(str::to_owned),
        message,
        details,
    }
}
