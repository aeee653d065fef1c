//! Issue 4's alerting figures, in one run:
//!
//! 1. Evaluation cost of many rules per tick (default 1,000) over a registry with realistic
//!    series (request counters of 50 routes by status, the latency histogram, system
//!    gauges), fed to the metric history at 15 s steps: one pass of `Rule::evaluate` +
//!    `state::step` over every rule, and the same tick through `Evaluator::tick` over the
//!    in-memory records (lease and persistence included), side by side. Median and p95
//!    per tick, and per rule.
//! 2. The registry's record cost per counter increment and histogram observation against
//!    `metrics-exporter-prometheus`, with pre-registered handles and with the handle looked
//!    up each time (as the `metrics` macros do), and one render of 1,000 series of each.
//!
//! `cargo bench -p legalops-benches --bench alerting` (set `BENCH_ROUNDS`,
//! `BENCH_REQUESTS` operations per round and variant, `BENCH_RULES`, `BENCH_TICKS` timed
//! ticks per round, `BENCH_SERIES` for the render).

mod evaluation;
mod recorder;
mod rules;

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

fn median(v: &[f64]) -> f64 {
    let v = sorted(v.to_vec());
    v[v.len() / 2]
}

/// The nearest-rank percentile `q` (0 < q <= 1) of a non-empty sample.
fn percentile(v: &[f64], q: f64) -> f64 {
    let v = sorted(v.to_vec());
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn main() {
    let rounds = env_num("BENCH_ROUNDS", 7).max(1);
    let requests = env_num("BENCH_REQUESTS", 20_000).max(1);
    // The smoke run (BENCH_REQUESTS=200) scales the rule count down so that it takes
    // seconds in a debug build; a real run evaluates 1,000.
    let rule_count = env_num("BENCH_RULES", (requests / 20).clamp(8, 1000)).max(4);
    let ticks = env_num("BENCH_TICKS", (requests / 1000).clamp(2, 20)).max(1);
    let series = env_num("BENCH_SERIES", 1000).max(10);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(evaluation::evaluation_cost(rounds, ticks, rule_count));
    println!();
    recorder::record_cost(rounds, requests);
    println!();
    recorder::render_cost(rounds, series, (requests / 400).clamp(2, 50));
}
