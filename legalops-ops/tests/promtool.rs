//! The Prometheus exposition of a registry holding every kind of metric, checked by the
//! reference linter: `promtool check metrics` (from the `prometheus` package).
//!
//! Skipped with a note when promtool is not installed; under `CI=true` a missing promtool
//! is a failure, so that CI never passes without having run the check.

use std::io::Write;
use std::process::{Command, Stdio};

use legalops_ops::metrics::{Registry, names};

fn registry_with_every_kind() -> Registry {
    let r = Registry::new();
    let labels = [
        ("method", "GET"),
        ("route", "/api/a\"b\\c\nd"),
        ("status", "2xx"),
    ];
    r.counter(names::HTTP_REQUESTS_TOTAL, &labels).increment(7);
    r.counter(names::HTTP_PANICS_TOTAL, &[]).increment(0);
    // A counter named without `_total` gains it; a name with bad characters is sanitised.
    r.counter("legalops.jobs-run", &[("job", "backup")])
        .increment(1);
    r.gauge(names::HTTP_REQUESTS_IN_FLIGHT, &[]).set(1.0);
    r.gauge(names::SYSTEM_MEMORY_USED_BYTES, &[]).set(1.5e9);
    r.gauge(names::SYSTEM_CPU_USAGE_RATIO, &[]).set(0.25);
    let h = r.histogram(
        names::HTTP_REQUEST_DURATION_SECONDS,
        &[("method", "GET"), ("route", "/api/a")],
    );
    for v in [0.001, 0.02, 0.3, 4.0, 60.0] {
        h.record(v);
    }
    r.histogram(
        names::DB_QUERY_DURATION_SECONDS,
        &[("operation", "rollups.put")],
    )
    .record(0.002);
    r.describe("legalops_jobs_run", "Jobs run, by job.");
    r
}

#[test]
fn promtool_accepts_the_exposition() {
    let text = registry_with_every_kind().render_prometheus();
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(
                !ci,
                "promtool is required under CI=true but could not run: {e}"
            );
            println!("skipped: promtool not found on PATH ({e}); install the prometheus package");
            return;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .expect("writing to promtool's stdin");
    }
    let out = child
        .wait_with_output()
        .expect("promtool runs to completion");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool rejected:\n{report}\n---\n{text}"
    );
    // promtool exits 0 with lint findings too; there must be none.
    assert!(
        report.trim().is_empty(),
        "promtool lint findings:\n{report}\n---\n{text}"
    );
}
