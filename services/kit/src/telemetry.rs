//! JSON log lines on stdout: `{"timestamp","level","service","message","target",…}` plus every
//! field of the enclosing spans (so a request's `request_id` and `trace_id` appear on each line
//! logged while serving it), flattened to the top level where log tools expect them.

use std::{fmt, io::Write, sync::OnceLock};

use serde_json::{Map, Value};
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{EnvFilter, Layer, layer::Context, prelude::*, registry::LookupSpan};

/// Where log lines go.
#[derive(Clone)]
pub enum LogTarget {
    /// Standard output (services).
    Stdout,
    /// Standard error (CLI commands whose stdout is data).
    Stderr,
    /// A function given each line (ending in its newline), the service it belongs to (its
    /// `service` field: a span field of that name, as `up --in-process` puts around each
    /// service, wins over the logger's own name) and its level: where several services share a
    /// process, each line goes to its service's file.
    Sink(LineSink),
}

/// What [`LogTarget::Sink`] calls with each line: its service, its level and its bytes.
pub type LineSink = std::sync::Arc<dyn Fn(&str, tracing::Level, &[u8]) + Send + Sync>;

impl fmt::Debug for LogTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stdout => "Stdout",
            Self::Stderr => "Stderr",
            Self::Sink(_) => "Sink",
        })
    }
}

static INIT: OnceLock<()> = OnceLock::new();

/// Installs the global JSON logger for `service` with an `EnvFilter` directive (`RUST_LOG` wins
/// when set). Later calls are ignored, so tests and in-process mode may call it freely.
pub fn init(service: &'static str, filter: &str, target: LogTarget) {
    INIT.get_or_init(|| {
        let filter = EnvFilter::try_from_default_env()
            .or_else(|_| EnvFilter::try_new(filter))
            .unwrap_or_else(|_| EnvFilter::new("info"));
        let layer = JsonLayer { service, target }.with_filter(filter);
        // Another subscriber may already be installed (a test harness): keep it.
        let _ = tracing_subscriber::registry().with(layer).try_init();
    });
}

struct JsonLayer {
    service: &'static str,
    target: LogTarget,
}

/// Fields recorded on a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

impl<S> Layer<S> for JsonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
                values.record(&mut JsonVisitor(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), event.metadata().level().as_str().into());
        line.insert("service".into(), self.service.into());
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    for (key, value) in fields {
                        line.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        line.insert("target".into(), event.metadata().target().into());
        let service = match line.get("service") {
            Some(Value::String(service)) => service.clone(),
            _ => self.service.to_owned(),
        };
        let mut bytes = serde_json::to_vec(&Value::Object(line)).unwrap_or_default();
        bytes.push(b'\n');
        // A failed log write must never take a request down.
        let _ = match &self.target {
            LogTarget::Stdout => std::io::stdout().lock().write_all(&bytes),
            LogTarget::Stderr => std::io::stderr().lock().write_all(&bytes),
            LogTarget::Sink(sink) => {
                sink(&service, *event.metadata().level(), &bytes);
                Ok(())
            }
        };
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), format!("{value:#}").into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}
