//! `legalops serve`: bind, serve, and stop cleanly on SIGTERM/SIGINT (stop accepting,
//! let in-flight requests finish within the grace period, then return so logs flush).

use std::net::SocketAddr;
use std::time::Duration;

use legalops_core::{Error, Result, SharedClock};
use legalops_ops::metrics::Registry;

use crate::auth::TokenOrigin;
use crate::config::Config;
use crate::platform::Platform;

/// Builds the platform from `config` and serves until a shutdown signal.
pub async fn run(config: Config, clock: SharedClock) -> Result<()> {
    let addr = config.listen_addr()?;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let registry = Registry::new();
    if let Err(e) = registry.install_global() {
        tracing::warn!(error = %e, "metrics from the `metrics` facade will not reach /metrics");
    }
    let (platform, origin) = Platform::builder(config)
        .clock(clock)
        .registry(registry)
        .build()
        .await?;
    if let TokenOrigin::Generated(token) = &origin {
        // Printed to the terminal once, never logged: only its hash is stored.
        eprintln!(
            "\n  Admin token (shown once; store it now): {token}\n  Use it as: Authorization: Bearer <token>\n"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::invalid_config("listen", format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, database = %platform.records().database, documents = %platform.documents(), "legalops listening");
    serve_until_signal(listener, platform, grace, shutdown_signal()).await
}

/// Serves `platform` on `listener` until `signal` completes, then drains for at most
/// `grace`.
pub async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    platform: Platform,
    grace: Duration,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = platform
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.changed().await;
    });
    let mut server = tokio::spawn(std::future::IntoFuture::into_future(server));
    tokio::select! {
        res = &mut server => return finished(res),
        () = signal => {}
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutdown signal received; draining in-flight requests"
    );
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, &mut server).await {
        Ok(res) => finished(res)?,
        Err(_) => {
            tracing::warn!("grace period elapsed with requests still in flight; exiting");
            server.abort();
        }
    }
    // Hand rule evaluation over now rather than after the lease's time to live.
    if let Err(e) = platform.evaluator().release().await {
        tracing::warn!(error = %e, "could not release the alert evaluator lease");
    }
    tracing::info!("legalops stopped");
    Ok(())
}

fn finished(res: std::result::Result<std::io::Result<()>, tokio::task::JoinError>) -> Result<()> {
    match res {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Error::backend("http server", false, e)),
        Err(e) => Err(Error::backend(
            "http server",
            false,
            std::io::Error::other(e.to_string()),
        )),
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
