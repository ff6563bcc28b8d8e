//! W3C Trace Context (`traceparent`) and request ids.
//!
//! Each request gets a [`TraceContext`]: the caller's trace id when it sent a valid
//! `traceparent`, a fresh one otherwise, and a new span id for this hop. Kit's HTTP client puts
//! [`TraceContext::child_traceparent`] on outgoing calls so one trace id follows a checkout
//! through every service's logs.

use axum::http::HeaderMap;
use uuid::Uuid;

/// Header carrying the request id.
pub const REQUEST_ID: &str = "x-request-id";
/// W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

/// This hop's position in a distributed trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits, shared by every hop.
    pub trace_id: String,
    /// 16 lowercase hex digits identifying this hop.
    pub span_id: String,
    /// The caller's span id, when there was a caller.
    pub parent_id: Option<String>,
    /// Whether the caller asked for sampling.
    pub sampled: bool,
}

impl TraceContext {
    /// Continues the caller's trace from `traceparent`, or starts a new one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(TRACEPARENT)
            .and_then(|value| value.to_str().ok())
            .and_then(Self::parse)
            .unwrap_or_else(Self::new_root)
    }

    /// A new trace with no parent.
    pub fn new_root() -> Self {
        Self {
            trace_id: Uuid::new_v4().simple().to_string(),
            span_id: new_span_id(),
            parent_id: None,
            sampled: true,
        }
    }

    /// Parses a version-00 `traceparent` header; `None` when malformed or all-zero.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace_id, parent_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if version != "00" || parts.next().is_some() || !hex(trace_id, 32) || !hex(parent_id, 16) {
            return None;
        }
        if trace_id.bytes().all(|b| b == b'0') || parent_id.bytes().all(|b| b == b'0') {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self {
            trace_id: trace_id.to_owned(),
            span_id: new_span_id(),
            parent_id: Some(parent_id.to_owned()),
            sampled: flags & 1 == 1,
        })
    }

    /// The `traceparent` to send on a call made while serving this request.
    pub fn child_traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

fn new_span_id() -> String {
    Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// The caller's request id when it is sane (1–128 visible ASCII characters), else a new one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_a_valid_traceparent() {
        let ctx =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.parent_id.as_deref(), Some("00f067aa0ba902b7"));
        assert!(ctx.sampled);
        let child = ctx.child_traceparent();
        assert!(
            child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{child}"
        );
        assert_ne!(&child[36..52], "00f067aa0ba902b7");
    }

    #[test]
    fn rejects_malformed_traceparents() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "accepted {bad:?}");
        }
    }

    #[test]
    fn replaces_insane_request_ids() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, "abc-123".parse().unwrap());
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID, "a b".parse().unwrap());
        assert_ne!(request_id(&headers), "a b");
    }
}
