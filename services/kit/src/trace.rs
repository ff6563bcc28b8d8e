//! W3C Trace Context (`traceparent`) and request ids.
//!
//! Each request gets a [`TraceContext`]: the caller's trace id when it sent a valid
//! `traceparent`, a fresh one otherwise, and a new span id for this hop. The request's handler
//! runs [`scope`]d to it, so every call made while serving it — kit's [`ServiceClient`], the
//! storefront's calls, the saga's, an event written to the outbox and relayed later — carries a
//! `traceparent` naming this hop as the parent, and one trace id follows a checkout through
//! every service's logs. Work spawned from a request keeps the trace with [`propagate`].
//!
//! [`ServiceClient`]: crate::client::ServiceClient

use std::future::Future;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// W3C trace context header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

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
            trace_id: random_hex::<16>(),
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
        let mut header = String::with_capacity(55);
        header.push_str("00-");
        header.push_str(&self.trace_id);
        header.push('-');
        header.push_str(&self.span_id);
        header.push_str(if self.sampled { "-01" } else { "-00" });
        header
    }

    /// The `traceparent` header for a call made while serving `trace`; without one, for a call
    /// made while serving the [`current`] request, else for a call that starts a new trace.
    pub fn outgoing(trace: Option<&Self>) -> HeaderValue {
        let header = match trace {
            Some(trace) => trace.child_traceparent(),
            None => current_traceparent().unwrap_or_else(|| Self::new_root().child_traceparent()),
        };
        // Hex digits and dashes only (a parsed or a generated context), so always a valid value.
        HeaderValue::from_maybe_shared(axum::body::Bytes::from(header))
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// What a call needs of the current hop, without an allocation: the trace id, the hop's span
/// id (the callee's parent) and the sampling flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hop {
    trace_id: [u8; 32],
    span_id: [u8; 16],
    sampled: bool,
}

impl Hop {
    fn of(trace: &TraceContext) -> Option<Self> {
        Some(Self {
            trace_id: trace.trace_id.as_bytes().try_into().ok()?,
            span_id: trace.span_id.as_bytes().try_into().ok()?,
            sampled: trace.sampled,
        })
    }

    fn traceparent(&self) -> String {
        let mut header = String::with_capacity(55);
        header.push_str("00-");
        header.push_str(std::str::from_utf8(&self.trace_id).unwrap_or_default());
        header.push('-');
        header.push_str(std::str::from_utf8(&self.span_id).unwrap_or_default());
        header.push_str(if self.sampled { "-01" } else { "-00" });
        header
    }
}

tokio::task_local! {
    static CURRENT: Option<Hop>;
}

/// The trace a request is served in, to [`Current::scope`] its handling with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current(Option<Hop>);

impl Current {
    /// The hop `trace` describes.
    pub fn of(trace: &TraceContext) -> Self {
        Self(Hop::of(trace))
    }

    /// Runs `future` as part of this hop: calls made from it continue the trace.
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self.0, future)
    }
}

/// Runs `future` as the handling of the request traced by `trace`: calls made from it continue
/// the trace.
pub fn scope<F: Future>(trace: &TraceContext, future: F) -> impl Future<Output = F::Output> {
    Current::of(trace).scope(future)
}

/// Runs `future` (work spawned from a request: a saga carried on in the background) in the
/// trace of the request being served now, if any.
pub fn propagate<F: Future>(future: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(CURRENT.try_with(|hop| *hop).ok().flatten(), future)
}

/// The `traceparent` for a call made now, when a request is being served.
pub fn current_traceparent() -> Option<String> {
    CURRENT
        .try_with(|hop| hop.map(|hop| hop.traceparent()))
        .ok()
        .flatten()
}

/// The trace id of the request being served now, if any.
pub fn current_trace_id() -> Option<String> {
    CURRENT
        .try_with(|hop| {
            hop.and_then(|hop| std::str::from_utf8(&hop.trace_id).ok().map(str::to_owned))
        })
        .ok()
        .flatten()
}

fn new_span_id() -> String {
    random_hex::<8>()
}

/// `N` random bytes (never all zero, which W3C trace context forbids) as lower-case hex. From
/// the thread's user-space CSPRNG: ids are made on every request, a system call each would show.
fn random_hex<const N: usize>() -> String {
    use rand::Rng as _;
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; N];
    while bytes.iter().all(|b| *b == 0) {
        rand::rng().fill(&mut bytes[..]);
    }
    let mut text = String::with_capacity(N * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// A new request id: a UUIDv7 (time-ordered) with its random bits from the thread's RNG.
fn new_request_id() -> HeaderValue {
    use rand::Rng as _;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let random: [u8; 10] = rand::rng().random();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned();
    // A hyphenated UUID is always a valid header value.
    HeaderValue::from_maybe_shared(axum::body::Bytes::from(id))
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The caller's request id when it is sane (1–128 of `A-Z a-z 0-9 - _ . :`), else a new one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID)
        .filter(|id| {
            let id = id.as_bytes();
            !id.is_empty()
                && id.len() <= 128
                && id
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map_or_else(new_request_id, HeaderValue::clone)
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

    #[tokio::test]
    async fn calls_made_while_serving_a_request_continue_its_trace() {
        assert_eq!(current_traceparent(), None);
        let outside = TraceContext::outgoing(None);
        let request =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let expected = format!("00-{}-{}-01", request.trace_id, request.span_id);
        let (inside, spawned) = scope(&request, async {
            let inside = TraceContext::outgoing(None);
            let spawned = tokio::spawn(propagate(async { current_traceparent() }))
                .await
                .unwrap();
            (inside, spawned)
        })
        .await;
        assert_eq!(inside, expected.as_str());
        assert_eq!(spawned.as_deref(), Some(expected.as_str()));
        assert_ne!(
            &outside.to_str().unwrap()[3..35],
            request.trace_id,
            "a new root outside"
        );
        let unscoped = tokio::spawn(async { current_traceparent() }).await.unwrap();
        assert_eq!(unscoped, None, "a plain spawn does not inherit the trace");
    }

    #[test]
    fn replaces_insane_request_ids() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, "abc-123".parse().unwrap());
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID, "a b".parse().unwrap());
        assert_ne!(request_id(&headers), "a b");
    }

    #[test]
    fn new_ids_are_well_formed_and_distinct() {
        let root = TraceContext::new_root();
        assert_eq!(root.trace_id.len(), 32);
        assert_eq!(root.span_id.len(), 16);
        let header = root.child_traceparent();
        let parsed = TraceContext::parse(&header).expect("our own traceparent parses");
        assert_eq!(parsed.trace_id, root.trace_id);
        assert_eq!(header, format!("00-{}-{}-01", root.trace_id, root.span_id));
        assert_eq!(TraceContext::outgoing(Some(&root)), header.as_str());
        let fresh = TraceContext::outgoing(None);
        let fresh = TraceContext::parse(fresh.to_str().unwrap()).expect("a new trace parses");
        assert_ne!(fresh.trace_id, root.trace_id);
        assert_ne!(TraceContext::new_root().trace_id, root.trace_id);
        let id = request_id(&HeaderMap::new());
        let uuid = uuid::Uuid::parse_str(id.to_str().unwrap()).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 7);
        assert_ne!(request_id(&HeaderMap::new()), id);
    }
}
