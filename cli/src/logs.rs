//! The services' logs, searched and followed across services (`shopctl logs`): each service
//! writes one JSON object a line (`timestamp`, `level`, `service`, `message`, and the fields of
//! its spans: `request_id`, `trace_id`, `span_id`, `parent_id`, …). A line that is not JSON is
//! kept as text, never dropped. Lines come from the files of a local shop ([`files`]) or from
//! the pods of a Kubernetes deployment ([`pods`]); [`trace`] rebuilds one request's path across
//! services from the lines that carry its trace id.

pub mod files;
pub mod pods;
pub mod rotate;
pub mod trace;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// Severity of a line, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Everything.
    Trace,
    /// Detail for debugging.
    Debug,
    /// Normal operation (every served request).
    Info,
    /// Something to look at (a failed request, a retry).
    Warn,
    /// Something broke.
    Error,
}

impl Level {
    /// Reads `INFO`, `info`, `warning`, …
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "trace" => Some(Self::Trace),
            "debug" => Some(Self::Debug),
            "info" => Some(Self::Info),
            "warn" | "warning" => Some(Self::Warn),
            "error" | "fatal" | "critical" => Some(Self::Error),
            _ => None,
        }
    }

    /// Upper-case name, as logs print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// One line of a service's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The service that wrote it (its `service` field, else the source it came from).
    pub service: String,
    /// When, if the line says (a text line takes the time of the line before it).
    pub timestamp: Option<DateTime<Utc>>,
    /// Severity, if the line says.
    pub level: Option<Level>,
    /// The message (the whole line for text).
    pub message: String,
    /// Every field of a JSON line; empty for text.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub fields: Map<String, Value>,
    /// Whether the line was not JSON.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub text: bool,
}

impl Entry {
    /// Reads one line written by `source` (a service name); `previous` is the time of the line
    /// before it in the same source, which a text line inherits.
    pub fn parse(line: &str, source: &str, previous: Option<DateTime<Utc>>) -> Self {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.starts_with('{')
            && let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(line)
        {
            let text = |key: &str| fields.get(key).and_then(Value::as_str);
            return Self {
                service: text("service").unwrap_or(source).to_owned(),
                timestamp: text("timestamp")
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .or(previous),
                level: text("level").and_then(Level::parse),
                message: text("message").unwrap_or_default().to_owned(),
                fields,
                text: false,
            };
        }
        Self {
            service: source.to_owned(),
            timestamp: previous,
            level: None,
            message: line.to_owned(),
            fields: Map::new(),
            text: true,
        }
    }

    /// A field as text.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// A field as a number.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.fields.get(key).and_then(Value::as_f64)
    }

    /// The line as a person reads it: time, level, service, message, then the fields that say
    /// what the message is about.
    pub fn render(&self) -> String {
        if self.text {
            return format!("{:<12} {}", self.service, self.message);
        }
        let time = self.timestamp.map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        );
        let mut line = format!(
            "{time} {:<5} {:<12} {}",
            self.level.map_or("-", Level::as_str),
            self.service,
            self.message
        );
        for (key, value) in &self.fields {
            if matches!(
                key.as_str(),
                "timestamp" | "level" | "service" | "message" | "target" | "span_id" | "parent_id"
            ) {
                continue;
            }
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            line.push(' ');
            line.push_str(key);
            line.push('=');
            line.push_str(&value);
        }
        line
    }
}

/// Which lines to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these services (all when empty).
    pub services: Vec<String>,
    /// Only at or above this level (a line without a level passes).
    pub level: Option<Level>,
    /// Only lines at or after this time (a line without a time passes).
    pub since: Option<DateTime<Utc>>,
    /// Only lines containing this text, as written (like `grep -F`).
    pub grep: Option<String>,
    /// Only lines of this trace.
    pub trace: Option<String>,
}

impl Filter {
    /// Text every line shown must contain, which a reader may look for before parsing: the
    /// trace id, else the `--grep` text.
    pub fn needle(&self) -> Option<&str> {
        self.trace.as_deref().or(self.grep.as_deref())
    }

    /// Whether the raw `line` can be skipped without parsing it.
    pub fn rejects_raw(&self, line: &str) -> bool {
        self.grep.as_deref().is_some_and(|g| !line.contains(g))
            || self.trace.as_deref().is_some_and(|t| !line.contains(t))
    }

    /// Whether the service is one to read at all.
    pub fn wants_service(&self, service: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == service)
    }

    /// Whether `entry` (whose raw line passed [`Filter::rejects_raw`]) is shown.
    pub fn accepts(&self, entry: &Entry) -> bool {
        self.wants_service(&entry.service)
            && self
                .level
                .is_none_or(|min| entry.level.is_none_or(|l| l >= min))
            && self
                .since
                .is_none_or(|since| entry.timestamp.is_none_or(|t| t >= since))
            && self
                .trace
                .as_deref()
                .is_none_or(|id| entry.field("trace_id") == Some(id))
    }
}

/// Orders entries by time (a stable sort: lines of one source keep their order on a tie).
pub fn by_time(entries: &mut [Entry]) {
    entries.sort_by_key(|e| e.timestamp);
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"timestamp":"2026-12-05T10:00:00.000001Z","level":"WARN","service":"order","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","message":"request failed","status":502,"latency_ms":12.5,"route":"/api/orders","target":"kit"}"#;

    #[test]
    fn a_json_line_is_read_field_by_field() {
        let entry = Entry::parse(LINE, "fallback", None);
        assert_eq!(entry.service, "order");
        assert_eq!(entry.level, Some(Level::Warn));
        assert_eq!(entry.message, "request failed");
        assert_eq!(entry.number("status"), Some(502.0));
        assert_eq!(
            entry.timestamp.unwrap().to_rfc3339(),
            "2026-12-05T10:00:00.000001+00:00"
        );
        let shown = entry.render();
        assert!(
            shown.starts_with("2026-12-05T10:00:00.000Z WARN  order        request failed"),
            "{shown}"
        );
        assert!(shown.contains("status=502") && shown.contains("route=/api/orders"));
        assert!(!shown.contains("span_id"), "{shown}");
    }

    #[test]
    fn a_line_that_is_not_json_is_kept_as_text_with_the_time_before_it() {
        let before = Entry::parse(LINE, "order", None).timestamp;
        for raw in ["thread 'main' panicked at src/main.rs:1:1", "{not json", ""] {
            let entry = Entry::parse(raw, "payment", before);
            assert!(entry.text);
            assert_eq!(entry.service, "payment");
            assert_eq!(entry.message, raw);
            assert_eq!(entry.timestamp, before);
            assert_eq!(entry.render(), format!("payment      {raw}"));
        }
    }

    #[test]
    fn filters_combine_and_let_text_lines_through_where_they_cannot_judge() {
        let json = Entry::parse(LINE, "order", None);
        let text = Entry::parse("panic: boom", "order", None);
        let mut filter = Filter {
            level: Some(Level::Error),
            ..Filter::default()
        };
        assert!(!filter.accepts(&json));
        assert!(filter.accepts(&text));
        filter.level = Some(Level::Warn);
        assert!(filter.accepts(&json));
        filter.services = vec!["payment".to_owned()];
        assert!(!filter.accepts(&json));
        filter.services = vec!["order".to_owned()];
        filter.since = Some("2026-12-05T10:00:01Z".parse().unwrap());
        assert!(!filter.accepts(&json));
        filter.since = Some("2026-12-05T09:59:59Z".parse().unwrap());
        assert!(filter.accepts(&json));
        filter.trace = Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned());
        assert!(filter.accepts(&json));
        assert!(!filter.accepts(&text), "a text line has no trace");
        filter.grep = Some("latency".to_owned());
        assert!(!filter.rejects_raw(LINE));
        filter.grep = Some("checkout".to_owned());
        assert!(filter.rejects_raw(LINE));
        assert_eq!(filter.needle(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }
}
