//! What every page shares: the frame around it (shop name, search box, account links, cart
//! count, CSRF token), rendering, redirects after a form, and safe `next` targets.

use std::sync::OnceLock;

use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::routes::session::Session;

static SHOP_NAME: OnceLock<String> = OnceLock::new();

/// Sets the shop name error pages use (they render without a session).
pub fn set_shop_name(name: &str) {
    let _ = SHOP_NAME.set(name.to_owned());
}

/// The frame of a page.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// `<title>`.
    pub title: String,
    /// The shop's name.
    pub shop_name: String,
    /// CSRF token for the page's forms.
    pub csrf: String,
    /// Whether a shopper is signed in.
    pub signed_in: bool,
    /// Whether they are an admin.
    pub is_admin: bool,
    /// Units in the cart.
    pub cart_count: u32,
    /// The search box's text.
    pub q: String,
    /// A one-line notice at the top of the page.
    pub notice: Option<String>,
}

impl Frame {
    /// The frame of a page titled `title` for `session`.
    pub fn new(session: &Session, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            shop_name: SHOP_NAME
                .get()
                .cloned()
                .unwrap_or_else(|| "shopctl".to_owned()),
            csrf: session.csrf.clone(),
            signed_in: session.shopper.is_some(),
            is_admin: session
                .shopper
                .as_ref()
                .is_some_and(crate::routes::session::Shopper::is_admin),
            cart_count: session.cart_count,
            q: String::new(),
            notice: None,
        }
    }

    /// A frame without a session (error pages).
    pub fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            shop_name: SHOP_NAME
                .get()
                .cloned()
                .unwrap_or_else(|| "shopctl".to_owned()),
            ..Self::default()
        }
    }

    /// With a notice.
    #[must_use]
    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

/// A rendered page, or the error page when the template fails.
pub fn render<T: Template>(page: &T) -> Response {
    render_with(StatusCode::OK, page)
}

/// A rendered page with `status` (a form shown again with its errors is 422).
pub fn render_with<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            // Pages carry the shopper's data: never cache them anywhere.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => crate::error::PageError::Internal(anyhow::anyhow!("template failed: {err}"))
            .into_response(),
    }
}

/// 303 See Other to `to` (after a form post).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `next` if it is a path of this shop (`/…`, not `//host` or `/\host`), else `/`.
pub fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n']);
    if local { next } else { "/" }
}

/// A notice chosen by a query flag (`?done=saved`), from a fixed list so no text from the URL
/// reaches the page.
pub fn notice(flag: Option<&str>) -> Option<String> {
    let text = match flag? {
        "added" => "Added to your cart.",
        "updated" => "Your cart was updated.",
        "saved" => "Saved.",
        "password" => "Your password was changed.",
        "welcome" => "Welcome! Your account is ready.",
        "signed-in" => "You're signed in.",
        "signed-out" => "You're signed out.",
        "deleted" => "Your account was deleted. We're sorry to see you go.",
        "cancelled" => "The order was cancelled.",
        "created" => "The product was created.",
        "stock" => "Stock was adjusted.",
        "redriven" => "The dead letters were sent again.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/checkout"), "/checkout");
        assert_eq!(safe_next("/orders?x=1"), "/orders?x=1");
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "checkout",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next(hostile), "/", "{hostile:?}");
        }
    }
}
