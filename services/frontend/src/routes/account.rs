//! Signing in and out, registration, and the account page: profile, password, export of
//! everything kept about the shopper, and erasure.

use std::sync::Arc;

use askama::Template;
use axum::{
    Extension, Form, Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::CookieJar;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use shopctl_kit::client::Caller;

use super::{
    AppState,
    pages::{Frame, notice, render, render_with, safe_next, see_other},
};
use crate::{
    error::{PageError, Result},
    routes::session::{REFRESH, Session},
    store::{Ignored, TokenPair, Upstream, User, encode},
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/register", get(register_form).post(register))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/account/profile", post(update_profile))
        .route("/account/password", post(change_password))
        .route("/account/export", get(export))
        .route("/account/delete", post(delete_account))
}

#[derive(Debug, Default, Deserialize)]
struct Next {
    next: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    frame: Frame,
    next: String,
    next_encoded: String,
    email: String,
    error: Option<String>,
}

fn login_page(session: &Session, next: &str, email: String, error: Option<String>) -> LoginPage {
    let next = safe_next(next).to_owned();
    LoginPage {
        frame: Frame::new(session, "Sign in"),
        next_encoded: encode(&next),
        next,
        email,
        error,
    }
}

async fn login_form(
    Extension(session): Extension<Arc<Session>>,
    Query(q): Query<Next>,
) -> Response {
    let mut page = login_page(
        &session,
        q.next.as_deref().unwrap_or("/"),
        String::new(),
        None,
    );
    page.frame.notice = notice(q.done.as_deref());
    render(&page)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Signs in with the identity service, merges the guest cart into the account's, and sets the
/// session cookies.
async fn sign_in(
    state: &AppState,
    session: &Session,
    email: &str,
    password: &str,
) -> std::result::Result<CookieJar, Upstream> {
    let tokens: TokenPair = state
        .services
        .send(
            "user",
            Method::POST,
            "/api/users/login",
            &json!({"email": email, "password": password}),
            Caller::Anonymous,
            None,
        )
        .await?;
    let mut jar = session
        .sign_in(&tokens)
        .into_iter()
        .fold(CookieJar::new(), CookieJar::add);
    let caller = Caller::User(&tokens.access_token);
    let cart: std::result::Result<crate::store::Cart, Upstream> = if session.guest_cart.is_empty() {
        state.services.get("order", "/api/cart", caller, None).await
    } else {
        let items: Vec<Value> = session
            .guest_cart
            .lines()
            .iter()
            .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
            .collect();
        state
            .services
            .send(
                "order",
                Method::POST,
                "/api/cart/merge",
                &json!({"items": items}),
                caller,
                None,
            )
            .await
    };
    match cart {
        Ok(cart) => {
            jar = jar
                .add(session.removal(crate::routes::session::CART))
                .add(session.cart_count_cookie(cart.item_count));
        }
        // Signed in all the same; the guest cart stays in the browser for another try.
        Err(err) => tracing::warn!(error = %err, "guest cart not merged at sign-in"),
    }
    Ok(jar)
}

async fn login(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    match sign_in(&state, &session, form.email.trim(), &form.password).await {
        Ok(jar) => Ok((jar, see_other(safe_next(&form.next))).into_response()),
        Err(Upstream::Problem {
            status: 401 | 422, ..
        }) => {
            // The same words whatever was wrong: they never tell whether an account exists.
            let page = login_page(
                &session,
                &form.next,
                form.email,
                Some("That e-mail and password don't match an account, or the account is locked for a while after too many attempts.".to_owned()),
            );
            Ok(render_with(StatusCode::UNAUTHORIZED, &page))
        }
        Err(Upstream::Problem { status: 429, .. }) => Err(PageError::RateLimited),
        Err(err) => Err(err.into()),
    }
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    frame: Frame,
    next: String,
    next_encoded: String,
    name: String,
    email: String,
    error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

fn register_page(session: &Session, next: &str) -> RegisterPage {
    let next = safe_next(next).to_owned();
    RegisterPage {
        frame: Frame::new(session, "Create an account"),
        next_encoded: encode(&next),
        next,
        name: String::new(),
        email: String::new(),
        error: None,
        email_error: None,
        password_error: None,
    }
}

async fn register_form(
    Extension(session): Extension<Arc<Session>>,
    Query(q): Query<Next>,
) -> Response {
    render(&register_page(&session, q.next.as_deref().unwrap_or("/")))
}

#[derive(Debug, Deserialize)]
struct RegisterForm {
    #[serde(default)]
    name: String,
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn register(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<RegisterForm>,
) -> Result<Response> {
    let mut page = register_page(&session, &form.next);
    page.name = form.name.trim().to_owned();
    page.email = form.email.trim().to_owned();
    if form.password.chars().count() < 12 {
        page.password_error = Some("Use at least 12 characters.".to_owned());
        return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let created: std::result::Result<User, Upstream> = state
        .services
        .send(
            "user",
            Method::POST,
            "/api/users/register",
            &json!({"email": page.email, "password": form.password, "name": page.name}),
            Caller::Anonymous,
            None,
        )
        .await;
    match created {
        Ok(_) => {}
        Err(Upstream::Problem { status: 409, .. }) => {
            page.email_error =
                Some("There is already an account with this e-mail. Sign in instead.".to_owned());
            return Ok(render_with(StatusCode::CONFLICT, &page));
        }
        Err(Upstream::Problem {
            status: 422,
            detail,
            field,
            ..
        }) => {
            let message = format!("{}{detail}.", field_label(field.as_deref()));
            match field.as_deref() {
                Some("email") => page.email_error = Some(message),
                Some("password") => page.password_error = Some(message),
                _ => page.error = Some(message),
            }
            return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(err) => return Err(err.into()),
    }
    let jar = sign_in(&state, &session, &page.email, &form.password).await?;
    let next = safe_next(&form.next);
    let to = if next == "/" {
        "/account?done=welcome"
    } else {
        next
    };
    Ok((jar, see_other(to)).into_response())
}

/// "The password " and the like, before a service's field detail.
fn field_label(field: Option<&str>) -> &'static str {
    match field {
        Some("email") => "The e-mail address ",
        Some("password" | "new_password") => "The password ",
        Some("name") => "The name ",
        _ => "",
    }
}

async fn logout(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    jar: CookieJar,
) -> Response {
    if let Some(refresh) = jar.get(REFRESH) {
        // Revoke the session at the identity service, not only in this browser.
        let revoked: std::result::Result<Ignored, Upstream> = state
            .services
            .send(
                "user",
                Method::POST,
                "/api/users/logout",
                &json!({"refresh_token": refresh.value()}),
                Caller::Anonymous,
                None,
            )
            .await;
        if let Err(err) = revoked {
            tracing::warn!(error = %err, "refresh token not revoked at sign-out");
        }
    }
    (
        session.signed_out(CookieJar::new()),
        see_other("/login?done=signed-out"),
    )
        .into_response()
}

#[derive(Template, Default)]
#[template(path = "account.html")]
struct AccountPage {
    frame: Frame,
    email: String,
    name: String,
    name_error: Option<String>,
    current_error: Option<String>,
    new_error: Option<String>,
    delete_error: Option<String>,
}

async fn account_page(state: &AppState, session: &Session) -> Result<AccountPage> {
    session.require("/account")?;
    let me: User = state
        .services
        .get("user", "/api/users/me", session.caller(), None)
        .await?;
    Ok(AccountPage {
        frame: Frame::new(session, "Your account"),
        email: me.email,
        name: me.name,
        ..AccountPage::default()
    })
}

async fn account(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Query(q): Query<Next>,
) -> Result<Response> {
    let mut page = account_page(&state, &session).await?;
    page.frame.notice = notice(q.done.as_deref());
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    #[serde(default)]
    name: String,
}

async fn update_profile(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<ProfileForm>,
) -> Result<Response> {
    session.require("/account")?;
    let updated: std::result::Result<User, Upstream> = state
        .services
        .send(
            "user",
            Method::PATCH,
            "/api/users/me",
            &json!({"name": form.name.trim()}),
            session.caller(),
            None,
        )
        .await;
    match updated {
        Ok(_) => Ok(see_other("/account?done=saved")),
        Err(Upstream::Problem {
            status: 422,
            detail,
            ..
        }) => {
            let mut page = account_page(&state, &session).await?;
            page.name_error = Some(format!("The name {detail}."));
            Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    session.require("/account")?;
    let changed: std::result::Result<Ignored, Upstream> = state
        .services
        .send(
            "user",
            Method::POST,
            "/api/users/me/password",
            &json!({"current_password": form.current_password, "new_password": form.new_password}),
            session.caller(),
            None,
        )
        .await;
    match changed {
        Ok(_) => {
            // Changing the password ends every session; this browser signs in again with it.
            let me: User = state
                .services
                .get("user", "/api/users/me", session.caller(), None)
                .await?;
            let jar = sign_in(&state, &session, &me.email, &form.new_password).await?;
            Ok((jar, see_other("/account?done=password")).into_response())
        }
        Err(Upstream::Problem {
            status: 422,
            detail,
            field,
            ..
        }) => {
            let mut page = account_page(&state, &session).await?;
            if field.as_deref() == Some("current_password") {
                page.current_error = Some("That is not your current password.".to_owned());
            } else {
                page.new_error = Some(format!("The new password {detail}."));
            }
            Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(err) => Err(err.into()),
    }
}

/// Everything kept about the shopper: the identity service's export plus their orders.
async fn export(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
) -> Result<Response> {
    session.require("/account")?;
    let mut data: Value = state
        .services
        .get("user", "/api/users/me/export", session.caller(), None)
        .await?;
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    // Every order, a hundred at a time.
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/orders?limit=100&cursor={}", encode(c)),
            None => "/api/orders?limit=100".to_owned(),
        };
        let page: Value = state
            .services
            .get("order", &path, session.caller(), None)
            .await?;
        orders.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) if orders.len() < 100_000 => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    data["orders"] = Value::Array(orders);
    let body = serde_json::to_vec_pretty(&data).map_err(|e| PageError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-shop-data.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct DeleteForm {
    password: String,
}

async fn delete_account(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<DeleteForm>,
) -> Result<Response> {
    session.require("/account")?;
    let erased: std::result::Result<Ignored, Upstream> = state
        .services
        .send(
            "user",
            Method::DELETE,
            "/api/users/me",
            &json!({"password": form.password}),
            session.caller(),
            None,
        )
        .await;
    match erased {
        Ok(_) => Ok((
            session.signed_out(CookieJar::new()),
            see_other("/login?done=deleted"),
        )
            .into_response()),
        Err(Upstream::Problem { status: 422, .. }) => {
            let mut page = account_page(&state, &session).await?;
            page.delete_error =
                Some("That password is not right, so nothing was deleted.".to_owned());
            Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(err) => Err(err.into()),
    }
}
