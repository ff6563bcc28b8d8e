//! The shopper's browser session, resolved once per request by [`middleware`]:
//!
//! - `sid`: a random browser-session id; CSRF tokens are its HMAC, so every form post must carry
//!   the token of the browser that loaded the form ([`middleware`] refuses any write without it,
//!   before a handler runs — no handler can forget the check).
//! - `at` / `rt`: the access and refresh tokens from the identity service. The access token is
//!   verified on every request (JWKS, as every service does); when it has expired the refresh
//!   token is exchanged transparently and both cookies are replaced.
//! - `cart`: the guest cart, signed, merged into the account's cart at sign-in.
//!
//! All cookies are `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` when the shopper came over
//! TLS (the gateway says so with `X-Forwarded-Proto: https`) or `secure_cookies` is set.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use cookie::time::Duration;
use serde_json::json;
use shopctl_kit::{
    auth::{Principal, Role},
    client::Caller,
};

use crate::{
    domain::{GuestCart, signer::new_session_id},
    error::PageError,
    routes::AppState,
    store::TokenPair,
};

/// Cookie names.
pub const SID: &str = "sid";
/// Access token cookie.
pub const ACCESS: &str = "at";
/// Refresh token cookie.
pub const REFRESH: &str = "rt";
/// Guest cart cookie.
pub const CART: &str = "cart";
/// Units in a signed-in shopper's cart, for the header only (the cart itself lives in the
/// order service; this saves asking it on every page).
pub const CART_COUNT: &str = "cc";
/// Largest form body the storefront reads (the checkout form is the biggest, well under this).
const MAX_FORM_BYTES: usize = 64 * 1024;
/// How long the sign-in cookies live (the refresh token's own lifetime bounds the session).
const SIGNED_IN_DAYS: i64 = 30;

/// A signed-in shopper.
#[derive(Debug, Clone)]
pub struct Shopper {
    /// Verified identity.
    pub principal: Principal,
    /// Their access token, passed on to the services.
    pub token: String,
}

impl Shopper {
    /// Whether they may use the admin pages.
    pub fn is_admin(&self) -> bool {
        self.principal.has_role(Role::Admin)
    }
}

/// The session of one request.
#[derive(Debug, Clone)]
pub struct Session {
    /// Browser-session id.
    pub id: String,
    /// The CSRF token every form of this page carries.
    pub csrf: String,
    /// The signed-in shopper.
    pub shopper: Option<Shopper>,
    /// The cart kept in the browser while signed out.
    pub guest_cart: GuestCart,
    /// Whether cookies must be `Secure`.
    pub secure: bool,
    /// Units in the cart, for the header.
    pub cart_count: u32,
}

impl Session {
    /// The caller for service calls: the shopper's token, or nobody.
    pub fn caller(&self) -> Caller<'_> {
        self.shopper
            .as_ref()
            .map_or(Caller::Anonymous, |s| Caller::User(&s.token))
    }

    /// The signed-in shopper, or a redirect to the sign-in page that comes back to `next`.
    pub fn require(&self, next: &str) -> Result<&Shopper, PageError> {
        self.shopper.as_ref().ok_or_else(|| PageError::SignIn {
            next: next.to_owned(),
        })
    }

    /// The signed-in admin; shoppers without the role get 403, visitors the sign-in page.
    pub fn require_admin(&self, next: &str) -> Result<&Shopper, PageError> {
        let shopper = self.require(next)?;
        if shopper.is_admin() {
            Ok(shopper)
        } else {
            Err(PageError::Forbidden)
        }
    }

    /// A cookie with the session's attributes.
    pub fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        cookie(name, value, self.secure)
    }

    /// The cookies that sign out and forget the header's cart count, in `jar`.
    pub fn signed_out(&self, jar: CookieJar) -> CookieJar {
        self.sign_out()
            .into_iter()
            .chain([self.removal(CART_COUNT)])
            .fold(jar, CookieJar::add)
    }

    /// Cookies that sign `tokens` in.
    pub fn sign_in(&self, tokens: &TokenPair) -> [Cookie<'static>; 2] {
        let age = Duration::days(SIGNED_IN_DAYS);
        let mut access = self.cookie(ACCESS, tokens.access_token.clone());
        access.set_max_age(age);
        let mut refresh = self.cookie(REFRESH, tokens.refresh_token.clone());
        refresh.set_max_age(age);
        [access, refresh]
    }

    /// Cookies that sign out.
    pub fn sign_out(&self) -> [Cookie<'static>; 2] {
        [self.removal(ACCESS), self.removal(REFRESH)]
    }

    /// A cookie that makes the browser forget `name`.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new());
        cookie.set_max_age(Duration::ZERO);
        cookie
    }

    /// The header's cart count cookie for a signed-in shopper's cart of `units`.
    pub fn cart_count_cookie(&self, units: i64) -> Cookie<'static> {
        self.cookie(CART_COUNT, units.clamp(0, 9_999).to_string())
    }

    /// The guest cart cookie for `cart` (a removal when empty).
    pub fn guest_cart_cookie(&self, state: &AppState, cart: &GuestCart) -> Cookie<'static> {
        if cart.is_empty() {
            return self.removal(CART);
        }
        let mut cookie = self.cookie(CART, state.signer.seal("cart", &cart.encode()));
        cookie.set_max_age(Duration::days(SIGNED_IN_DAYS));
        cookie
    }
}

/// Whether the shopper's connection is TLS, by the gateway's word or the settings.
fn secure(headers: &HeaderMap, always: bool) -> bool {
    always
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Exchanges a refresh token; `None` when the identity service refuses it.
async fn refresh(state: &AppState, token: &str) -> Option<TokenPair> {
    state
        .services
        .send(
            "user",
            Method::POST,
            "/api/users/refresh",
            &json!({ "refresh_token": token }),
            Caller::Anonymous,
            None,
        )
        .await
        .ok()
}

/// Resolves the session, enforces CSRF on every write, and sets the cookies the session
/// changed (a new browser id, refreshed tokens) on the response.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let secure = secure(req.headers(), state.secure_cookies);
    let mut set: Vec<Cookie<'static>> = Vec::new();
    let id = match jar.get(SID).map(Cookie::value) {
        Some(id) if id.len() >= 16 && id.len() <= 64 => id.to_owned(),
        _ => {
            let id = new_session_id();
            set.push(cookie(SID, id.clone(), secure));
            id
        }
    };
    let guest_cart = jar
        .get(CART)
        .and_then(|c| state.signer.open("cart", c.value()))
        .map(GuestCart::decode)
        .unwrap_or_default();
    let mut session = Session {
        csrf: state.signer.csrf_token(&id),
        id,
        shopper: None,
        cart_count: guest_cart.count(),
        guest_cart,
        secure,
    };
    if let Some(token) = jar.get(ACCESS).map(|c| c.value().to_owned()) {
        if let Some(principal) = state.auth.authenticate(&token).await {
            session.shopper = Some(Shopper { principal, token });
        } else if let Some(rt) = jar.get(REFRESH).map(|c| c.value().to_owned()) {
            match refresh(&state, &rt).await {
                Some(tokens) => {
                    if let Some(principal) = state.auth.authenticate(&tokens.access_token).await {
                        set.extend(session.sign_in(&tokens));
                        session.shopper = Some(Shopper {
                            principal,
                            token: tokens.access_token,
                        });
                    }
                }
                None => set.extend(session.sign_out()),
            }
        } else {
            set.extend(session.sign_out());
        }
    }

    if session.shopper.is_some() {
        session.cart_count = jar
            .get(CART_COUNT)
            .and_then(|c| c.value().parse().ok())
            .unwrap_or(0);
    }

    let req = if is_write(req.method()) {
        match check_csrf(&state, &session, req).await {
            Ok(req) => req,
            Err(err) => return with_cookies(err.into_response(), &set),
        }
    } else {
        req
    };
    let mut req = req;
    req.extensions_mut().insert(Arc::new(session));
    let response = next.run(req).await;
    with_cookies(response, &set)
}

/// A cookie with the storefront's attributes: HttpOnly, SameSite=Lax, whole site, Secure over TLS.
fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Reads the form body, refuses it without this session's CSRF token, and hands the request on
/// with the body intact.
async fn check_csrf(
    state: &AppState,
    session: &Session,
    req: Request,
) -> Result<Request, PageError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| PageError::TooLarge)?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == "csrf")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !state.signer.csrf_ok(&session.id, &token) {
        tracing::warn!(path = %parts.uri.path(), "form post without a valid CSRF token refused");
        return Err(PageError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Adds the session's cookie changes to `response`, except where the handler set the same
/// cookie itself (a sign-out after a transparent refresh must stay signed out).
fn with_cookies(mut response: Response, cookies: &[Cookie<'static>]) -> Response {
    let set_by_handler: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split('=').next())
        .map(str::to_owned)
        .collect();
    for cookie in cookies {
        if set_by_handler.iter().any(|name| name == cookie.name()) {
            continue;
        }
        if let Ok(value) = cookie.to_string().parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
