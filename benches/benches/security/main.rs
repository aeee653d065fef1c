//! Issue 3's two security figures, in one run:
//!
//! 1. Time from the fifth failed login to the block decision: per fresh attacker address,
//!    five failed logins untimed, then the sixth (the one that creates the ban) and the
//!    seventh (refused 403 by the blocklist) timed end to end through the router, over the
//!    in-memory records and over SQLite side by side, for a brute force of one account and
//!    for a new account per attempt. Median and p95, and the OWASP argon2 verify for scale.
//! 2. Cost of the blocklist + rate-limit middleware per request: requests/s of a trivial
//!    `/api/ping` bare, wrapped in `Platform::apply_middleware` with an empty blocklist, and
//!    wrapped with 10 000 blocked addresses, in interleaved rounds. Ratios and overheads.
//!
//! `cargo bench -p legalops-benches --bench security` (set `BENCH_ROUNDS`,
//! `BENCH_REQUESTS`, `BENCH_IPS` attackers per round, `BENCH_BLOCKS`; `BENCH_LOG=off`
//! measures without a log subscriber).

mod ban;
mod blocklist;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use legalops::server::Config;
use tower::ServiceExt;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn median(v: Vec<f64>) -> f64 {
    let v = sorted(v);
    v[v.len() / 2]
}

/// The nearest-rank percentile `q` (0 < q <= 1) of a non-empty sample.
fn percentile(v: &[f64], q: f64) -> f64 {
    let v = sorted(v.to_vec());
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The `n`th address of 198.18.0.0/15 (RFC 2544's benchmarking range) from `base`.
fn bench_ip(base: u32, n: usize) -> IpAddr {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    IpAddr::V4(Ipv4Addr::from(
        u32::from(Ipv4Addr::new(198, 18, 0, 0)) + base + n,
    ))
}

/// A config like the server tests': admin token, no log file, data in `dir`, argon2 at
/// test cost (64 KiB, one pass) so that the figures are the security path.
fn fast_config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        admin_token: Some("bench-admin-token-0123456789".to_owned()),
        data_dir: dir.to_owned(),
        ..Config::default()
    };
    c.log.file = false;
    c.identity.argon2_memory_kib = 64;
    c.identity.argon2_iterations = 1;
    c
}

/// Sends one request from `ip` and returns the status and body, all of it inside the timing.
async fn send(app: &Router, ip: IpAddr, req: Request<Body>) -> (StatusCode, Duration, String) {
    let mut req = req;
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40000)));
    let start = Instant::now();
    let res = app.clone().oneshot(req).await.expect("infallible router");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    let took = start.elapsed();
    (status, took, String::from_utf8_lossy(&bytes).into_owned())
}

fn main() {
    let rounds = env_num("BENCH_ROUNDS", 7).max(1);
    let requests = env_num("BENCH_REQUESTS", 20_000).max(1);
    let ips = env_num("BENCH_IPS", (requests / 100).clamp(2, 200));
    let blocks = env_num("BENCH_BLOCKS", 10_000).clamp(1, 30_000);
    // Log lines are formatted as in production (JSON, redaction) and thrown away, so the
    // cost of logging is part of the measurement (BENCH_LOG=off leaves it out).
    if std::env::var("BENCH_LOG").as_deref() != Ok("off") {
        use tracing_subscriber::layer::SubscriberExt;
        let sub = tracing_subscriber::registry()
            .with(legalops::server::logging::JsonLayer::new(std::io::sink()));
        tracing::subscriber::set_global_default(sub).expect("no other subscriber in the bench");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        ban::time_to_block(rounds, ips).await;
        println!();
        blocklist::middleware_cost(rounds, requests, blocks).await;
    });
}
