//! What the identity tests share: a service over in-memory records and a manual clock,
//! and a login guard that records what it was told and can be told to deny.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use legalops_core::audit::{AuditEntry, AuditLog};
use legalops_core::identity::{Role, User};
use legalops_core::mem::MemoryRecords;
use legalops_core::records::Records;
use legalops_core::{Error, ManualClock, Result};
use time::macros::datetime;

use super::{IdentityConfig, IdentityService, LoginAttempt, LoginGuard};
use crate::audit::{Auditor, RequestMeta};

/// A password that passes the policy.
pub(crate) const PW: &str = "Tr1cky-Lawyer!";

/// What the guard answers before a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    Deny,
    Slow(Duration),
}

/// A guard that records every call as `(method, attempt)`.
#[derive(Debug)]
pub(crate) struct RecordingGuard {
    pub(crate) verdict: Mutex<Verdict>,
    pub(crate) calls: Mutex<Vec<(&'static str, LoginAttempt)>>,
}

impl RecordingGuard {
    fn record(&self, what: &'static str, attempt: &LoginAttempt) {
        self.calls
            .lock()
            .expect("lock")
            .push((what, attempt.clone()));
    }

    pub(crate) fn calls(&self) -> Vec<&'static str> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .map(|c| c.0)
            .collect()
    }

    pub(crate) fn set(&self, v: Verdict) {
        *self.verdict.lock().expect("lock") = v;
    }
}

#[async_trait]
impl LoginGuard for RecordingGuard {
    async fn before_login(&self, attempt: &LoginAttempt) -> Result<()> {
        self.record("before_login", attempt);
        let verdict = *self.verdict.lock().expect("lock");
        match verdict {
            Verdict::Allow => Ok(()),
            Verdict::Deny => Err(Error::PermissionDenied {
                message: "address blocked".into(),
            }),
            Verdict::Slow(retry_after) => Err(Error::RateLimited { retry_after }),
        }
    }

    async fn login_failed(&self, attempt: &LoginAttempt) -> Result<()> {
        self.record("login_failed", attempt);
        Ok(())
    }

    async fn login_succeeded(&self, attempt: &LoginAttempt) -> Result<()> {
        self.record("login_succeeded", attempt);
        Ok(())
    }
}

pub(crate) struct Kit {
    pub(crate) svc: IdentityService,
    pub(crate) clock: ManualClock,
    pub(crate) records: Arc<MemoryRecords>,
    pub(crate) guard: Arc<RecordingGuard>,
}

pub(crate) fn kit() -> Kit {
    kit_with(IdentityConfig::for_tests())
}

pub(crate) fn kit_with(config: IdentityConfig) -> Kit {
    let clock = ManualClock::new(datetime!(2026-11-23 09:00 UTC));
    let records = Arc::new(MemoryRecords::new());
    let guard = Arc::new(RecordingGuard {
        verdict: Mutex::new(Verdict::Allow),
        calls: Mutex::new(Vec::new()),
    });
    let bundle = Records::from_backend(records.clone());
    let auditor = Auditor::new(bundle.audit.clone(), Arc::new(clock.clone()));
    let svc = IdentityService::new(
        &bundle,
        Arc::new(clock.clone()),
        guard.clone(),
        auditor,
        config,
    )
    .expect("test config is valid");
    Kit {
        svc,
        clock,
        records,
        guard,
    }
}

pub(crate) fn meta() -> RequestMeta {
    RequestMeta::new("203.0.113.9".parse().expect("ip"))
        .with_user_agent("test-agent/1")
        .with_request_id("req-1")
}

impl Kit {
    pub(crate) async fn user(&self, email: &str, role: Role) -> User {
        self.svc
            .register(email, PW, "Test User", role, &meta())
            .await
            .expect("registered")
    }

    pub(crate) async fn audit(&self) -> Vec<AuditEntry> {
        self.records
            .entries(1, 10_000)
            .await
            .expect("audit entries")
    }

    /// The audit entries with `action`.
    pub(crate) async fn audited(&self, action: &str) -> Vec<AuditEntry> {
        self.audit()
            .await
            .into_iter()
            .filter(|e| e.entry.action == action)
            .collect()
    }
}

impl Kit {
    pub(crate) async fn user_id(&self, email: &str) -> String {
        use legalops_core::identity::UserStore;
        self.records
            .find_user_by_email(email)
            .await
            .expect("lookup")
            .expect("user exists")
            .id
    }
}

/// Reading the manual clock without importing the trait in every test.
pub(crate) trait ClockExt {
    fn now_plus(&self, by: Duration) -> time::OffsetDateTime;
}

impl ClockExt for ManualClock {
    fn now_plus(&self, by: Duration) -> time::OffsetDateTime {
        use legalops_core::Clock;
        self.now() + by
    }
}
