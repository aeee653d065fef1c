//! The names of the metrics the platform records, shared by the code that records them (the
//! server's middleware, the store, the sampler) and the code that reads them (reports,
//! alert rules, the dashboard), so that the two cannot drift apart.
//!
//! Names follow Prometheus conventions: snake case, base units in the name (`_seconds`,
//! `_bytes`, `_ratio`), counters ending in `_total`.

/// Counter of HTTP requests answered, labelled [`LABEL_METHOD`], [`LABEL_ROUTE`] and
/// [`LABEL_STATUS`] (the class, see [`status_class`]).
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Histogram of HTTP request durations in seconds, labelled [`LABEL_METHOD`] and
/// [`LABEL_ROUTE`].
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
/// Gauge of HTTP requests being served now.
pub const HTTP_REQUESTS_IN_FLIGHT: &str = "http_requests_in_flight";
/// Counter of handlers that panicked (answered 500 by the catch-panic layer).
pub const HTTP_PANICS_TOTAL: &str = "http_panics_total";

/// Label: the HTTP method (`GET`).
pub const LABEL_METHOD: &str = "method";
/// Label: the matched route template (`/api/entities/{id}`), never the raw path, so that
/// ids do not explode the number of series.
pub const LABEL_ROUTE: &str = "route";
/// Label: the status class (`2xx`, `4xx`, `5xx`).
pub const LABEL_STATUS: &str = "status";
/// Label: the name of a database operation (`rollups.insert`).
pub const LABEL_OPERATION: &str = "operation";

/// Gauge: CPU busy across all cores, 0 to 1.
pub const SYSTEM_CPU_USAGE_RATIO: &str = "system_cpu_usage_ratio";
/// Gauge: system memory in use, bytes.
pub const SYSTEM_MEMORY_USED_BYTES: &str = "system_memory_used_bytes";
/// Gauge: system memory in all, bytes.
pub const SYSTEM_MEMORY_TOTAL_BYTES: &str = "system_memory_total_bytes";
/// Gauge: bytes used on the filesystem holding the data directory.
pub const SYSTEM_DISK_USED_BYTES: &str = "system_disk_used_bytes";
/// Gauge: size of the filesystem holding the data directory, bytes.
pub const SYSTEM_DISK_TOTAL_BYTES: &str = "system_disk_total_bytes";
/// Gauge: this process's resident set size, bytes.
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";

/// Histogram of database query durations in seconds, labelled [`LABEL_OPERATION`];
/// recorded by the store through the global `metrics` facade.
pub const DB_QUERY_DURATION_SECONDS: &str = "legalops_db_query_duration_seconds";
/// Counter of snapshots a metrics sink failed to accept.
pub const METRICS_SINK_ERRORS_TOTAL: &str = "legalops_metrics_sink_errors_total";

/// The status class label of an HTTP status code: `1xx` to `5xx`, `other` outside 100-599.
pub fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// The built-in help text of a metric named here, used when nothing was described.
pub fn help(name: &str) -> Option<&'static str> {
    Some(match name {
        HTTP_REQUESTS_TOTAL => "HTTP requests answered, by method, route and status class.",
        HTTP_REQUEST_DURATION_SECONDS => "HTTP request duration in seconds, by method and route.",
        HTTP_REQUESTS_IN_FLIGHT => "HTTP requests being served now.",
        HTTP_PANICS_TOTAL => "HTTP handlers that panicked.",
        SYSTEM_CPU_USAGE_RATIO => "CPU busy across all cores, 0 to 1.",
        SYSTEM_MEMORY_USED_BYTES => "System memory in use, in bytes.",
        SYSTEM_MEMORY_TOTAL_BYTES => "System memory in all, in bytes.",
        SYSTEM_DISK_USED_BYTES => "Bytes used on the filesystem holding the data directory.",
        SYSTEM_DISK_TOTAL_BYTES => "Size of the filesystem holding the data directory, in bytes.",
        PROCESS_RESIDENT_MEMORY_BYTES => "Resident memory of this process, in bytes.",
        DB_QUERY_DURATION_SECONDS => "Database query duration in seconds, by operation.",
        METRICS_SINK_ERRORS_TOTAL => "Metric snapshots a sink failed to accept.",
        _ => return None,
    })
}

/// `name` in Prometheus' metric-name alphabet `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn sanitize_name(name: &str) -> String {
    sanitize(name, true)
}

/// `name` in Prometheus' label-name alphabet `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn sanitize_label(name: &str) -> String {
    sanitize(name, false)
}

fn sanitize(name: &str, colon: bool) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_their_class() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(99), "other");
        assert_eq!(status_class(600), "other");
    }

    #[test]
    fn every_name_here_has_help_and_counters_end_in_total() {
        let names = [
            HTTP_REQUESTS_TOTAL,
            HTTP_REQUEST_DURATION_SECONDS,
            HTTP_REQUESTS_IN_FLIGHT,
            HTTP_PANICS_TOTAL,
            SYSTEM_CPU_USAGE_RATIO,
            SYSTEM_MEMORY_USED_BYTES,
            SYSTEM_MEMORY_TOTAL_BYTES,
            SYSTEM_DISK_USED_BYTES,
            SYSTEM_DISK_TOTAL_BYTES,
            PROCESS_RESIDENT_MEMORY_BYTES,
            DB_QUERY_DURATION_SECONDS,
            METRICS_SINK_ERRORS_TOTAL,
        ];
        for n in names {
            assert!(help(n).is_some(), "{n}");
        }
        assert!(help("unknown").is_none());
    }

    #[test]
    fn names_are_sanitised_to_the_prometheus_alphabet() {
        assert_eq!(sanitize_name("http.requests-total"), "http_requests_total");
        assert_eq!(sanitize_name("ns:metric"), "ns:metric");
        assert_eq!(sanitize_name("1x"), "_1x");
        assert_eq!(sanitize_name(""), "_");
        assert_eq!(sanitize_label("a:b"), "a_b");
        assert_eq!(sanitize_label("émoji"), "_moji");
    }
}
