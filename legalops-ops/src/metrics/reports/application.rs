//! `/api/metrics/application`: request volume, latency and errors, from a snapshot of the
//! series the HTTP middleware records (see `metrics::names`).

use std::collections::BTreeMap;
use std::time::Duration;

use legalops_core::metrics::{MetricValue, MetricsSnapshot};
use legalops_core::thresholds::{self, Graded};
use serde::{Deserialize, Serialize};

use super::{round, share_percent};
use crate::metrics::{names, quantile};

/// How many routes the report lists.
const TOP_ROUTES: usize = 10;

/// The application's figures since the process started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationReport {
    /// Seconds since the process started.
    pub uptime_seconds: f64,
    /// Requests answered.
    pub total_requests: u64,
    /// Throughput: requests answered per second of uptime.
    pub requests_per_second: f64,
    /// Mean response time in ms, graded by `RESPONSE_TIME_MS` (target under 200 ms).
    pub response_time_avg_ms: Graded,
    /// 95th percentile response time in ms, estimated from the histogram; none without
    /// requests.
    pub response_time_p95_ms: Option<f64>,
    /// Share of requests answered 5xx, graded by `ERROR_RATE_PERCENT` (target under 1 %).
    pub error_rate_percent: Graded,
    /// Requests answered 5xx.
    pub server_errors: u64,
    /// Requests answered 4xx.
    pub client_errors: u64,
    /// Requests being served now.
    pub in_flight: f64,
    /// Handlers that panicked.
    pub panics: u64,
    /// The busiest routes, most requests first.
    pub top_routes: Vec<RouteReport>,
}

/// One route's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteReport {
    /// The route template.
    pub route: String,
    /// Requests answered.
    pub requests: u64,
    /// Requests answered 5xx.
    pub server_errors: u64,
    /// Share of requests answered 5xx.
    pub error_rate_percent: f64,
    /// Mean response time in ms; none without timed requests.
    pub avg_ms: Option<f64>,
}

/// Observations of one histogram family merged across series.
#[derive(Debug, Default)]
struct Dist {
    count: u64,
    sum: f64,
    buckets: Vec<(f64, u64)>,
}

impl Dist {
    fn add(&mut self, count: u64, sum: f64, buckets: &[(f64, u64)]) {
        self.count += count;
        self.sum += sum;
        for &(bound, n) in buckets {
            match self.buckets.iter_mut().find(|b| b.0 == bound) {
                Some(b) => b.1 += n,
                None => {
                    let at = self.buckets.partition_point(|b| b.0 < bound);
                    self.buckets.insert(at, (bound, n));
                }
            }
        }
    }

    fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| round(self.sum / self.count as f64 * 1000.0, 3))
    }
}

#[derive(Debug, Default)]
struct Route {
    requests: u64,
    server_errors: u64,
    latency: Dist,
}

impl ApplicationReport {
    /// The report of `snapshot` for a process up for `uptime`.
    pub fn from_snapshot(snapshot: &MetricsSnapshot, uptime: Duration) -> Self {
        let mut total = 0;
        let (mut server_errors, mut client_errors, mut panics) = (0, 0, 0);
        let mut in_flight = 0.0;
        let mut latency = Dist::default();
        let mut routes: BTreeMap<String, Route> = BTreeMap::new();
        for s in &snapshot.samples {
            let route = s
                .labels
                .get(names::LABEL_ROUTE)
                .cloned()
                .unwrap_or_default();
            match (s.name.as_str(), &s.value) {
                (names::HTTP_REQUESTS_TOTAL, MetricValue::Counter { value }) => {
                    total += value;
                    let r = routes.entry(route).or_default();
                    r.requests += value;
                    match s.labels.get(names::LABEL_STATUS).map(String::as_str) {
                        Some("5xx") => {
                            server_errors += value;
                            r.server_errors += value;
                        }
                        Some("4xx") => client_errors += value,
                        _ => {}
                    }
                }
                (
                    names::HTTP_REQUEST_DURATION_SECONDS,
                    MetricValue::Histogram {
                        count,
                        sum,
                        buckets,
                    },
                ) => {
                    latency.add(*count, *sum, buckets);
                    routes
                        .entry(route)
                        .or_default()
                        .latency
                        .add(*count, *sum, buckets);
                }
                (names::HTTP_REQUESTS_IN_FLIGHT, MetricValue::Gauge { value }) => {
                    in_flight += value
                }
                (names::HTTP_PANICS_TOTAL, MetricValue::Counter { value }) => panics += value,
                _ => {}
            }
        }
        let secs = uptime.as_secs_f64();
        let mut top: Vec<RouteReport> = routes
            .into_iter()
            .filter(|(_, r)| r.requests > 0)
            .map(|(route, r)| RouteReport {
                route,
                requests: r.requests,
                server_errors: r.server_errors,
                error_rate_percent: round(share_percent(r.server_errors, r.requests), 3),
                avg_ms: r.latency.mean_ms(),
            })
            .collect();
        // Stable sort keeps routes of equal volume in name order.
        top.sort_by_key(|r| std::cmp::Reverse(r.requests));
        top.truncate(TOP_ROUTES);
        Self {
            uptime_seconds: round(secs, 3),
            total_requests: total,
            requests_per_second: if secs > 0.0 {
                round(total as f64 / secs, 3)
            } else {
                0.0
            },
            response_time_avg_ms: thresholds::RESPONSE_TIME_MS
                .grade(latency.mean_ms().unwrap_or(0.0)),
            response_time_p95_ms: quantile(&latency.buckets, latency.count, 0.95)
                .map(|s| round(s * 1000.0, 3)),
            error_rate_percent: thresholds::ERROR_RATE_PERCENT
                .grade(round(share_percent(server_errors, total), 3)),
            server_errors,
            client_errors,
            in_flight,
            panics,
            top_routes: top,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Registry;
    use legalops_core::health::Status;
    use time::macros::datetime;

    fn request(r: &Registry, route: &str, status: &str, seconds: f64, n: u64) {
        let labels = [("method", "GET"), ("route", route), ("status", status)];
        r.counter(names::HTTP_REQUESTS_TOTAL, &labels).increment(n);
        let h = r.histogram(
            names::HTTP_REQUEST_DURATION_SECONDS,
            &[("method", "GET"), ("route", route)],
        );
        for _ in 0..n {
            h.record(seconds);
        }
    }

    fn report(r: &Registry, uptime_secs: u64) -> ApplicationReport {
        let snap = r.snapshot(datetime!(2026-01-01 0:00 UTC));
        ApplicationReport::from_snapshot(&snap, Duration::from_secs(uptime_secs))
    }

    #[test]
    fn no_requests_is_a_passing_report_of_zeros() {
        let rep = report(&Registry::new(), 0);
        assert_eq!(rep.total_requests, 0);
        assert_eq!(rep.requests_per_second, 0.0);
        assert_eq!(rep.error_rate_percent.value, 0.0);
        assert_eq!(rep.error_rate_percent.status, Status::Pass);
        assert_eq!(rep.response_time_avg_ms.status, Status::Pass);
        assert_eq!(rep.response_time_p95_ms, None);
        assert!(rep.top_routes.is_empty());
    }

    #[test]
    fn figures_are_computed_and_graded_against_the_runbook() {
        let r = Registry::new();
        request(&r, "/api/a", "2xx", 0.1, 90);
        request(&r, "/api/a", "5xx", 0.1, 4);
        request(&r, "/api/b", "4xx", 0.9, 6);
        r.gauge(names::HTTP_REQUESTS_IN_FLIGHT, &[]).set(2.0);
        r.counter(names::HTTP_PANICS_TOTAL, &[]).increment(1);
        let rep = report(&r, 50);
        assert_eq!(rep.total_requests, 100);
        assert_eq!(rep.requests_per_second, 2.0);
        assert_eq!(
            (rep.server_errors, rep.client_errors, rep.panics),
            (4, 6, 1)
        );
        assert_eq!(rep.in_flight, 2.0);
        // 94 x 100 ms + 6 x 900 ms = 14.8 s over 100 requests: 148 ms, within target.
        assert_eq!(rep.response_time_avg_ms.value, 148.0);
        assert_eq!(rep.response_time_avg_ms.status, Status::Pass);
        // 4 % 5xx: past the 2 % warning, under the 5 % critical.
        assert_eq!(rep.error_rate_percent.value, 4.0);
        assert_eq!(rep.error_rate_percent.status, Status::Warn);
        // The 95th request lies in the 0.5..1 s bucket.
        let p95 = rep.response_time_p95_ms.unwrap_or_default();
        assert!((500.0..=1000.0).contains(&p95), "{p95}");
        assert_eq!(rep.top_routes[0].route, "/api/a");
        assert_eq!(rep.top_routes[0].requests, 94);
        assert_eq!(rep.top_routes[0].avg_ms, Some(100.0));
        assert_eq!(rep.top_routes[1].error_rate_percent, 0.0);
        let json = serde_json::to_value(&rep).unwrap_or_default();
        assert_eq!(json["errorRatePercent"]["status"], "warn");
        assert_eq!(json["errorRatePercent"]["target"], 1.0);
        assert_eq!(json["topRoutes"][0]["avgMs"], 100.0);
    }

    #[test]
    fn top_routes_are_capped_and_ordered_by_volume() {
        let r = Registry::new();
        for i in 0..15u64 {
            request(&r, &format!("/r{i:02}"), "2xx", 0.01, i + 1);
        }
        let rep = report(&r, 1);
        assert_eq!(rep.top_routes.len(), TOP_ROUTES);
        assert_eq!(rep.top_routes[0].route, "/r14");
        assert!(
            rep.top_routes
                .windows(2)
                .all(|w| w[0].requests >= w[1].requests)
        );
    }
}
