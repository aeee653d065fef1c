//! The second figure: the registry (`legalops::ops::metrics::Registry`) against
//! `metrics-exporter-prometheus`'s `PrometheusRecorder`, both driven through the
//! `metrics::Recorder` trait with the same key and labels and the same histogram buckets.
//!
//! - Hot path: a handle registered once, then N `increment(1)` / N `record(v)`.
//! - Lookup each time: `register_*(&key)` per operation with a static key, which is what
//!   `metrics::counter!("name", "label" => "value")` does on every call.
//! - The exporter's histogram only appends an observation to a lock-free queue; the
//!   bucketing happens at render or upkeep. Its `run_upkeep` after each round is timed
//!   apart and reported amortised per observation, so that the two are compared on
//!   the same work.
//! - One render of the Prometheus text of 1,000 series (counters, gauges, histograms with
//!   observations) by each.

use std::hint::black_box;
use std::time::{Duration, Instant};

use legalops::ops::metrics::{DEFAULT_BUCKETS, Registry};
use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use super::median;

static COUNTER_LABELS: [Label; 3] = [
    Label::from_static_parts("method", "GET"),
    Label::from_static_parts("route", "/api/entities/{id}"),
    Label::from_static_parts("status", "2xx"),
];
static COUNTER_KEY: Key = Key::from_static_parts("http_requests_total", &COUNTER_LABELS);
static HISTOGRAM_LABELS: [Label; 2] = [
    Label::from_static_parts("method", "GET"),
    Label::from_static_parts("route", "/api/entities/{id}"),
];
static HISTOGRAM_KEY: Key =
    Key::from_static_parts("http_request_duration_seconds", &HISTOGRAM_LABELS);
static META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

fn exporter() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets(&DEFAULT_BUCKETS)
        .expect("non-empty buckets")
        .build_recorder()
}

/// Latencies spread over every bucket, so that the bucket search is not always the first.
fn observations(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i * 7919) % 12_000) as f64 / 1000.0)
        .collect()
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn ns_per_op(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e9 / n as f64
}

/// One measurement per round for each side: (ours, theirs) in ns per operation.
type Pair = (Vec<f64>, Vec<f64>);

fn print_pair(label: &str, (ours, theirs): &Pair) {
    let (o, t) = (median(ours), median(theirs));
    println!(
        "  {label:<46} ours {o:>8.1} ns/op  theirs {t:>8.1} ns/op  ours/theirs {:>5.2}",
        o / t
    );
}

/// Times the four record variants of both recorders in `rounds` interleaved rounds of `n`.
pub fn record_cost(rounds: usize, n: usize) {
    let ours = Registry::new();
    let theirs = exporter();
    let values = observations(n);
    let (oc, tc) = (
        ours.register_counter(&COUNTER_KEY, &META),
        theirs.register_counter(&COUNTER_KEY, &META),
    );
    let (oh, th) = (
        ours.register_histogram(&HISTOGRAM_KEY, &META),
        theirs.register_histogram(&HISTOGRAM_KEY, &META),
    );
    let handle = theirs.handle();
    let (mut inc, mut inc_lookup, mut obs, mut obs_lookup) = (
        Pair::default(),
        Pair::default(),
        Pair::default(),
        Pair::default(),
    );
    let mut upkeep = Vec::new();
    for round in 0..rounds {
        // Alternate who goes first in each round.
        let sides: [bool; 2] = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_ours in sides {
            let (rec, c, h): (&dyn Recorder, _, _) = if is_ours {
                (&ours, &oc, &oh)
            } else {
                (&theirs, &tc, &th)
            };
            let d_inc = time(|| (0..n).for_each(|_| black_box(c).increment(1)));
            let d_inc_l = time(|| {
                (0..n)
                    .for_each(|_| black_box(rec.register_counter(&COUNTER_KEY, &META)).increment(1))
            });
            let d_obs = time(|| values.iter().for_each(|v| black_box(h).record(*v)));
            let d_obs_l = time(|| {
                values.iter().for_each(|v| {
                    black_box(rec.register_histogram(&HISTOGRAM_KEY, &META)).record(*v)
                })
            });
            let side = |p: &mut Pair, d: Duration| {
                let v = ns_per_op(d, n);
                if is_ours { p.0.push(v) } else { p.1.push(v) }
            };
            side(&mut inc, d_inc);
            side(&mut inc_lookup, d_inc_l);
            side(&mut obs, d_obs);
            side(&mut obs_lookup, d_obs_l);
            if !is_ours {
                // The exporter buckets its queued observations here (2n of them).
                upkeep.push(ns_per_op(time(|| handle.run_upkeep()), 2 * n));
            }
        }
    }
    let up = median(&upkeep);
    let amortised: Pair = (obs.0.clone(), obs.1.iter().map(|t| t + up).collect());
    println!(
        "alerting bench: record cost, {rounds} interleaved rounds x {n} operations per variant"
    );
    print_pair("counter increment, handle held", &inc);
    print_pair("counter increment, handle looked up each time", &inc_lookup);
    print_pair("histogram observation, handle held", &obs);
    print_pair("histogram observation, looked up each time", &obs_lookup);
    print_pair("histogram observation + exporter's upkeep", &amortised);
    println!("  (exporter's upkeep bucketing its queued observations: {up:.1} ns per observation)");
}

/// Registers `series` series in both recorders (half counters, 40 % gauges, 10 %
/// histograms with 100 observations each) and times `renders` renders per round.
pub fn render_cost(rounds: usize, series: usize, renders: usize) {
    let ours = Registry::new();
    let theirs = exporter();
    let histograms = series / 10;
    let gauges = series * 4 / 10;
    let counters = series - histograms - gauges;
    for i in 0..counters {
        let key = Key::from_parts(
            "http_requests_total",
            vec![
                Label::new("method", if i % 2 == 0 { "GET" } else { "POST" }),
                Label::new("route", format!("/api/r{:03}/{{id}}", i / 10)),
                Label::new("status", ["2xx", "3xx", "4xx", "5xx", "1xx"][(i / 2) % 5]),
            ],
        );
        ours.register_counter(&key, &META).increment(i as u64 + 1);
        theirs.register_counter(&key, &META).increment(i as u64 + 1);
    }
    for i in 0..gauges {
        let key = Key::from_parts("queue_depth", vec![Label::new("queue", format!("q{i:04}"))]);
        ours.register_gauge(&key, &META).set(i as f64 * 0.5);
        theirs.register_gauge(&key, &META).set(i as f64 * 0.5);
    }
    let values = observations(100);
    for i in 0..histograms {
        let key = Key::from_parts(
            "http_request_duration_seconds",
            vec![Label::new("route", format!("/api/r{i:03}/{{id}}"))],
        );
        let (o, t) = (
            ours.register_histogram(&key, &META),
            theirs.register_histogram(&key, &META),
        );
        for v in &values {
            o.record(*v);
            t.record(*v);
        }
    }
    let handle = theirs.handle();
    // The first render of the exporter drains its queued observations: not timed.
    let (ours_len, theirs_len) = (ours.render_prometheus().len(), handle.render().len());
    let (mut o_ms, mut t_ms) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let run_ours = |v: &mut Vec<f64>| {
            let d = time(|| (0..renders).for_each(|_| drop(black_box(ours.render_prometheus()))));
            v.push(d.as_secs_f64() * 1e3 / renders as f64);
        };
        let run_theirs = |v: &mut Vec<f64>| {
            let d = time(|| (0..renders).for_each(|_| drop(black_box(handle.render()))));
            v.push(d.as_secs_f64() * 1e3 / renders as f64);
        };
        if round % 2 == 0 {
            run_ours(&mut o_ms);
            run_theirs(&mut t_ms);
        } else {
            run_theirs(&mut t_ms);
            run_ours(&mut o_ms);
        }
    }
    let (o, t) = (median(&o_ms), median(&t_ms));
    println!(
        "alerting bench: render of {series} series ({counters} counters, {gauges} gauges, \
         {histograms} histograms of {} buckets), {rounds} rounds x {renders} renders",
        DEFAULT_BUCKETS.len()
    );
    println!("  ours   {o:>8.3} ms/render  ({ours_len} bytes)");
    println!("  theirs {t:>8.3} ms/render  ({theirs_len} bytes)");
    println!("  ratio ours/theirs: {:.2}", o / t);
}
