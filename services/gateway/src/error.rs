//! The gateway's own refusals: problem+json for API clients (with kit's stable `type`s), and the
//! short HTML page a shopper's browser gets instead when the edge itself refuses a page.

use axum::{
    http::{HeaderValue, header},
    response::Response,
};
use shopctl_kit::ApiError;

/// No upstream is configured for the service a path belongs to.
pub(crate) fn not_configured(upstream: &str) -> ApiError {
    ApiError::Unavailable {
        detail: format!("the {upstream} service is not configured"),
    }
}

/// The upstream's breaker is open: it failed too often just now.
pub(crate) fn failing(upstream: &str) -> ApiError {
    ApiError::Unavailable {
        detail: format!("the {upstream} service is failing; try again shortly"),
    }
}

/// The upstream could not be reached or dropped the call.
pub(crate) fn unreachable() -> ApiError {
    ApiError::Unavailable {
        detail: "the upstream service did not answer".to_owned(),
    }
}

/// An upstream answered `101 Switching Protocols`, which the gateway does not carry.
pub(crate) fn no_upgrades() -> ApiError {
    ApiError::Unavailable {
        detail: "protocol upgrades are not proxied".to_owned(),
    }
}

/// A shopper's browser gets a page, not problem+json, when the edge itself refuses a page
/// (rate limit, storefront down): the status and headers stay, the body is a short HTML page.
pub(crate) fn for_browser(response: Response) -> Response {
    let problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !problem {
        return response;
    }
    let (heading, text) = match response.status().as_u16() {
        429 => (
            "Slow down a little",
            "You've made a lot of requests in a short time. Wait a moment, then try again.",
        ),
        502..=504 => (
            "The shop is taking a short break",
            "We couldn't reach it just now. Nothing was charged. Please try again in a moment.",
        ),
        _ => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{heading}</title></head><body><main><h1>{heading}</h1><p>{text}</p><p><a href=\"/\">Back to the shop</a></p></main></body></html>"
    );
    Response::from_parts(parts, axum::body::Body::from(html))
}
