//! The security figures for `/api/metrics/security` and the dashboard: failed logins, active
//! blocks, events by kind, rate-limited requests and DoS mode.

use std::collections::BTreeMap;

use legalops_core::Result;
use legalops_core::security::BlockSource;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::SecurityEngine;

/// Rows read per figure at most; past it the figure is a lower bound and `capped` says so
/// (the store has no count-all query, and a report must not read an attack's millions).
const REPORT_CAP: u64 = 10_000;

/// Active blocks by who decided them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockCounts {
    /// Operator blocks.
    pub manual: u64,
    /// Bans from failed logins.
    pub automatic: u64,
    /// Both.
    pub total: u64,
}

/// The security report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityReport {
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Failed logins in the last hour.
    pub failed_logins_last_hour: u64,
    /// Failed logins in the last 24 hours.
    pub failed_logins_last_24h: u64,
    /// Blocks in force.
    pub active_blocks: BlockCounts,
    /// Security events in the last 24 hours, by kind.
    pub events_last_24h: BTreeMap<String, u64>,
    /// Requests the attached rate limiter refused since this process started.
    pub rate_limited_since_start: u64,
    /// Whether DoS mode is on.
    pub dos_mode: bool,
    /// True if a figure hit the 10 000-row reading cap and is a lower bound.
    pub capped: bool,
}

impl SecurityEngine {
    /// The figures now.
    pub async fn report(&self) -> Result<SecurityReport> {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let hour_ago = now - time::Duration::HOUR;
        let day_ago = now - time::Duration::DAY;
        let failures = store.failed_logins(day_ago, REPORT_CAP + 1).await?;
        let events = store.events(day_ago, REPORT_CAP + 1).await?;
        let capped = failures.len() as u64 > REPORT_CAP || events.len() as u64 > REPORT_CAP;
        let mut by_kind = BTreeMap::new();
        for e in events.iter().take(REPORT_CAP as usize) {
            *by_kind.entry(e.kind.clone()).or_insert(0) += 1;
        }
        let mut active_blocks = BlockCounts::default();
        for b in store.active_blocks(now).await? {
            match b.source {
                BlockSource::Manual => active_blocks.manual += 1,
                BlockSource::Automatic => active_blocks.automatic += 1,
            }
            active_blocks.total += 1;
        }
        let failures = &failures[..failures.len().min(REPORT_CAP as usize)];
        Ok(SecurityReport {
            generated_at: now,
            failed_logins_last_hour: failures.iter().filter(|f| f.at >= hour_ago).count() as u64,
            failed_logins_last_24h: failures.len() as u64,
            active_blocks,
            events_last_24h: by_kind,
            rate_limited_since_start: self.inner.limiter.get().map_or(0, |l| l.refused_total()),
            dos_mode: self.dos_mode(),
            capped,
        })
    }
}
