//! The workload of the evaluation bench: a registry with the series a busy platform has
//! (request counters for 50 routes by method and status class, the latency histogram per
//! route and method, the system gauges), moved on deterministically each 15 s tick, and a
//! rule file of N rules generated from four templates (gauge thresholds, 5xx share of a
//! route's request rate over 5 minutes, p95 latency by `histogram_quantile` over 5 minutes,
//! `absent`), with thresholds spread so that rules of every template fire and others stay
//! inactive. About a third end up firing (every other `absent` rule watches a retired
//! route): more than in production, which makes the figure an upper bound, since a firing
//! rule costs the evaluator an alert to build.

use std::fmt::Write as _;

use legalops::ops::metrics::Registry;
use metrics::{Counter, Gauge, Histogram};

/// Routes with traffic.
pub const ROUTES: usize = 50;
const METHODS: [&str; 2] = ["GET", "POST"];
const STATUSES: [&str; 3] = ["2xx", "4xx", "5xx"];

/// A route template as the middleware labels it.
pub fn route(i: usize) -> String {
    format!("/api/r{:02}/{{id}}", i % ROUTES)
}

/// The registry's series and the handles that move them.
pub struct Traffic {
    // [route][method][status]
    requests: Vec<[[Counter; 3]; 2]>,
    // [route][method]
    latency: Vec<[Histogram; 2]>,
    cpu: Gauge,
    memory_used: Gauge,
    disk_used: Gauge,
    resident: Gauge,
    in_flight: Gauge,
    // xorshift state: the same workload every run.
    seed: u64,
}

impl Traffic {
    /// Registers the series in `registry` (totals of memory and disk set once).
    pub fn new(registry: &Registry) -> Self {
        let requests = (0..ROUTES)
            .map(|r| {
                let route = route(r);
                METHODS.map(|m| {
                    STATUSES.map(|s| {
                        registry.counter(
                            "http_requests_total",
                            &[("method", m), ("route", &route), ("status", s)],
                        )
                    })
                })
            })
            .collect();
        let latency = (0..ROUTES)
            .map(|r| {
                let route = route(r);
                METHODS.map(|m| {
                    registry.histogram(
                        "http_request_duration_seconds",
                        &[("method", m), ("route", &route)],
                    )
                })
            })
            .collect();
        registry
            .gauge("system_memory_total_bytes", &[])
            .set(16.0 * 1024.0 * 1024.0 * 1024.0);
        registry
            .gauge("system_disk_total_bytes", &[])
            .set(500.0 * 1024.0 * 1024.0 * 1024.0);
        Self {
            requests,
            latency,
            cpu: registry.gauge("system_cpu_usage_ratio", &[]),
            memory_used: registry.gauge("system_memory_used_bytes", &[]),
            disk_used: registry.gauge("system_disk_used_bytes", &[]),
            resident: registry.gauge("process_resident_memory_bytes", &[]),
            in_flight: registry.gauge("http_requests_in_flight", &[]),
            seed: 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn next(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// One 15 s step of traffic: requests by status (each route with its own error share),
    /// 20 latency observations per route and method, gauges wandering.
    pub fn advance(&mut self, tick: u64) {
        for r in 0..ROUTES {
            for m in 0..METHODS.len() {
                let ok = 100 + (self.next() % 50);
                let client = self.next() % 6;
                // Route r's 5xx share grows with r: a few routes are always above 5 %.
                let server = self.next() % (1 + r as u64 / 5);
                let [c2, c4, c5] = &self.requests[r][m];
                c2.increment(ok);
                c4.increment(client);
                c5.increment(server);
                for _ in 0..20 {
                    // Mostly 5-300 ms, slower routes further down the list.
                    let ms = (self.next() % 300) as f64 * (1.0 + r as f64 / 25.0) + 5.0;
                    self.latency[r][m].record(ms / 1000.0);
                }
            }
        }
        let wobble = (tick % 10) as f64 / 10.0;
        self.cpu.set(0.3 + 0.6 * wobble);
        self.memory_used
            .set((9.0 + 6.0 * wobble) * 1024.0 * 1024.0 * 1024.0);
        self.disk_used
            .set((400.0 + tick as f64 * 0.01) * 1024.0 * 1024.0 * 1024.0);
        self.resident.set(300.0 * 1024.0 * 1024.0);
        let in_flight = (self.next() % 40) as f64;
        self.in_flight.set(in_flight);
    }
}

/// A rule file of `count` rules from the four templates in turn.
pub fn rule_file(count: usize) -> String {
    let mut out = String::with_capacity(count * 400);
    for i in 0..count {
        let severity = if i % 3 == 0 { "critical" } else { "warning" };
        let r = route(i / 4);
        // Writing to a String cannot fail.
        let _ = match i % 4 {
            0 => {
                let (expr, unit) = match (i / 4) % 3 {
                    0 => ("system_cpu_usage_ratio * 100", "% CPU"),
                    1 => (
                        "system_memory_used_bytes / system_memory_total_bytes * 100",
                        "% memory",
                    ),
                    _ => (
                        "system_disk_used_bytes / system_disk_total_bytes * 100",
                        "% disk",
                    ),
                };
                let t = 50 + (i / 4) % 50;
                writeln!(
                    out,
                    "[[rules]]\nname = \"Gauge{i:04}\"\nexpr = '{expr} > {t}'\nfor = \"2m\"\n\
                     recover = '{expr} < {}'\nseverity = \"{severity}\"\n\
                     labels = {{ component = \"system\" }}\n\
                     annotations = {{ summary = \"{{{{ $value }}}}{unit} (above {t})\" }}\n",
                    t - 5
                )
            }
            1 => {
                let five = if (i / 4) % 2 == 0 {
                    "status=\"5xx\""
                } else {
                    "status=~\"5..\""
                };
                let share = format!(
                    "rate(http_requests_total{{route=\"{r}\",{five}}}[5m]) / \
                     rate(http_requests_total{{route=\"{r}\"}}[5m]) * 100"
                );
                let t = 1 + (i / 4) % 10;
                writeln!(
                    out,
                    "[[rules]]\nname = \"ErrorRate{i:04}\"\nexpr = '{share} > {t}'\nfor = \"5m\"\n\
                     keep_firing_for = \"5m\"\n\
                     recover = '{share} < {t} or rate(http_requests_total{{route=\"{r}\"}}[5m]) == 0'\n\
                     severity = \"{severity}\"\nlabels = {{ route = \"{r}\" }}\n\
                     annotations = {{ summary = \"5xx {{{{ $value }}}}% on {{{{ $labels.route }}}}\" }}\n"
                )
            }
            2 => {
                let t = 100 + ((i / 4) % 20) * 50;
                writeln!(
                    out,
                    "[[rules]]\nname = \"Latency{i:04}\"\n\
                     expr = 'histogram_quantile(0.95, http_request_duration_seconds{{route=\"{r}\"}}[5m]) * 1000 > {t}'\n\
                     for = \"5m\"\nseverity = \"{severity}\"\nlabels = {{ route = \"{r}\" }}\n\
                     annotations = {{ summary = \"p95 {{{{ $value }}}} ms on {{{{ $labels.route }}}}\" }}\n"
                )
            }
            _ => {
                // Half watch a route that has traffic, half one that was retired (fires).
                let sel = if (i / 4) % 2 == 0 {
                    format!("http_requests_total{{route=\"{r}\",method=\"GET\"}}")
                } else {
                    format!("http_requests_total{{route=\"/retired/{i}\"}}")
                };
                writeln!(
                    out,
                    "[[rules]]\nname = \"Absent{i:04}\"\nexpr = 'absent({sel})'\nfor = \"1m\"\n\
                     severity = \"{severity}\"\nannotations = {{ summary = \"no requests\" }}\n"
                )
            }
        };
    }
    out
}
