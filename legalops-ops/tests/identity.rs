//! The identity service and the audit engine together over the in-memory records
//! backend, through the public API only: a day in the life of an account, and the audit
//! trail it leaves, which must verify.

use std::sync::Arc;
use std::time::Duration;

use legalops_core::identity::Role;
use legalops_core::mem::MemoryRecords;
use legalops_core::records::Records;
use legalops_core::{Error, ManualClock};
use legalops_ops::audit::{Auditor, RequestMeta};
use legalops_ops::identity::{
    INVALID_SESSION, IdentityConfig, IdentityService, OpenGuard, scope_allows,
};
use time::macros::datetime;

#[tokio::test]
async fn an_account_day_leaves_a_complete_verifiable_audit_trail() {
    let clock = ManualClock::new(datetime!(2026-11-23 08:00 UTC));
    let records = Records::from_backend(Arc::new(MemoryRecords::new()));
    let auditor = Auditor::new(records.audit.clone(), Arc::new(clock.clone()));
    let svc = IdentityService::new(
        &records,
        Arc::new(clock.clone()),
        Arc::new(OpenGuard),
        auditor.clone(),
        IdentityConfig::for_tests(),
    )
    .expect("service");
    let meta = RequestMeta::new("192.0.2.44".parse().expect("ip")).with_user_agent("Firefox");

    let admin = svc
        .register(
            "ops@example.com",
            "0ps-Admin-Key!",
            "Ops",
            Role::Admin,
            &meta,
        )
        .await
        .expect("admin");
    let user = svc
        .register(
            "client@example.com",
            "Cl1ent-Portal!",
            "Client",
            Role::Customer,
            &meta,
        )
        .await
        .expect("customer");
    let (_, session) = svc
        .login("client@example.com", "Cl1ent-Portal!", &meta)
        .await
        .expect("login");
    let (who, _) = svc
        .authenticate_session(&session.token, &meta)
        .await
        .expect("authenticated");
    assert_eq!(who.id, user.id);

    let (secret, _) = svc
        .create_api_key(
            &admin.id,
            "grafana",
            vec!["metrics:read".into()],
            None,
            &meta,
        )
        .await
        .expect("key");
    let key = svc
        .authenticate_api_key(&secret, &meta)
        .await
        .expect("key valid");
    assert!(scope_allows(&key.scopes, "metrics:read"));
    assert!(!scope_allows(&key.scopes, "users:write"));

    clock.advance(Duration::from_secs(2 * 3600));
    let idle = svc.authenticate_session(&session.token, &meta).await;
    assert!(matches!(idle, Err(Error::PermissionDenied { message }) if message == INVALID_SESSION));

    auditor.checkpoint().await.expect("checkpoint");
    let report = auditor.verify().await.expect("verify");
    assert!(report.ok, "{report}");
    let actions: Vec<String> = auditor
        .log()
        .entries(1, 100)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| {
            assert_eq!(e.entry.ip.as_deref(), Some("192.0.2.44"));
            format!("{}:{}", e.entry.action, e.entry.outcome.as_str())
        })
        .collect();
    assert_eq!(
        actions,
        [
            "user.register:success",
            "user.register:success",
            "auth.login:success",
            "api_key.create:success",
            "auth.session:failure",
        ]
    );
}
