//! The second figure: what the blocklist and the per-IP API rate limit cost per request,
//! as requests/s of a trivial route bare, behind `apply_middleware` with an empty
//! blocklist, and behind it with thousands of blocked addresses.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use legalops::core::security::{Block, BlockSource};
use legalops::server::Platform;
use tower::{Service, ServiceExt};

use super::{bench_ip, fast_config, median, send};

async fn run_ping(app: &Router, n: usize, clients: &[SocketAddr]) -> Duration {
    let mut svc = app.clone().into_service::<Body>();
    let start = Instant::now();
    for i in 0..n {
        let mut req = Request::get("/api/ping")
            .body(Body::empty())
            .unwrap_or_default();
        req.extensions_mut()
            .insert(ConnectInfo(clients[i % clients.len()]));
        let ready = svc.ready().await.expect("router ready");
        let res = ready.call(req).await.expect("infallible router");
        assert!(res.status().is_success(), "ping failed: {}", res.status());
    }
    start.elapsed()
}

/// A platform whose API rate limit decides every request but never refuses one.
async fn ping_platform(dir: &std::path::Path) -> Platform {
    let mut config = fast_config(dir);
    config.rate_limits.api_per_minute = u64::from(u32::MAX);
    let (p, _) = Platform::in_memory(config).build().await.expect("platform");
    p
}

/// Blocks `count` single addresses (198.18.0.0/17 of the benchmarking range) in the store
/// and reloads the blocklist; returns how long the reload took.
async fn block_many(p: &Platform, count: usize) -> Duration {
    let store = &p.records().security;
    let now = p.clock().now();
    for n in 0..count {
        // Through the store, not `SecurityEngine::block`: each of those reads every active
        // block to refuse a duplicate, so 10 000 of them would take quadratic time.
        let block = Block {
            id: format!("bench-block-{n}"),
            target: bench_ip(0, n + 1).to_string(),
            reason: "bench".to_owned(),
            source: BlockSource::Manual,
            created_by: "bench".to_owned(),
            created_at: now,
            expires_at: None,
            lifted_at: None,
        };
        store.add_block(&block).await.expect("add block");
    }
    let start = Instant::now();
    p.security().refresh_now().await.expect("refresh");
    start.elapsed()
}

/// Measures and prints the three routers' rates, their ratios and the overheads.
pub(crate) async fn middleware_cost(rounds: usize, requests: usize, blocks: usize) {
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (empty_p, large_p) = (
        ping_platform(dir_a.path()).await,
        ping_platform(dir_b.path()).await,
    );
    let reload = block_many(&large_p, blocks).await;
    let start = Instant::now();
    large_p
        .security()
        .block("198.18.200.1", "one more, by hand", None, "bench")
        .await
        .expect("manual block");
    let one_more = start.elapsed();
    // 4096 distinct clients outside the blocked range (198.19.0.0/16).
    let clients: Vec<SocketAddr> = (0..4096)
        .map(|n| SocketAddr::new(bench_ip(1 << 16, n), 40000))
        .collect();
    let bare = Router::new().route("/api/ping", get(|| async { "pong" }));
    let empty = empty_p.apply_middleware(bare.clone());
    let large = large_p.apply_middleware(bare.clone());
    // The wrapped routers really decide: a blocked address is refused, and the API limit
    // judges every other request.
    let (status, _, _) = send(
        &large,
        bench_ip(0, 1),
        Request::get("/api/ping")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a blocked address is refused"
    );
    let res = empty
        .clone()
        .oneshot(
            Request::get("/api/ping")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible router");
    assert!(
        res.headers().contains_key("ratelimit"),
        "the API limit applies"
    );
    let warm = requests.min(1000);
    for app in [&bare, &empty, &large] {
        run_ping(app, warm, &clients).await;
    }
    let mut rps: [Vec<f64>; 3] = Default::default();
    for _ in 0..rounds {
        for (app, r) in [&bare, &empty, &large].into_iter().zip(&mut rps) {
            r.push(requests as f64 / run_ping(app, requests, &clients).await.as_secs_f64());
        }
    }
    // Half the range of one request's time across rounds: differences below it are noise.
    let spread = |r: &[f64]| {
        let us = super::sorted(r.iter().map(|r| 1e6 / r).collect());
        (us[us.len() - 1] - us[0]) / 2.0
    };
    let (se, sl) = (spread(&rps[1]), spread(&rps[2]));
    let [b, e, l] = rps.map(median);
    let us = |rate: f64| 1e6 / rate;
    println!(
        "security bench: cost of the blocklist + rate-limit middleware per request \
         ({rounds} interleaved rounds x {requests} requests, in-process, 4096 client addresses, \
         API limit deciding but never refusing)"
    );
    println!("  (1) bare /api/ping:                        {b:>10.0} req/s (median)");
    println!("  (2) apply_middleware, empty blocklist:     {e:>10.0} req/s (median)");
    println!("  (3) apply_middleware, {blocks:>6} blocks:      {l:>10.0} req/s (median)");
    println!(
        "  ratio (2)/(1): {:.3} ({:.2} us per request over bare; rounds' spread +/-{se:.2} us)",
        e / b,
        us(e) - us(b)
    );
    println!(
        "  ratio (3)/(1): {:.3} ({:.2} us per request over bare; rounds' spread +/-{sl:.2} us)",
        l / b,
        us(l) - us(b)
    );
    let diff = us(l) - us(e);
    let verdict = if diff.abs() <= se.max(sl) {
        " (within the rounds' spread: no measurable cost)"
    } else {
        ""
    };
    println!(
        "  (3)-(2), the cost of a {blocks}-entry blocklist: {diff:.2} us per request{verdict}"
    );
    println!(
        "  reloading {blocks} blocks from the store: {:.1} ms (every 2 s, in the background); \
         one manual block on top of them: {:.1} ms",
        reload.as_secs_f64() * 1e3,
        one_more.as_secs_f64() * 1e3
    );
}
