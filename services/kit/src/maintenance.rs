//! Maintenance mode: writes paused for a moment, so that a backup snapshots every database at one
//! point (`shopctl backup create`). While paused, a mutating request (POST, PUT, PATCH, DELETE)
//! of any route but the probes and `/admin/*` is answered 503 with `Retry-After`; reads go on.
//! Work already under way holds a [`Busy`] guard, and the pause is only *drained* once every
//! guard is gone: a request in flight, a checkout saga still running on its own task, a resumer
//! pass. A pause always ends by itself after the time it was asked for, so a shop whose operator
//! (or backup) died mid-pause takes writes again without anyone's help.
//!
//! `PUT /admin/maintenance {"pause_secs": 30}` pauses and answers once drained (or after
//! [`DRAIN_WITHIN`], saying it is not); `DELETE /admin/maintenance` resumes; `GET` shows the
//! state. Admin and service tokens only; allowed in production, where backups run too.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, Method, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};

use crate::{
    ApiError, AppJson,
    admin::AdminOrService,
    auth::{Auth, Authorized},
};

/// The longest pause that may be asked for.
pub const MAX_PAUSE: Duration = Duration::from_secs(600);
/// How long `PUT /admin/maintenance` waits for the work in hand to end.
pub const DRAIN_WITHIN: Duration = Duration::from_secs(10);

/// One service's maintenance state, shared by its middleware, its admin route and its loops.
#[derive(Debug, Clone, Default)]
pub struct Maintenance(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// Until when writes are paused; `None` when they are not.
    until: Mutex<Option<Instant>>,
    /// Work under way: requests and tasks holding a [`Busy`].
    busy: AtomicUsize,
}

/// Work under way; the pause is drained when every guard is gone.
#[derive(Debug)]
pub struct Busy(Arc<Inner>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The state as `GET /admin/maintenance` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceState {
    /// Whether writes are paused.
    pub paused: bool,
    /// How long they stay paused unless resumed first, in milliseconds.
    pub remaining_ms: u64,
    /// Work still under way.
    pub in_flight: usize,
    /// Whether the pause is drained: paused and nothing under way.
    pub drained: bool,
}

impl Maintenance {
    /// How long writes stay paused; `None` when they are not (a pause past its time has ended).
    pub fn paused(&self) -> Option<Duration> {
        let mut until = self.until();
        match *until {
            Some(at) if at > Instant::now() => Some(at - Instant::now()),
            Some(_) => {
                *until = None;
                tracing::warn!("the maintenance pause ran out; writes resume");
                None
            }
            None => None,
        }
    }

    /// Starts a piece of work that must be over before the pause counts as drained; `None`
    /// (and nothing started) while paused.
    pub fn enter(&self) -> Option<Busy> {
        // Counted first, then checked: a pause that begins meanwhile waits for this guard.
        self.0.busy.fetch_add(1, Ordering::SeqCst);
        let busy = Busy(Arc::clone(&self.0));
        self.paused().is_none().then_some(busy)
    }

    /// Holds the pause off for work that must finish even if a pause began since it was
    /// admitted (a checkout saga that outlives its request).
    pub fn hold(&self) -> Busy {
        self.0.busy.fetch_add(1, Ordering::SeqCst);
        Busy(Arc::clone(&self.0))
    }

    /// Pauses writes for `duration` (from now).
    pub fn pause(&self, duration: Duration) {
        *self.until() = Some(Instant::now() + duration);
    }

    /// Takes writes again.
    pub fn resume(&self) {
        *self.until() = None;
    }

    /// The state now.
    pub fn state(&self) -> MaintenanceState {
        let remaining = self.paused();
        let in_flight = self.0.busy.load(Ordering::SeqCst);
        MaintenanceState {
            paused: remaining.is_some(),
            remaining_ms: remaining.map_or(0, |r| u64::try_from(r.as_millis()).unwrap_or(0)),
            in_flight,
            drained: remaining.is_some() && in_flight == 0,
        }
    }

    /// Waits up to `within` for the work under way to end; whether it did.
    pub async fn drained(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.0.busy.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A guard for a write that may run, or how long the pause still lasts when it may not
    /// (answer it with [`refusal`]); reads and exempt paths (probes, `/admin/*`) get neither.
    pub(crate) fn admit(&self, method: &Method, path: &str) -> Result<Option<Busy>, Duration> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
            || crate::admin::exempt(path)
        {
            return Ok(None);
        }
        match self.enter() {
            Some(busy) => Ok(Some(busy)),
            None => Err(self.paused().unwrap_or_default()),
        }
    }

    fn until(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.0.until.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// 503 problem+json with `Retry-After`: the write may be sent again once the pause is over.
pub(crate) fn refusal(remaining: Duration) -> Response {
    let secs = remaining.as_secs() + 1;
    let mut response = ApiError::Unavailable {
        detail: format!(
            "writes are paused for maintenance (a backup); send this again in {secs} s"
        ),
    }
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A pause request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PauseRequest {
    /// How long writes stay paused unless resumed first (1-600 s).
    pause_secs: u64,
}

#[derive(Clone)]
struct RouteState {
    maintenance: Maintenance,
    auth: Auth,
}

impl axum::extract::FromRef<RouteState> for Auth {
    fn from_ref(state: &RouteState) -> Self {
        state.auth.clone()
    }
}

/// `/admin/maintenance` for `maintenance`, guarded by `auth`.
pub(crate) fn router(maintenance: Maintenance, auth: Auth) -> Router {
    Router::new()
        .route("/admin/maintenance", get(show).put(pause).delete(resume))
        .with_state(RouteState { maintenance, auth })
}

async fn show(
    Authorized(..): Authorized<AdminOrService>,
    State(state): State<RouteState>,
) -> Json<MaintenanceState> {
    Json(state.maintenance.state())
}

async fn pause(
    Authorized(principal, _): Authorized<AdminOrService>,
    State(state): State<RouteState>,
    AppJson(request): AppJson<PauseRequest>,
) -> Result<Json<MaintenanceState>, ApiError> {
    let duration = Duration::from_secs(request.pause_secs);
    if duration.is_zero() || duration > MAX_PAUSE {
        return Err(ApiError::bad_param(
            "pause_secs",
            format!(
                "pause for 1 to {} s; the pause ends by itself after that",
                MAX_PAUSE.as_secs()
            ),
        ));
    }
    state.maintenance.pause(duration);
    let drained = state.maintenance.drained(DRAIN_WITHIN).await;
    tracing::warn!(by = %principal.subject, pause_secs = request.pause_secs, drained, "writes paused for maintenance");
    Ok(Json(state.maintenance.state()))
}

async fn resume(
    Authorized(principal, _): Authorized<AdminOrService>,
    State(state): State<RouteState>,
) -> Json<MaintenanceState> {
    state.maintenance.resume();
    tracing::warn!(by = %principal.subject, "writes resumed after maintenance");
    Json(state.maintenance.state())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_refuses_new_work_waits_for_work_in_hand_and_ends_by_itself() {
        let maintenance = Maintenance::default();
        let busy = maintenance.enter().expect("not paused");
        maintenance.pause(Duration::from_millis(300));
        assert!(maintenance.enter().is_none(), "new work refused");
        assert!(
            !maintenance.drained(Duration::from_millis(20)).await,
            "work in hand"
        );
        assert_eq!(maintenance.state().in_flight, 1);
        drop(busy);
        assert!(maintenance.drained(Duration::from_millis(20)).await);
        assert!(maintenance.state().drained);
        let remaining = maintenance
            .admit(&Method::POST, "/api/orders")
            .expect_err("a write is refused");
        let refused = refusal(remaining);
        assert_eq!(refused.status(), 503);
        assert!(refused.headers().contains_key(header::RETRY_AFTER));
        assert!(matches!(
            maintenance.admit(&Method::GET, "/api/orders"),
            Ok(None)
        ));
        assert!(matches!(
            maintenance.admit(&Method::DELETE, "/admin/maintenance"),
            Ok(None)
        ));
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(maintenance.paused().is_none(), "the pause ran out");
        assert!(maintenance.enter().is_some());
        maintenance.pause(Duration::from_secs(60));
        maintenance.resume();
        assert!(maintenance.enter().is_some(), "resumed");
    }
}
