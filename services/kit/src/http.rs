//! The middleware stack every service router is finished with, in one place:
//! request id and trace context, one span per request, RED metrics, a per-request deadline,
//! a body-size limit, panic capture, and problem+json for unknown routes and methods.

use std::{
    convert::Infallible,
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request},
    response::{IntoResponse, Response},
};
use futures_util::FutureExt as _;
use tower::{Service, ServiceBuilder, layer::layer_fn};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::{
    admin::{self, Faults},
    error::ApiError,
    health,
    maintenance::Maintenance,
    metrics::Metrics,
    service::ServiceContext,
    trace::{REQUEST_ID, TraceContext, request_id},
};

/// The route template a request matched, carried on the response to [`Observed`], which counts
/// the request under it.
#[derive(Debug, Clone)]
struct RouteTag(MatchedPath);

/// The route a handler says it served, for the metrics and the request's log line (a response
/// extension): what a catch-all sets, as the gateway does with the public API's route templates,
/// so that its traffic is not all counted under one label. Keep the set of labels bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLabel(pub &'static str);

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
///
/// The middleware is two hand-written services, not a stack of `from_fn` layers: axum wraps
/// every route in a boxed service per layer and clones the whole chain on every request, so
/// each layer saved is a handful of allocations per request on every service (the gateway's
/// benchmark counts them). Outside, around every route and the fallback: [`Observed`] (request
/// id, trace context, span, RED metrics, the request log line), then panic capture and the body
/// limit. Inside, around matched routes only: [`Guarded`] (the deadline, injected faults, and the
/// route template for the metrics).
pub fn finish_with_fallback<H, T>(router: Router, ctx: &ServiceContext, not_found: H) -> Router
where
    H: axum::handler::Handler<T, ()>,
    T: 'static,
{
    let faults = Faults::default();
    let guard = guard(ctx, &faults);
    let router = with_kit_routes(router, ctx, faults)
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(guard);
    observed(router, ctx)
}

/// [`finish`] for a service that answers every path itself (the gateway): `catch_all` (with
/// `state`) gets every request no route of `router` or kit's claims, under the same deadline
/// and injected faults as a matched route, counted under the route `label`. Cheaper than a
/// `/{*path}` route, which axum answers by percent-decoding the path into a parameter nobody
/// reads, and than the layers around a route: [`Observed`] takes the stack's steps in one boxed
/// future where a route goes through one boxed, per-request cloned service per layer.
pub fn finish_catch_all<H, T, S>(
    router: Router,
    ctx: &ServiceContext,
    label: &'static str,
    catch_all: H,
    state: S,
) -> Router
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let faults = Faults::default();
    let handler = tower::Layer::layer(
        &DefaultBodyLimit::max(ctx.settings.body_limit_bytes),
        catch_all.with_state(state),
    );
    let catch_all = Observed {
        inner: handler,
        metrics: Arc::new(ctx.metrics.clone()),
        catch_all: Some(CatchAll {
            deadline: ctx.settings.request_timeout(),
            faults: faults.clone(),
            label,
        }),
    };
    let guard = guard(ctx, &faults);
    let router = with_kit_routes(router, ctx, faults)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(guard);
    // Set after the standard layers, so not wrapped in them: it takes the same steps itself.
    observed(router, ctx).fallback_service(catch_all)
}

fn with_kit_routes(router: Router, ctx: &ServiceContext, faults: Faults) -> Router {
    router
        .merge(health::router(ctx.clone()))
        .merge(admin::router(ctx.clone(), faults))
        .merge(crate::maintenance::router(
            ctx.maintenance.clone(),
            ctx.auth.clone(),
        ))
}

/// The layer of [`Guarded`].
fn guard<S>(
    ctx: &ServiceContext,
    faults: &Faults,
) -> impl tower::Layer<S, Service = Guarded<S>> + Clone + use<S> {
    let deadline = ctx.settings.request_timeout();
    let faults = faults.clone();
    let maintenance = ctx.maintenance.clone();
    layer_fn(move |inner| Guarded {
        inner,
        deadline,
        faults: faults.clone(),
        maintenance: maintenance.clone(),
    })
}

/// `router` inside the layers around everything: [`Observed`], then panic capture and the body
/// limit.
fn observed(router: Router, ctx: &ServiceContext) -> Router {
    let metrics = Arc::new(ctx.metrics.clone());
    router.layer(
        ServiceBuilder::new()
            .layer(layer_fn(move |inner| Observed {
                inner,
                metrics: Arc::clone(&metrics),
                catch_all: None,
            }))
            .layer(CatchPanicLayer::custom(panicked))
            .layer(DefaultBodyLimit::max(ctx.settings.body_limit_bytes)),
    )
}

/// A service's answer future, boxed once per middleware.
type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// Runs the matched handler under the per-request deadline (a [`Deadline`] extension tells the
/// handler when it passes), after any injected faults, and tags the response with the route
/// template, so timed-out and panicked requests are still counted under their route.
#[derive(Clone)]
struct Guarded<S> {
    inner: S,
    deadline: Duration,
    faults: Faults,
    maintenance: Maintenance,
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Answer {
        let deadline = self.deadline;
        let tag = req.extensions().get::<MatchedPath>().cloned();
        // Routing runs inside the request's span (Observed): name the route on it.
        if let Some(tag) = &tag {
            tracing::Span::current().record("route", tag.as_str());
        }
        req.extensions_mut()
            .insert(Deadline(Instant::now() + deadline));
        let tagged = move |mut response: Response| {
            if let Some(tag) = tag {
                response.extensions_mut().insert(RouteTag(tag));
            }
            Ok(response)
        };
        // A write while paused for a backup is refused; one that runs holds the pause off
        // until it has answered.
        let busy = match self.maintenance.admit(req.method(), req.uri().path()) {
            Ok(busy) => busy,
            Err(remaining) => {
                let refused = crate::maintenance::refusal(remaining);
                return Box::pin(std::future::ready(tagged(refused)));
            }
        };
        if self.faults.any() && !admin::exempt(req.uri().path()) {
            // The service that was made ready runs the request; a clone stays behind.
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            let faults = self.faults.clone();
            return Box::pin(async move {
                let run = after_faults(&faults, async move {
                    inner.call(req).await.unwrap_or_else(|never| match never {})
                });
                let response = settled(deadline, run).await;
                drop(busy);
                tagged(response)
            });
        }
        let future = self.inner.call(req);
        Box::pin(async move {
            let response = settled(deadline, async move {
                future.await.unwrap_or_else(|never| match never {})
            });
            let response = response.await;
            drop(busy);
            tagged(response)
        })
    }
}

/// `answer`, or 503 problem+json when it takes longer than `deadline`, or a 500 when it panics:
/// either way an answer its route can be counted under.
async fn settled(deadline: Duration, answer: impl Future<Output = Response>) -> Response {
    match tokio::time::timeout(deadline, AssertUnwindSafe(answer).catch_unwind()).await {
        Ok(Ok(response)) => response,
        Ok(Err(panic)) => panicked(panic),
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// The answer of an injected fault, if `faults` gives one, else `answer` (not started before).
async fn after_faults(faults: &Faults, answer: impl Future<Output = Response>) -> Response {
    match admin::inject(faults).await {
        Some(refused) => refused,
        None => answer.await,
    }
}

/// The answer to a handler that panicked.
fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
}

/// What [`Observed`] notes of a request before it runs: when it came, its id,
/// its method, whether it is a probe, and its span (with the trace context set on the request).
struct Observation {
    started: Instant,
    request_id: http::HeaderValue,
    method: http::Method,
    probe: bool,
    span: tracing::Span,
    /// The trace the handler runs in, so the calls it makes continue it.
    trace: crate::trace::Current,
}

impl Observation {
    /// Gives `req` its id (the caller's `x-request-id` when it is sane; set on the request for
    /// the handler, and a proxy passes it on) and its trace context (continuing the caller's
    /// `traceparent`), and opens its span.
    fn begin(req: &mut Request) -> Self {
        let started = Instant::now();
        let request_id = request_id(req.headers());
        req.headers_mut().insert(REQUEST_ID, request_id.clone());
        let trace = TraceContext::from_headers(req.headers());
        let method = req.method().clone();
        let probe = health::is_probe(req.uri().path());
        let span = tracing::info_span!(
            "request",
            request_id = %request_id.to_str().unwrap_or_default(),
            trace_id = %trace.trace_id,
            span_id = %trace.span_id,
            method = %method,
            path = %req.uri().path(),
            // The caller's span: `shopctl logs --trace` hangs this hop under the caller's.
            parent_id = tracing::field::Empty,
            // The route template, once routing has matched one (Guarded, or Observed around the
            // catch-all): every line a handler logs carries it, in every service alike.
            route = tracing::field::Empty,
        );
        if let Some(parent) = &trace.parent_id {
            span.record("parent_id", parent.as_str());
        }
        let current = crate::trace::Current::of(&trace);
        req.extensions_mut().insert(trace);
        Self {
            started,
            request_id,
            method,
            probe,
            span,
            trace: current,
        }
    }

    /// Counts and logs `response` under the [`RouteLabel`] its handler gave it, else `route`,
    /// else the template its [`RouteTag`] names, else "unmatched"; and gives it the request's id.
    fn end(
        self,
        metrics: &Metrics,
        route: Option<&'static str>,
        mut response: Response,
    ) -> Response {
        let status = response.status();
        let elapsed = self.started.elapsed();
        let route = match (response.extensions().get::<RouteLabel>(), route) {
            (Some(label), _) => label.0,
            (None, Some(label)) => label,
            (None, None) => response
                .extensions()
                .get::<RouteTag>()
                .map_or("unmatched", |tag| tag.0.as_str()),
        };
        metrics.observe_request(
            route,
            self.method.as_str(),
            status.as_u16(),
            elapsed.as_secs_f64(),
        );
        self.span.in_scope(|| {
            let latency_ms = elapsed.as_secs_f64() * 1000.0;
            if self.probe {
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
        });
        response.headers_mut().insert(REQUEST_ID, self.request_id);
        response
    }
}

/// Gives every request an id (the caller's `x-request-id` when it is sane; set on the request
/// for the handler and on the answer) and a trace context (continuing the caller's
/// `traceparent`), runs it in a span carrying both, and counts and logs its answer under the
/// route it matched.
///
/// Around the catch-all of [`finish_catch_all`] it also takes, in the same boxed future, the
/// steps of the layers around a route ([`CatchAll`]): `inner` is then the catch-all inside the
/// body limit (a layer that boxes nothing).
#[derive(Clone)]
struct Observed<S> {
    inner: S,
    metrics: Arc<Metrics>,
    catch_all: Option<CatchAll>,
}

/// What [`Observed`] does around a catch-all besides observing it: the deadline, injected
/// faults and panic capture of the standard stack, and the route `label` it is counted under.
#[derive(Clone)]
struct CatchAll {
    deadline: Duration,
    faults: Faults,
    label: &'static str,
}

impl<S> Service<Request> for Observed<S>
where
    S: Service<Request, Error = Infallible> + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Answer {
        let observation = Observation::begin(&mut req);
        let metrics = Arc::clone(&self.metrics);
        let Some(catch_all) = &self.catch_all else {
            let future = observation
                .trace
                .scope(observation.span.in_scope(|| self.inner.call(req)));
            return Box::pin(async move {
                let answer = future.instrument(observation.span.clone()).await;
                let response = answer
                    .unwrap_or_else(|never| match never {})
                    .into_response();
                Ok(observation.end(&metrics, None, response))
            });
        };
        let (deadline, label) = (catch_all.deadline, catch_all.label);
        observation.span.record("route", label);
        req.extensions_mut()
            .insert(Deadline(observation.started + deadline));
        let faults = (catch_all.faults.any() && !admin::exempt(req.uri().path()))
            .then(|| catch_all.faults.clone());
        // Handlers start when first polled, so nothing runs before an injected fault.
        let answer = observation
            .trace
            .scope(observation.span.in_scope(|| self.inner.call(req)));
        let answer = async move {
            answer
                .await
                .unwrap_or_else(|never| match never {})
                .into_response()
        };
        Box::pin(async move {
            let run = async move {
                match faults {
                    Some(faults) => after_faults(&faults, answer).await,
                    None => answer.await,
                }
            };
            let response = settled(deadline, run)
                .instrument(observation.span.clone())
                .await;
            Ok(observation.end(&metrics, Some(label), response))
        })
    }
}
