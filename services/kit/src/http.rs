//! The middleware stack every service router is finished with, in one place:
//! request id and trace context, one span per request, RED metrics, a per-request deadline,
//! a body-size limit, panic capture, and problem+json for unknown routes and methods.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::HeaderValue,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::{
    admin::{self, Faults},
    error::ApiError,
    health,
    metrics::Metrics,
    service::ServiceContext,
    trace::{REQUEST_ID, TraceContext, request_id},
};

/// The route template a request matched, carried on the response to the outer middleware.
#[derive(Debug, Clone)]
struct RouteTag(Arc<str>);

/// When the running request's deadline passes (a request extension, set before the handler
/// runs): work that may outlive it, such as a checkout saga, answers in time and carries on in
/// the background instead of being cut off with a 503.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

impl Deadline {
    /// How long is left, less `margin` for writing the answer (zero once passed).
    pub fn remaining_less(&self, margin: Duration) -> Duration {
        self.0
            .saturating_duration_since(Instant::now())
            .saturating_sub(margin)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Deadline {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        // Outside the standard stack (a bare router in a test) there is no deadline to honour.
        Ok(parts
            .extensions
            .get::<Deadline>()
            .copied()
            .unwrap_or_else(|| Deadline(Instant::now() + Duration::from_secs(3600))))
    }
}

/// Adds the health and metrics routes and the standard middleware to a service's router.
pub fn finish(router: Router, ctx: &ServiceContext) -> Router {
    finish_with_fallback(router, ctx, || async {
        ApiError::not_found("no such route")
    })
}

/// [`finish`] with `not_found` answering unknown paths (the storefront's is an HTML page).
pub fn finish_with_fallback<H, T>(router: Router, ctx: &ServiceContext, not_found: H) -> Router
where
    H: axum::handler::Handler<T, ()>,
    T: 'static,
{
    let observe = Observe {
        metrics: ctx.metrics.clone(),
    };
    let deadline = ctx.settings.request_timeout();
    let faults = Faults::default();
    router
        .merge(health::router(ctx.clone()))
        .merge(admin::router(ctx.clone(), faults.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(middleware::from_fn_with_state(faults, admin::inject))
        .route_layer(middleware::from_fn_with_state(deadline, tag_route))
        .layer(DefaultBodyLimit::max(ctx.settings.body_limit_bytes))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(middleware::from_fn_with_state(observe, observe_request))
}

/// Runs the matched handler under the per-request deadline and tags the response with the route
/// template, so timed-out requests are still counted under their route.
async fn tag_route(
    State(deadline): State<Duration>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut()
        .insert(Deadline(Instant::now() + deadline));
    let mut response = match tokio::time::timeout(deadline, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    };
    if let Some(path) = matched {
        response
            .extensions_mut()
            .insert(RouteTag(Arc::from(path.as_str())));
    }
    response
}

#[derive(Clone)]
struct Observe {
    metrics: Metrics,
}

async fn observe_request(State(observe): State<Observe>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id(req.headers());
    let trace = TraceContext::from_headers(req.headers());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = %trace.trace_id,
        span_id = %trace.span_id,
        method = %method,
        path = %path,
    );
    req.extensions_mut().insert(trace);
    let mut response = next.run(req).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status();
    let route = response
        .extensions()
        .get::<RouteTag>()
        .map_or("unmatched", |tag| &tag.0);
    let elapsed = started.elapsed();
    observe.metrics.observe_request(
        route,
        method.as_str(),
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    let _entered = span.enter();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if health::is_probe(&path) {
        tracing::debug!(status = status.as_u16(), latency_ms, "request served");
    } else if status.is_server_error() {
        tracing::warn!(
            status = status.as_u16(),
            latency_ms,
            route,
            "request failed"
        );
    } else {
        tracing::info!(
            status = status.as_u16(),
            latency_ms,
            route,
            "request served"
        );
    }
    response
}
