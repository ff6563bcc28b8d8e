//! The operator's window into a running service, for admin and service tokens only:
//!
//! - `GET /admin/info`: version, start time and uptime, environment, database backend and applied
//!   migrations, and the effective common settings (secrets print as `[redacted]`).
//! - `GET|PUT|DELETE /admin/faults`: runtime fault injection for chaos drills and for testing the
//!   platform's own resilience. `PUT {"latency_ms": 2000}` delays every API request,
//!   `{"error_rate": 0.2}` answers that share of them with a 503 problem, `{"kill": true}` makes
//!   the process abort a moment after answering (a crash the supervisor must heal). `DELETE`
//!   clears the faults. Refused with 403 when the environment is `production`.
//!
//! - `GET /admin/dead-letters?limit=N` and `POST /admin/dead-letters/redrive` (`{"id": ..}` for
//!   one, no body for all): the service's dead-lettered event deliveries, for the admin pages and
//!   the ops commands; 404 on a service that keeps no event queues.
//!
//! Probes, `/metrics` and `/admin/*` itself are never faulted, so an operator can always see
//! and clear what was injected.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{FromRef, State},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    ApiError, AppJson,
    auth::{Auth, Authorized, Role, RoleRequirement},
    health,
    service::ServiceContext,
    settings::Environment,
};

/// Routes for administrators and other platform services (the ops commands use either).
#[derive(Debug)]
pub struct AdminOrService;

impl RoleRequirement for AdminOrService {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Service];
}

/// The faults injected into one service, shared by the admin routes and the middleware.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<FaultCells>);

#[derive(Debug, Default)]
struct FaultCells {
    latency_ms: AtomicU64,
    /// `f64` bits of the error rate (0 = none).
    error_rate: AtomicU64,
}

/// What is injected, as the admin API shows and takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultState {
    /// Added delay before every API request, in milliseconds.
    pub latency_ms: u64,
    /// Share of API requests answered with 503, from 0 to 1.
    pub error_rate: f64,
}

impl Faults {
    /// The faults in force.
    pub fn state(&self) -> FaultState {
        FaultState {
            latency_ms: self.0.latency_ms.load(Ordering::Relaxed),
            error_rate: f64::from_bits(self.0.error_rate.load(Ordering::Relaxed)),
        }
    }

    fn set(&self, state: FaultState) {
        self.0.latency_ms.store(state.latency_ms, Ordering::Relaxed);
        self.0
            .error_rate
            .store(state.error_rate.to_bits(), Ordering::Relaxed);
    }

    /// Whether any fault is in force (the fast path of the middleware).
    pub(crate) fn any(&self) -> bool {
        self.0.latency_ms.load(Ordering::Relaxed) != 0
            || self.0.error_rate.load(Ordering::Relaxed) != 0
    }
}

/// A fault injection request: fields left out keep their current value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    latency_ms: Option<u64>,
    error_rate: Option<f64>,
    #[serde(default)]
    kill: bool,
}

/// The longest latency that may be injected (10 minutes).
const MAX_LATENCY_MS: u64 = 600_000;

#[derive(Clone)]
struct AdminState {
    ctx: ServiceContext,
    faults: Faults,
    started: Instant,
    started_at: DateTime<Utc>,
}

impl FromRef<AdminState> for Auth {
    fn from_ref(state: &AdminState) -> Self {
        state.ctx.auth.clone()
    }
}

/// The admin routes of the service `ctx` describes, injecting into `faults`.
pub fn router(ctx: ServiceContext, faults: Faults) -> Router {
    let state = AdminState {
        ctx,
        faults,
        started: Instant::now(),
        started_at: Utc::now(),
    };
    Router::new()
        .route("/admin/info", get(info))
        .route(
            "/admin/faults",
            get(show_faults).put(inject_faults).delete(clear_faults),
        )
        .route("/admin/dead-letters", get(list_dead_letters))
        .route(
            "/admin/dead-letters/redrive",
            axum::routing::post(redrive_dead_letters),
        )
        .with_state(state)
}

/// Whether a request for `path` is exempt from faults: probes, metrics and the admin routes.
pub(crate) fn exempt(path: &str) -> bool {
    health::is_probe(path) || path.starts_with("/admin/")
}

/// Applies the injected faults to one API request before it runs: waits the injected latency,
/// then answers the refusal the error rate draws, if any (kit's route middleware calls this only
/// while [`Faults::any`] holds and the path is not [`exempt`]).
pub(crate) async fn inject(faults: &Faults) -> Option<Response> {
    let state = faults.state();
    if state.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(state.latency_ms)).await;
    }
    (state.error_rate > 0.0 && rand::rng().random_bool(state.error_rate.clamp(0.0, 1.0))).then(
        || {
            ApiError::Unavailable {
                detail: "an injected fault (shopctl fault inject) refused this request".to_owned(),
            }
            .into_response()
        },
    )
}

async fn info(
    Authorized(..): Authorized<AdminOrService>,
    State(state): State<AdminState>,
) -> Json<serde_json::Value> {
    let ctx = &state.ctx;
    let (backend, migrations) = match &ctx.db {
        None => (serde_json::Value::Null, Vec::new()),
        Some(db) => (
            json!(format!("{:?}", db.backend()).to_lowercase()),
            db.applied_migrations()
                .await
                .unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "cannot list the applied migrations");
                    Vec::new()
                })
                .into_iter()
                .map(|(version, description)| json!({"version": version, "description": description}))
                .collect(),
        ),
    };
    Json(json!({
        "service": ctx.name,
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": state.started_at,
        "uptime_secs": state.started.elapsed().as_secs(),
        "environment": ctx.settings.environment,
        "database": backend,
        "migrations": migrations,
        "faults": state.faults.state(),
        "settings": ctx.settings,
    }))
}

/// The service's database, when it keeps event queues.
async fn event_db(ctx: &ServiceContext) -> Result<&crate::db::Db, ApiError> {
    let no_queues =
        || ApiError::not_found(format!("the {} service keeps no event queues", ctx.name));
    let db = ctx.db.as_ref().ok_or_else(no_queues)?;
    crate::events::depths(db).await.map_err(|_| no_queues())?;
    Ok(db)
}

/// Query of `GET /admin/dead-letters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadLetterQuery {
    limit: Option<i64>,
}

async fn list_dead_letters(
    Authorized(..): Authorized<AdminOrService>,
    State(state): State<AdminState>,
    crate::AppQuery(query): crate::AppQuery<DeadLetterQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_param("limit", "must be 1-1000"));
    }
    let db = event_db(&state.ctx).await?;
    let items = crate::events::dead_letters(db, limit)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(json!({ "service": state.ctx.name, "items": items })))
}

/// Body of `POST /admin/dead-letters/redrive`: one dead letter, or all when absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedriveRequest {
    id: Option<String>,
}

async fn redrive_dead_letters(
    Authorized(principal, ..): Authorized<AdminOrService>,
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request: RedriveRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RedriveRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::validation("body", e.to_string()))?
    };
    let db = event_db(&state.ctx).await?;
    let redriven = crate::events::redrive(db, request.id.as_deref())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if request.id.is_some() && redriven == 0 {
        return Err(ApiError::not_found("no such dead letter"));
    }
    tracing::info!(by = %principal.subject, redriven, "dead letters redriven");
    Ok(Json(
        json!({ "service": state.ctx.name, "redriven": redriven }),
    ))
}

async fn show_faults(
    Authorized(..): Authorized<AdminOrService>,
    State(state): State<AdminState>,
) -> Json<FaultState> {
    Json(state.faults.state())
}

fn refuse_in_production(ctx: &ServiceContext) -> Result<(), ApiError> {
    if ctx.settings.environment == Environment::Production {
        return Err(ApiError::Forbidden {
            detail: "fault injection is disabled when the environment is production".to_owned(),
        });
    }
    Ok(())
}

async fn inject_faults(
    Authorized(principal, _): Authorized<AdminOrService>,
    State(state): State<AdminState>,
    AppJson(request): AppJson<FaultRequest>,
) -> Result<Response, ApiError> {
    refuse_in_production(&state.ctx)?;
    let mut next = state.faults.state();
    if let Some(latency_ms) = request.latency_ms {
        if latency_ms > MAX_LATENCY_MS {
            return Err(ApiError::bad_param(
                "latency_ms",
                format!("at most {MAX_LATENCY_MS} ms may be injected"),
            ));
        }
        next.latency_ms = latency_ms;
    }
    if let Some(error_rate) = request.error_rate {
        if !(0.0..=1.0).contains(&error_rate) {
            return Err(ApiError::bad_param(
                "error_rate",
                "must be between 0 and 1 (0.2 fails one request in five)",
            ));
        }
        next.error_rate = error_rate;
    }
    state.faults.set(next);
    tracing::warn!(
        by = %principal.subject,
        latency_ms = next.latency_ms,
        error_rate = next.error_rate,
        kill = request.kill,
        "fault injected"
    );
    if request.kill {
        // Answer first, then crash: the caller learns the kill was taken.
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tracing::error!("killed by fault injection: aborting");
            std::process::abort();
        });
        return Ok((
            axum::http::StatusCode::ACCEPTED,
            Json(json!({"killed": true, "faults": next})),
        )
            .into_response());
    }
    Ok(Json(next).into_response())
}

async fn clear_faults(
    Authorized(principal, _): Authorized<AdminOrService>,
    State(state): State<AdminState>,
) -> Result<Json<FaultState>, ApiError> {
    refuse_in_production(&state.ctx)?;
    state.faults.set(FaultState::default());
    tracing::warn!(by = %principal.subject, "faults cleared");
    Ok(Json(FaultState::default()))
}
