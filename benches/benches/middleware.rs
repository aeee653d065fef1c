//! Cost of the middleware stack: requests per second of a trivial route with LegalOps'
//! whole request pipeline (request id, span and access log, metrics, panic catcher)
//! against the same route without it, measured side by side in interleaved rounds so that
//! machine noise hits both alike. Prints both rates and their ratio.
//!
//! `cargo bench -p legalops-benches --bench middleware` (set `BENCH_ROUNDS`, `BENCH_REQUESTS`;
//! `BENCH_LOG=off` measures without a log subscriber).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use legalops::server::{Config, Platform};
use tower::{Service, ServiceExt};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(app: &Router, n: usize) -> Duration {
    let mut svc = app.clone().into_service::<Body>();
    let start = Instant::now();
    for _ in 0..n {
        let req = Request::get("/ping")
            .body(Body::empty())
            .unwrap_or_default();
        let res = svc.ready().await.map(|s| s.call(req));
        match res {
            Ok(fut) => {
                let res = fut.await;
                assert!(
                    res.map(|r| r.status().is_success()).unwrap_or(false),
                    "ping failed"
                );
            }
            Err(e) => panic!("router not ready: {e}"),
        }
    }
    start.elapsed()
}

/// Serves `app` on a loopback port and returns its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/ping")
}

/// `n` sequential requests over one keep-alive connection.
async fn run_http(client: &reqwest::Client, url: &str, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let res = client.get(url).send().await.expect("request on loopback");
        assert!(res.status().is_success(), "ping failed");
        res.bytes().await.expect("body");
    }
    start.elapsed()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn report(setting: &str, bare_rps: Vec<f64>, full_rps: Vec<f64>) {
    let (b, f) = (median(bare_rps), median(full_rps));
    println!("middleware bench: {setting}");
    println!("  without middleware: {b:>12.0} req/s (median)");
    println!("  with middleware:    {f:>12.0} req/s (median)");
    println!(
        "  ratio with/without: {:.3} (overhead per request: {:.2} us)",
        f / b,
        (1.0 / f - 1.0 / b) * 1e6
    );
}

fn main() {
    let rounds = env_num("BENCH_ROUNDS", 7);
    let requests = env_num("BENCH_REQUESTS", 20_000);
    // Log lines are formatted as in production (JSON, redaction) and thrown away, so the
    // cost of the access log is part of the measurement (BENCH_LOG=off leaves it out).
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
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_owned(),
            admin_token: Some("bench-admin-token-0123456789".to_owned()),
            ..Config::default()
        };
        let (platform, _) = Platform::in_memory(config)
            .build()
            .await
            .expect("platform");
        let bare = Router::new().route("/ping", get(|| async { "pong" }));
        let full = platform.apply_middleware(bare.clone());
        // Warm up both (allocations, metric series creation).
        run(&bare, 1000).await;
        run(&full, 1000).await;
        let (mut bare_rps, mut full_rps) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            bare_rps.push(requests as f64 / run(&bare, requests).await.as_secs_f64());
            full_rps.push(requests as f64 / run(&full, requests).await.as_secs_f64());
        }
        report(&format!("{rounds} interleaved rounds x {requests} requests, in-process (tower oneshot)"), bare_rps, full_rps);

        // The same two routers behind a real HTTP/1.1 server on loopback, as a client sees them.
        let http_requests = env_num("BENCH_HTTP_REQUESTS", requests / 4);
        let (bare_url, full_url) = (serve(bare).await, serve(full).await);
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
        run_http(&client, &bare_url, 200).await;
        run_http(&client, &full_url, 200).await;
        let (mut bare_rps, mut full_rps) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            bare_rps.push(http_requests as f64 / run_http(&client, &bare_url, http_requests).await.as_secs_f64());
            full_rps.push(http_requests as f64 / run_http(&client, &full_url, http_requests).await.as_secs_f64());
        }
        report(&format!("{rounds} interleaved rounds x {http_requests} requests, HTTP/1.1 on loopback, one keep-alive connection"), bare_rps, full_rps);
    });
}
