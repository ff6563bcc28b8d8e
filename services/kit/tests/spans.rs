//! The spans every service's requests run in, seen by a tracing subscriber of the test's own.
//! A test binary of its own: a thread's subscriber shares tracing's call-site cache with every
//! other thread of the process, so tests running beside it could hide its spans.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::{Router, routing::get};
use shopctl_kit::{
    ServiceContext, http::finish_catch_all, metrics::Metrics, settings::CommonSettings,
    testing::TestServer,
};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

/// (message, the enclosing spans' names and `route` fields) of every event.
type Seen = Arc<Mutex<Vec<(String, Vec<(String, Option<String>)>)>>>;
struct Route(Option<String>);
struct Visit<'a>(&'a mut Option<String>, &'a str);
impl tracing::field::Visit for Visit<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == self.1 {
            *self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == self.1 {
            *self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}
struct Capture(Seen);
impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut route = None;
        attrs.record(&mut Visit(&mut route, "route"));
        ctx.span(id).unwrap().extensions_mut().insert(Route(route));
    }
    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        let span = ctx.span(id).unwrap();
        let mut extensions = span.extensions_mut();
        if let Some(Route(route)) = extensions.get_mut::<Route>() {
            values.record(&mut Visit(route, "route"));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut message = None;
        event.record(&mut Visit(&mut message, "message"));
        let spans = ctx.event_scope(event).map_or_else(Vec::new, |scope| {
            scope
                .from_root()
                .map(|span| {
                    let route = span.extensions().get::<Route>().and_then(|r| r.0.clone());
                    (span.name().to_owned(), route)
                })
                .collect()
        });
        self.0
            .lock()
            .unwrap()
            .push((message.unwrap_or_default(), spans));
    }
}

/// Every line a handler logs carries the route it was matched under, on kit's one request span
/// (named `request` in every service): a routed handler gets its route template, a catch-all
/// its label. Captured here by a tracing layer of the test's own (the service logs go through
/// the same spans).
#[tokio::test]
async fn a_handlers_log_lines_carry_its_route_on_the_request_span() {
    let seen: Seen = Arc::default();
    let _capturing = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(Capture(seen.clone())),
    );
    let mut settings = CommonSettings::defaults(0);
    settings.request_timeout_ms = 1_000;
    let ctx = ServiceContext::new(
        "kittest",
        &settings,
        None,
        Metrics::new("kittest"),
        shopctl_kit::auth::Auth::new(shopctl_kit::auth::BootstrapToken(None)),
    );
    let routed = Router::new().route(
        "/orders/{id}/note",
        get(|| async {
            tracing::info!("inside the routed handler");
            "noted"
        }),
    );
    let caught = |_: axum::extract::State<()>| async {
        tracing::info!("inside the catch-all");
        "caught"
    };
    let server = TestServer::spawn(
        "kittest",
        finish_catch_all(routed, &ctx, "/{*rest}", caught, ()),
    )
    .await;
    for path in ["/orders/7/note", "/elsewhere"] {
        let answer = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
    }

    let seen = seen.lock().unwrap().clone();
    let spans_of = |message: &str| {
        let found = seen.iter().find(|(m, _)| m == message);
        found
            .unwrap_or_else(|| panic!("`{message}` not logged: {seen:?}"))
            .1
            .clone()
    };
    assert_eq!(
        spans_of("inside the routed handler"),
        [("request".to_owned(), Some("/orders/{id}/note".to_owned()))]
    );
    assert_eq!(
        spans_of("inside the catch-all"),
        [("request".to_owned(), Some("/{*rest}".to_owned()))]
    );
}
