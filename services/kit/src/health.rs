//! `/livez` (the process answers), `/readyz` (it can do useful work: its database answers) and
//! `/metrics` (Prometheus/OpenMetrics text).

use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use crate::service::ServiceContext;

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The probe and scrape routes.
pub fn router(ctx: ServiceContext) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ctx)
}

/// Paths polled by orchestrators, logged at debug only.
pub fn is_probe(path: &str) -> bool {
    matches!(path, "/livez" | "/readyz" | "/metrics")
}

async fn livez(State(ctx): State<ServiceContext>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "service": ctx.name }))
}

async fn readyz(State(ctx): State<ServiceContext>) -> Response {
    let database = match &ctx.db {
        None => "none",
        Some(db) => match tokio::time::timeout(READY_TIMEOUT, db.ping()).await {
            Ok(Ok(())) => "ok",
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "readiness: database ping failed");
                "unavailable"
            }
            Err(_) => {
                tracing::warn!("readiness: database ping timed out");
                "timeout"
            }
        },
    };
    let ready = matches!(database, "ok" | "none");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "unready" },
        "service": ctx.name,
        "checks": { "database": database },
    });
    (status, Json(body)).into_response()
}

async fn metrics(State(ctx): State<ServiceContext>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ctx.metrics.render(),
    )
        .into_response()
}
