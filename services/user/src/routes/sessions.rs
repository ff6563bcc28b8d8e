//! Sign-in, token refresh and sign-out, with lockout after repeated failures.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use serde_json::json;
use shopctl_kit::{
    ApiError, AppJson,
    audit::{AuditEvent, Outcome},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::{
    domain::{
        Email,
        tokens::{TokenPair, refresh_hash},
    },
    error,
    store::{RefreshOutcome, now},
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

/// Records a security event; a failed write is logged, never shown to the caller.
pub(crate) async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    target: Option<String>,
    outcome: Outcome,
    details: serde_json::Value,
) {
    let event = AuditEvent {
        actor: actor.to_owned(),
        action: action.to_owned(),
        target,
        outcome,
        details,
    };
    if let Err(err) = state.audit.append(event).await {
        tracing::error!(error = %err, action, "audit log write failed");
    }
}

/// Body of `POST /api/users/login`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginInput {
    email: String,
    password: String,
}

/// Body of `POST /api/users/refresh` and `POST /api/users/logout`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshInput {
    refresh_token: String,
}

/// Sign in with e-mail and password.
#[utoipa::path(post, path = "/api/users/login", tag = "sessions", request_body = LoginInput,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "Wrong e-mail or password, or the account is locked; the answer never says which", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    AppJson(input): AppJson<LoginInput>,
) -> Result<AppJson<TokenPair>, ApiError> {
    let email = Email::parse(&input.email).map_err(|_| error::invalid_credentials())?;
    let account = match state.store.user_by_email(email.as_ref()).await {
        Ok(account) => Some(account),
        Err(shopctl_kit::db::StoreError::NotFound) => None,
        Err(other) => return Err(other.into()),
    };
    let hasher = state.hasher.clone();
    let password = input.password;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || hasher.verify(&password, hash.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let Some(account) = account.filter(|a| !a.erased) else {
        audit(
            &state,
            "anonymous",
            "login",
            None,
            Outcome::Failure,
            json!({"reason": "unknown account"}),
        )
        .await;
        return Err(error::invalid_credentials());
    };
    let user_id = account.user.id;
    let now = now();
    if account.locked_until.is_some_and(|until| until > now) {
        audit(
            &state,
            &user_id.to_string(),
            "login",
            Some(user_id.to_string()),
            Outcome::Denied,
            json!({"reason": "locked"}),
        )
        .await;
        return Err(error::invalid_credentials());
    }
    if !matches {
        let locked = state
            .store
            .record_failed_login(user_id, now, state.settings.lockout())
            .await?;
        audit(
            &state,
            &user_id.to_string(),
            "login",
            Some(user_id.to_string()),
            Outcome::Failure,
            json!({"reason": "wrong password"}),
        )
        .await;
        if let Some(until) = locked {
            audit(
                &state,
                "system",
                "lockout",
                Some(user_id.to_string()),
                Outcome::Success,
                json!({"until": until}),
            )
            .await;
        }
        return Err(error::invalid_credentials());
    }
    state.store.clear_failed_logins(user_id).await?;
    let tokens = state
        .issuer
        .issue(state.store.as_ref(), &account.user, None)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    audit(
        &state,
        &user_id.to_string(),
        "login",
        Some(user_id.to_string()),
        Outcome::Success,
        json!({}),
    )
    .await;
    Ok(AppJson(tokens))
}

/// Exchange a refresh token for new tokens (the old one stops working).
#[utoipa::path(post, path = "/api/users/refresh", tag = "sessions", request_body = RefreshInput,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "Unknown, expired, revoked or reused token (reuse revokes the whole session)", body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn refresh(
    State(state): State<AppState>,
    AppJson(input): AppJson<RefreshInput>,
) -> Result<AppJson<TokenPair>, ApiError> {
    let now = now();
    match state
        .store
        .consume_refresh(&refresh_hash(&input.refresh_token), now)
        .await?
    {
        RefreshOutcome::Valid { user_id, family_id } => {
            let account = state
                .store
                .user(user_id)
                .await
                .map_err(|_| ApiError::Unauthorized)?;
            if account.erased {
                return Err(ApiError::Unauthorized);
            }
            Ok(AppJson(
                state
                    .issuer
                    .issue(state.store.as_ref(), &account.user, Some(family_id))
                    .await?
                    // Revoked by a concurrent reuse of the same token.
                    .ok_or(ApiError::Unauthorized)?,
            ))
        }
        RefreshOutcome::Reused { family_id } => {
            state.store.revoke_family(family_id, now).await?;
            audit(
                &state,
                "anonymous",
                "refresh_token_reuse",
                Some(family_id.to_string()),
                Outcome::Denied,
                json!({"revoked": "session"}),
            )
            .await;
            Err(ApiError::Unauthorized)
        }
        RefreshOutcome::Invalid => Err(ApiError::Unauthorized),
    }
}

/// Sign out: revokes the session the refresh token belongs to.
#[utoipa::path(post, path = "/api/users/logout", tag = "sessions", request_body = RefreshInput,
    responses((status = 204, description = "Signed out (also when the token was already invalid)")))]
async fn logout(
    State(state): State<AppState>,
    AppJson(input): AppJson<RefreshInput>,
) -> Result<StatusCode, ApiError> {
    if let Some((user_id, family_id)) = state
        .store
        .refresh_family(&refresh_hash(&input.refresh_token))
        .await?
    {
        state.store.revoke_family(family_id, now()).await?;
        audit(
            &state,
            &user_id.to_string(),
            "logout",
            Some(user_id.to_string()),
            Outcome::Success,
            json!({}),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}
