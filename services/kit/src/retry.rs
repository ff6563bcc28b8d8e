//! When a call to another service is sent again, one policy for every caller: kit's
//! `ServiceClient` and the gateway's proxy. A call is repeated only when repeating it cannot do
//! harm (a safe method, or a write carrying an `Idempotency-Key`), only when it found no callee
//! or one that could not serve just now, and after a pause that doubles.

use std::time::Duration;

use http::Method;

/// Whether a request with `method` may be sent again: GET, HEAD and OPTIONS change nothing;
/// any other method only with an `Idempotency-Key` the callee deduplicates on.
pub fn repeatable(method: &Method, idempotency_key: bool) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || idempotency_key
}

/// Whether an answer with `status` is worth another attempt: the callee, or a proxy in front of
/// it, could not serve just now (502, 503, 504).
pub fn worth_retrying(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// The wait before retry number `retry` (1 for the first): 100 ms, doubling.
pub fn pause(retry: u32) -> Duration {
    Duration::from_millis(100 * 2u64.pow(retry.saturating_sub(1).min(10)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_harmless_calls_are_repeated_and_only_on_a_busy_callee() {
        assert!(repeatable(&Method::GET, false));
        assert!(repeatable(&Method::HEAD, false));
        assert!(repeatable(&Method::POST, true));
        assert!(!repeatable(&Method::POST, false));
        assert!(!repeatable(&Method::PATCH, false));
        assert!([502, 503, 504].into_iter().all(worth_retrying));
        assert!(![200, 404, 409, 500, 501].into_iter().any(worth_retrying));
        assert_eq!(
            [1, 2, 3].map(pause),
            [100, 200, 400].map(Duration::from_millis)
        );
    }
}
