//! Logging: JSON lines (one object per event, span fields such as `request_id` merged in)
//! or human-readable output on a terminal, plus a rotating JSON log file under
//! `<data_dir>/logs`. Every field whose name marks a secret (legal-domain.md's list, in
//! [`legalops_core::redact`]) is replaced by `[REDACTED]` before it is written anywhere,
//! and values are JSON-encoded, so a newline in user input cannot forge a log line.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use legalops_core::redact::{REDACTED, is_secret_field};
use legalops_core::{Error, Result, SharedClock};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::debug_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat};
use crate::rotate::RotatingFile;

/// Collects an event's or a span's fields into a JSON map, redacting secrets.
#[derive(Default)]
struct JsonVisitor(Map<String, Value>);

impl JsonVisitor {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let value = if is_secret_field(name) {
            Value::from(REDACTED)
        } else {
            value
        };
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for JsonVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

/// A span's fields, kept in its extensions for the events inside it.
struct SpanFields(Map<String, Value>);

/// A `tracing` layer that writes one JSON object per event to a shared writer.
pub struct JsonLayer {
    out: Arc<Mutex<dyn Write + Send>>,
}

impl JsonLayer {
    /// Writes to `out`.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Self {
            out: Arc::new(Mutex::new(out)),
        }
    }
}

impl<S> Layer<S> for JsonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        // The stdout and file layers share one registry: the first to see the span
        // records its fields for both.
        if ext.get_mut::<SpanFields>().is_none() {
            let mut v = JsonVisitor::default();
            attrs.record(&mut v);
            ext.insert(SpanFields(v.0));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(fields) = ext.get_mut::<SpanFields>() {
                let mut v = JsonVisitor(std::mem::take(&mut fields.0));
                values.record(&mut v);
                fields.0 = v.0;
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Map::new();
        let now = time::OffsetDateTime::now_utc();
        let ts = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        line.insert("timestamp".into(), Value::from(ts));
        line.insert(
            "level".into(),
            Value::from(event.metadata().level().as_str()),
        );
        line.insert("target".into(), Value::from(event.metadata().target()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    for (k, v) in &fields.0 {
                        line.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let mut v = JsonVisitor(line);
        event.record(&mut v);
        let mut text = Value::Object(v.0).to_string();
        text.push('\n');
        // A poisoned writer only means another thread panicked mid-write; keep logging.
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out.write_all(text.as_bytes());
    }
}

/// Keeps the log file's background writer alive; dropping it flushes what is queued.
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the global subscriber: stdout (JSON or pretty) and, if enabled, the rotating
/// file. Fails if a global subscriber is already set.
pub fn init(config: &LogConfig, data_dir: &Path, clock: SharedClock) -> Result<LogGuard> {
    let filter = || {
        EnvFilter::try_new(&config.level)
            .map_err(|e| Error::invalid_config("log.level", format!("not a tracing filter: {e}")))
    };
    let json_stdout = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let stdout_layer = if json_stdout {
        JsonLayer::new(std::io::stdout())
            .with_filter(filter()?)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .fmt_fields(
                debug_fn(|w, field, value| {
                    if is_secret_field(field.name()) {
                        write!(w, "{}={REDACTED}", field.name())
                    } else if field.name() == "message" {
                        write!(w, "{value:?}")
                    } else {
                        write!(w, "{}={value:?}", field.name())
                    }
                })
                .delimited(" "),
            )
            .with_filter(filter()?)
            .boxed()
    };
    let (file_layer, guard) = if config.file {
        let dir = data_dir.join("logs");
        let file = RotatingFile::open(
            &dir,
            "legalops",
            config.rotation,
            config.max_size_mb.saturating_mul(1024 * 1024),
            config.keep,
            clock,
        )
        .map_err(|e| {
            Error::invalid_config("log.file", format!("cannot open {}: {e}", dir.display()))
        })?;
        let (writer, guard) = tracing_appender::non_blocking(file);
        (
            Some(JsonLayer::new(writer).with_filter(filter()?)),
            Some(guard),
        )
    } else {
        (None, None)
    };
    tracing_subscriber::registry()
        .with(stdout_layer)
        .with(file_layer)
        .try_init()
        .map_err(|e| Error::conflict(format!("a global tracing subscriber is already set: {e}")))?;
    Ok(LogGuard { _file: guard })
}

/// Renders `s` for a log message with control characters escaped: for text that is
/// printed outside a JSON field (pretty output).
pub fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(f: impl FnOnce()) -> Vec<Value> {
        let buf = Buf::default();
        let sub = tracing_subscriber::registry().with(JsonLayer::new(buf.clone()));
        tracing::subscriber::with_default(sub, f);
        let bytes = buf.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
            .collect()
    }

    #[test]
    fn secrets_are_redacted_by_field_name() {
        let lines = capture(|| {
            tracing::info!(
                password = "hunter2",
                authorization = "Bearer abc",
                ssn = "123-45-6789",
                user = "ann",
                "login"
            );
        });
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l["password"], REDACTED);
        assert_eq!(l["authorization"], REDACTED);
        assert_eq!(l["ssn"], REDACTED);
        assert_eq!(l["user"], "ann");
        assert_eq!(l["message"], "login");
        let text = l.to_string();
        assert!(!text.contains("hunter2") && !text.contains("abc") && !text.contains("6789"));
    }

    #[test]
    fn span_fields_reach_events_and_newlines_cannot_forge_lines() {
        let lines = capture(|| {
            let span = tracing::info_span!("request", request_id = "r-1", api_key = "k");
            let _g = span.enter();
            tracing::warn!(path = "/x\n{\"level\":\"ERROR\"}", "odd path");
        });
        assert_eq!(lines.len(), 1, "one event is one line");
        assert_eq!(lines[0]["request_id"], "r-1");
        assert_eq!(lines[0]["api_key"], REDACTED);
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[0]["path"], "/x\n{\"level\":\"ERROR\"}");
    }

    #[test]
    fn two_json_layers_share_span_fields_without_panicking() {
        let (a, b) = (Buf::default(), Buf::default());
        let sub = tracing_subscriber::registry()
            .with(JsonLayer::new(a.clone()))
            .with(JsonLayer::new(b.clone()));
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("request", request_id = "r-2");
            span.in_scope(|| tracing::info!("inside"));
        });
        for buf in [a, b] {
            let text = buf
                .0
                .lock()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            assert!(text.contains("\"request_id\":\"r-2\""), "{text}");
        }
    }

    #[test]
    fn control_characters_are_escaped_for_text_output() {
        assert_eq!(escape_control("a\nb\u{1b}[31m"), "a\\u{a}b\\u{1b}[31m");
    }
}
