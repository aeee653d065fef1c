//! The Prometheus text exposition format 0.0.4 of a registry: what `/metrics` serves and
//! `promtool check metrics` accepts.
//!
//! One `# HELP` and one `# TYPE` per family, then its series; histograms as cumulative
//! `_bucket{le=".."}` lines ending in `le="+Inf"`, then `_sum` and `_count`. Names were
//! sanitised at registration (see `registry`), so only label values need escaping here.

use std::fmt::Write as _;

use legalops_core::metrics::{Labels, MetricValue, MetricsSnapshot};
use time::OffsetDateTime;

use super::Registry;
use super::names;

impl Registry {
    /// Every series in the Prometheus text format (content type
    /// `text/plain; version=0.0.4; charset=utf-8`).
    pub fn render_prometheus(&self) -> String {
        // The exposition carries no timestamps, so the snapshot's instant is irrelevant.
        let snapshot = self.snapshot(OffsetDateTime::UNIX_EPOCH);
        render(&snapshot, |family| {
            self.help_for(family)
                .or_else(|| names::help(family).map(str::to_owned))
        })
    }
}

/// The content type of [`Registry::render_prometheus`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders `snapshot` (ordered by name, so a family's series are adjacent); `help` gives a
/// family's help text, if any.
pub(crate) fn render(snapshot: &MetricsSnapshot, help: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut family: Option<&str> = None;
    for sample in &snapshot.samples {
        let name = sample.name.as_str();
        if family != Some(name) {
            family = Some(name);
            let kind = match sample.value {
                MetricValue::Counter { .. } => "counter",
                MetricValue::Gauge { .. } => "gauge",
                MetricValue::Histogram { .. } => "histogram",
            };
            let text = help(name).unwrap_or_else(|| format!("{name} (no description)"));
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&text));
            let _ = writeln!(out, "# TYPE {name} {kind}");
        }
        match &sample.value {
            MetricValue::Counter { value } => {
                line(&mut out, name, &sample.labels, None, &value.to_string())
            }
            MetricValue::Gauge { value } => {
                line(&mut out, name, &sample.labels, None, &float(*value))
            }
            MetricValue::Histogram {
                count,
                sum,
                buckets,
            } => {
                let bucket = format!("{name}_bucket");
                for (bound, cumulative) in buckets {
                    let le = float(*bound);
                    line(
                        &mut out,
                        &bucket,
                        &sample.labels,
                        Some(&le),
                        &cumulative.to_string(),
                    );
                }
                line(
                    &mut out,
                    &bucket,
                    &sample.labels,
                    Some("+Inf"),
                    &count.to_string(),
                );
                line(
                    &mut out,
                    &format!("{name}_sum"),
                    &sample.labels,
                    None,
                    &float(*sum),
                );
                line(
                    &mut out,
                    &format!("{name}_count"),
                    &sample.labels,
                    None,
                    &count.to_string(),
                );
            }
        }
    }
    out
}

fn line(out: &mut String, name: &str, labels: &Labels, le: Option<&str>, value: &str) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let pairs = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(le.map(|le| ("le", le)));
        for (i, (k, v)) in pairs.enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

/// A float as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, else the shortest decimal.
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        v.to_string()
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry with one series of every kind and awkward label values.
    pub(crate) fn sample_registry() -> Registry {
        let r = Registry::new();
        r.describe("http_requests", "Requests.\nBy \\ route.");
        let labels = [
            ("method", "GET"),
            ("route", "/a\"b\\c\nd"),
            ("status", "2xx"),
        ];
        r.counter(names::HTTP_REQUESTS_TOTAL, &labels).increment(3);
        r.counter(names::HTTP_PANICS_TOTAL, &[]).increment(0);
        r.gauge(names::HTTP_REQUESTS_IN_FLIGHT, &[]).set(2.0);
        r.gauge("temperature_celsius", &[]).set(f64::NEG_INFINITY);
        let h = r.histogram(
            names::HTTP_REQUEST_DURATION_SECONDS,
            &[("method", "GET"), ("route", "/a")],
        );
        h.record(0.003);
        h.record(0.2);
        h.record(12.0);
        r
    }

    #[test]
    fn renders_every_kind_with_help_type_and_escaped_labels() {
        let text = sample_registry().render_prometheus();
        let expected_counter = "# HELP http_requests_total Requests.\\nBy \\\\ route.\n\
            # TYPE http_requests_total counter\n\
            http_requests_total{method=\"GET\",route=\"/a\\\"b\\\\c\\nd\",status=\"2xx\"} 3\n";
        assert!(text.contains(expected_counter), "{text}");
        assert!(text.contains("# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight 2\n"));
        assert!(text.contains("# HELP http_panics_total HTTP handlers that panicked.\n"));
        assert!(text.contains("temperature_celsius -Inf\n"));
        assert!(text.contains("# HELP temperature_celsius temperature_celsius (no description)\n"));
        let h = "http_request_duration_seconds";
        assert!(text.contains(&format!("# TYPE {h} histogram\n")));
        for l in [
            "_bucket{method=\"GET\",route=\"/a\",le=\"0.005\"} 1\n",
            "_bucket{method=\"GET\",route=\"/a\",le=\"0.25\"} 2\n",
            "_bucket{method=\"GET\",route=\"/a\",le=\"10\"} 2\n",
            "_bucket{method=\"GET\",route=\"/a\",le=\"+Inf\"} 3\n",
            "_sum{method=\"GET\",route=\"/a\"} 12.203\n",
            "_count{method=\"GET\",route=\"/a\"} 3\n",
        ] {
            assert!(
                text.contains(&format!("{h}{l}")),
                "missing {h}{l} in\n{text}"
            );
        }
    }

    #[test]
    fn help_and_type_appear_once_per_family() {
        let r = Registry::new();
        r.counter("jobs", &[("job", "a")]).increment(1);
        r.counter("jobs", &[("job", "b")]).increment(1);
        let text = r.render_prometheus();
        assert_eq!(text.matches("# TYPE jobs_total counter").count(), 1);
        assert_eq!(text.matches("# HELP jobs_total").count(), 1);
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn an_empty_registry_renders_nothing() {
        assert_eq!(Registry::new().render_prometheus(), "");
    }

    #[test]
    fn special_floats_use_prometheus_spelling() {
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(0.25), "0.25");
        assert_eq!(float(1.0), "1");
    }
}
