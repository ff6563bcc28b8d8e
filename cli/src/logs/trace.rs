//! One request's path through the shop, rebuilt from the log lines of its trace: each service
//! logs a line when it has served a request (`request served` / `request failed`) with its span
//! id, the caller's span id (`parent_id`), the status and the latency. Those lines are the hops;
//! a hop's children are the calls it made; every other line of the trace is shown under the
//! hop it was logged in.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::Entry;

/// One service's handling of one request.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    /// The service.
    pub service: String,
    /// HTTP method.
    pub method: String,
    /// The route template (else the path).
    pub route: String,
    /// Answer status.
    pub status: u16,
    /// When it started, from its end and latency.
    pub started: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// Its span id.
    pub span_id: String,
    /// The caller's span id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Depth in the tree (0 for the first hop).
    pub depth: usize,
    /// The other lines logged while serving it, in order.
    pub lines: Vec<Entry>,
}

/// A trace as a tree of hops.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// The trace id.
    pub trace_id: String,
    /// The hops, depth first, each after its parent and its earlier siblings.
    pub hops: Vec<Hop>,
    /// Lines of the trace logged outside any hop found.
    pub loose: Vec<Entry>,
    /// The services involved, in order of first appearance.
    pub services: Vec<String>,
    /// From the first hop's start to the last hop's end, in milliseconds.
    pub span_ms: f64,
}

/// `ms` milliseconds as a duration (to the microsecond; log latencies are far from the limits).
#[allow(clippy::cast_possible_truncation)]
fn millis(ms: f64) -> Duration {
    Duration::microseconds((ms * 1000.0).round() as i64)
}

fn is_hop(entry: &Entry) -> bool {
    matches!(entry.message.as_str(), "request served" | "request failed")
        && entry.field("span_id").is_some()
        && entry.timestamp.is_some()
}

/// Builds the tree of `trace_id` from its lines (already filtered to the trace).
pub fn build(trace_id: &str, entries: Vec<Entry>) -> Trace {
    let mut hops: Vec<Hop> = Vec::new();
    let mut others = Vec::new();
    for entry in entries {
        if !is_hop(&entry) {
            others.push(entry);
            continue;
        }
        let duration_ms = entry.number("latency_ms").unwrap_or(0.0);
        let ended = entry.timestamp.unwrap_or_default();
        let started = ended - millis(duration_ms);
        hops.push(Hop {
            service: entry.service.clone(),
            method: entry.field("method").unwrap_or("-").to_owned(),
            route: entry
                .field("route")
                .or_else(|| entry.field("path"))
                .unwrap_or("-")
                .to_owned(),
            status: entry
                .fields
                .get("status")
                .and_then(serde_json::Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0),
            started,
            duration_ms,
            span_id: entry.field("span_id").unwrap_or_default().to_owned(),
            parent_id: entry.field("parent_id").map(str::to_owned),
            depth: 0,
            lines: Vec::new(),
        });
    }
    hops.sort_by_key(|h| h.started);
    let mut loose = Vec::new();
    for entry in others {
        let span = entry.field("span_id");
        match hops.iter_mut().find(|h| Some(h.span_id.as_str()) == span) {
            Some(hop) => hop.lines.push(entry),
            None => loose.push(entry),
        }
    }
    // Depth-first from the roots (hops whose caller is not among them), children by start.
    let known: std::collections::HashSet<String> = hops.iter().map(|h| h.span_id.clone()).collect();
    let mut ordered = Vec::with_capacity(hops.len());
    let mut stack: Vec<(usize, Hop)> = Vec::new();
    let (roots, mut rest): (Vec<Hop>, Vec<Hop>) = hops.into_iter().partition(|h| {
        h.parent_id
            .as_ref()
            .is_none_or(|parent| !known.contains(parent))
    });
    for root in roots.into_iter().rev() {
        stack.push((0, root));
    }
    while let Some((depth, mut hop)) = stack.pop() {
        let (children, others): (Vec<Hop>, Vec<Hop>) = rest
            .into_iter()
            .partition(|h| h.parent_id.as_deref() == Some(hop.span_id.as_str()));
        rest = others;
        for child in children.into_iter().rev() {
            stack.push((depth + 1, child));
        }
        hop.depth = depth;
        ordered.push(hop);
    }
    let mut services: Vec<String> = Vec::new();
    for hop in &ordered {
        if !services.contains(&hop.service) {
            services.push(hop.service.clone());
        }
    }
    let first = ordered.iter().map(|h| h.started).min();
    let last = ordered
        .iter()
        .map(|h| h.started + millis(h.duration_ms))
        .max();
    #[allow(clippy::cast_precision_loss)]
    let span_ms = match (first, last) {
        (Some(a), Some(b)) => (b - a).num_microseconds().unwrap_or(0) as f64 / 1000.0,
        _ => 0.0,
    };
    Trace {
        trace_id: trace_id.to_owned(),
        hops: ordered,
        loose,
        services,
        span_ms,
    }
}

impl Trace {
    /// The tree as text: each hop at its offset from the trace's start, indented by depth.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut text = format!(
            "trace {}: {} hops across {} services ({}), {:.1} ms",
            self.trace_id,
            self.hops.len(),
            self.services.len(),
            self.services.join(", "),
            self.span_ms
        );
        let Some(start) = self.hops.iter().map(|h| h.started).min() else {
            text.push_str("\nno served request of this trace is in the logs");
            return text;
        };
        let _ = write!(
            text,
            "\n{:>10}  {:<48} {:>6} {:>10}",
            "AT (ms)", "HOP", "STATUS", "TOOK (ms)"
        );
        for hop in &self.hops {
            #[allow(clippy::cast_precision_loss)]
            let at = (hop.started - start).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            let name = format!(
                "{}{} {} {}",
                "  ".repeat(hop.depth),
                hop.service,
                hop.method,
                hop.route
            );
            let _ = write!(
                text,
                "\n{at:>10.1}  {name:<48} {:>6} {:>10.1}",
                hop.status, hop.duration_ms
            );
            for line in &hop.lines {
                let _ = write!(
                    text,
                    "\n{:>10}  {}  {} {}",
                    "",
                    "  ".repeat(hop.depth + 1),
                    line.level.map_or("-", super::Level::as_str),
                    line.message
                );
            }
        }
        for line in &self.loose {
            let _ = write!(text, "\n{}", line.render());
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(service: &str, span: &str, parent: Option<&str>, end_ms: i64, took: f64) -> Entry {
        let end = "2026-12-05T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + Duration::milliseconds(end_ms);
        let mut line = serde_json::json!({
            "timestamp": end.to_rfc3339(), "level": "INFO", "service": service,
            "message": "request served", "trace_id": "t", "span_id": span,
            "method": "GET", "route": format!("/api/{service}"), "status": 200, "latency_ms": took,
        });
        if let Some(parent) = parent {
            line["parent_id"] = parent.into();
        }
        Entry::parse(&line.to_string(), service, None)
    }

    #[test]
    fn hops_nest_under_their_callers_in_start_order() {
        let mut note = hop("order", "o", Some("f"), 80, 1.0);
        note.message = "saga step done".to_owned();
        note.fields.remove("route");
        let entries = vec![
            hop("payment", "p", Some("o"), 90, 20.0),
            hop("gateway", "g", None, 100, 100.0),
            note,
            hop("order", "o", Some("f"), 95, 80.0),
            hop("inventory", "i", Some("o"), 40, 10.0),
            hop("frontend", "f", Some("g"), 98, 95.0),
            hop("notification", "n", Some("o"), 400, 2.0),
        ];
        let trace = build("t", entries);
        let order: Vec<(&str, usize)> = trace
            .hops
            .iter()
            .map(|h| (h.service.as_str(), h.depth))
            .collect();
        assert_eq!(
            order,
            [
                ("gateway", 0),
                ("frontend", 1),
                ("order", 2),
                ("inventory", 3),
                ("payment", 3),
                ("notification", 3)
            ]
        );
        assert_eq!(
            trace.hops[2].lines.len(),
            1,
            "the order's own line sits under it"
        );
        assert_eq!(trace.services.len(), 6);
        assert!((trace.span_ms - 400.0).abs() < 0.01, "{}", trace.span_ms);
        let text = trace.render();
        assert!(text.contains("6 hops across 6 services"), "{text}");
        assert!(
            text.contains("      inventory GET /api/inventory"),
            "{text}"
        );
        assert!(text.contains("saga step done"), "{text}");
    }

    #[test]
    fn an_empty_trace_says_so() {
        let trace = build("abc", Vec::new());
        assert!(trace.render().contains("no served request of this trace"));
    }
}
