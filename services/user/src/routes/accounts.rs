//! Registration and the signed-in person's own account: profile, password, GDPR export and
//! erase. Every handler acts on the caller's own id only.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use serde_json::json;
use shopctl_kit::{
    ApiError, AppJson,
    audit::Outcome,
    auth::{AnyUser, Authorized, Principal, Role},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{AppState, sessions::audit};
use crate::{
    domain::{DisplayName, Email, Password, User, UserExport},
    error,
    store::{NewUser, now},
};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(get_me, update_me, erase_me))
        .routes(routes!(change_password))
        .routes(routes!(export_me))
}

/// Body of `POST /api/users/register`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterInput {
    email: String,
    password: String,
    #[serde(default)]
    name: String,
}

/// Body of `PATCH /api/users/me`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileInput {
    name: String,
}

/// Body of `POST /api/users/me/password`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordInput {
    current_password: String,
    new_password: String,
}

/// Body of `DELETE /api/users/me`: erasing needs the password again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EraseInput {
    password: String,
}

/// The caller's own account id; 404 for callers that are not accounts here: the bootstrap
/// token, services, and people signed in through an external identity provider (whose subject
/// ids may look like ours, so only this service's own tokens name an account).
fn own_id(state: &AppState, principal: &Principal) -> Result<Uuid, ApiError> {
    if principal.issuer != state.settings.issuer {
        return Err(ApiError::not_found(
            "this caller has no account here: it signed in elsewhere",
        ));
    }
    principal
        .subject
        .parse()
        .map_err(|_| ApiError::not_found("this caller has no account"))
}

async fn hash(state: &AppState, password: Password) -> Result<String, ApiError> {
    let hasher = state.hasher.clone();
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::Internal)
}

/// Re-checks the caller's password before a sensitive change. Failures count towards the same
/// lockout as sign-in, so a stolen access token cannot be used to guess the password.
async fn check_password(state: &AppState, id: Uuid, candidate: String) -> Result<(), ApiError> {
    let account = state.store.user(id).await.map_err(error::account)?;
    let now = now();
    if account.locked_until.is_some_and(|until| until > now) {
        return Err(ApiError::validation(
            "password",
            "cannot be checked now: the account is locked; try again later",
        ));
    }
    let hasher = state.hasher.clone();
    let ok = tokio::task::spawn_blocking(move || {
        hasher.verify(&candidate, Some(&account.password_hash))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    if ok {
        return Ok(());
    }
    let locked = state
        .store
        .record_failed_login(id, now, state.settings.lockout())
        .await?;
    audit(
        state,
        &id.to_string(),
        "reauthenticate",
        Some(id.to_string()),
        Outcome::Failure,
        json!({"reason": "wrong password"}),
    )
    .await;
    if let Some(until) = locked {
        audit(
            state,
            "system",
            "lockout",
            Some(id.to_string()),
            Outcome::Success,
            json!({"until": until}),
        )
        .await;
    }
    Err(ApiError::validation(
        "password",
        "is not the current password",
    ))
}

/// Create a customer account.
#[utoipa::path(post, path = "/api/users/register", tag = "accounts", request_body = RegisterInput,
    responses(
        (status = 201, body = User),
        (status = 409, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(state): State<AppState>,
    AppJson(input): AppJson<RegisterInput>,
) -> Result<impl IntoResponse, ApiError> {
    let email = Email::parse(&input.email)?;
    let name = DisplayName::parse(&input.name)?;
    let password = Password::parse("password", &input.password)?;
    let password_hash = hash(&state, password).await?;
    let user = state
        .store
        .create_user(&NewUser {
            email: email.as_ref().to_owned(),
            name: name.as_ref().to_owned(),
            password_hash,
            roles: vec![Role::Customer],
        })
        .await
        .map_err(error::account)?;
    audit(
        &state,
        &user.id.to_string(),
        "register",
        Some(user.id.to_string()),
        Outcome::Success,
        json!({}),
    )
    .await;
    Ok((StatusCode::CREATED, AppJson(user)))
}

/// The caller's account.
#[utoipa::path(get, path = "/api/users/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = shopctl_kit::error::Problem, content_type = "application/problem+json")))]
async fn get_me(
    Authorized(principal, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
) -> Result<AppJson<User>, ApiError> {
    let account = state
        .store
        .user(own_id(&state, &principal)?)
        .await
        .map_err(error::account)?;
    if account.erased {
        return Err(ApiError::not_found("no such account"));
    }
    Ok(AppJson(account.user))
}

/// Change the caller's display name.
#[utoipa::path(patch, path = "/api/users/me", tag = "accounts", request_body = ProfileInput, security(("bearer" = [])),
    responses((status = 200, body = User), (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json")))]
async fn update_me(
    Authorized(principal, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppJson(input): AppJson<ProfileInput>,
) -> Result<AppJson<User>, ApiError> {
    let name = DisplayName::parse(&input.name)?;
    let user = state
        .store
        .set_name(own_id(&state, &principal)?, name.as_ref())
        .await
        .map_err(error::account)?;
    Ok(AppJson(user))
}

/// Change the caller's password; every session is signed out.
#[utoipa::path(post, path = "/api/users/me/password", tag = "accounts", request_body = PasswordInput, security(("bearer" = [])),
    responses((status = 204, description = "Changed; all refresh tokens revoked"), (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json")))]
async fn change_password(
    Authorized(principal, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppJson(input): AppJson<PasswordInput>,
) -> Result<StatusCode, ApiError> {
    let id = own_id(&state, &principal)?;
    let new_password = Password::parse("new_password", &input.new_password)?;
    check_password(&state, id, input.current_password)
        .await
        .map_err(|_| ApiError::validation("current_password", "is not the current password"))?;
    let new_hash = hash(&state, new_password).await?;
    state
        .store
        .set_password(id, &new_hash)
        .await
        .map_err(error::account)?;
    state.store.revoke_user_sessions(id, now()).await?;
    audit(
        &state,
        &id.to_string(),
        "password_change",
        Some(id.to_string()),
        Outcome::Success,
        json!({"sessions": "revoked"}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything the service holds about the caller, as JSON (GDPR Art. 15 and 20).
#[utoipa::path(get, path = "/api/users/me/export", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = UserExport)))]
async fn export_me(
    Authorized(principal, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
) -> Result<AppJson<UserExport>, ApiError> {
    let id = own_id(&state, &principal)?;
    let account = state.store.user(id).await.map_err(error::account)?;
    if account.erased {
        return Err(ApiError::not_found("no such account"));
    }
    let sessions = state.store.sessions(id, now()).await?;
    audit(
        &state,
        &id.to_string(),
        "export",
        Some(id.to_string()),
        Outcome::Success,
        json!({}),
    )
    .await;
    Ok(AppJson(UserExport {
        account: account.user,
        sessions,
        exported_at: now(),
    }))
}

/// Erase the caller's personal data (GDPR Art. 17): e-mail and name are replaced, the password
/// stops working and every session ends. The account id stays, so orders keep their reference.
#[utoipa::path(delete, path = "/api/users/me", tag = "accounts", request_body = EraseInput, security(("bearer" = [])),
    responses((status = 204, description = "Erased"), (status = 422, body = shopctl_kit::error::Problem, content_type = "application/problem+json")))]
async fn erase_me(
    Authorized(principal, ..): Authorized<AnyUser>,
    State(state): State<AppState>,
    AppJson(input): AppJson<EraseInput>,
) -> Result<StatusCode, ApiError> {
    let id = own_id(&state, &principal)?;
    check_password(&state, id, input.password).await?;
    state.store.erase(id, now()).await.map_err(error::account)?;
    audit(
        &state,
        &id.to_string(),
        "erase",
        Some(id.to_string()),
        Outcome::Success,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
