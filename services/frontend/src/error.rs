//! The storefront's one error type and its pages: a shopper sees a friendly page with a way
//! on (home, sign in, try again), never internals; the cause of a 5xx is logged.

use askama::Template;
use axum::{
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::{routes::pages::Frame, store::Upstream};

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No such page or thing (or not the shopper's: 404, never "forbidden", for others' orders).
    #[error("not found")]
    NotFound,
    /// Signed in, but without the role.
    #[error("forbidden")]
    Forbidden,
    /// A form post without this browser's CSRF token.
    #[error("missing or stale CSRF token")]
    Csrf,
    /// A form larger than any of the shop's.
    #[error("form too large")]
    TooLarge,
    /// The page needs a signed-in shopper: go to the sign-in page, then back to `next`.
    #[error("sign-in needed")]
    SignIn {
        /// Where to return after signing in.
        next: String,
    },
    /// Too many requests.
    #[error("rate limited")]
    RateLimited,
    /// A service the page needs did not answer.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Upstream> for PageError {
    fn from(err: Upstream) -> Self {
        match err.status() {
            Some(404) => Self::NotFound,
            Some(401) => Self::SignIn {
                next: "/".to_owned(),
            },
            Some(403) => Self::Forbidden,
            Some(429) => Self::RateLimited,
            Some(503) | None => Self::Unavailable(err.to_string()),
            Some(_) => Self::Internal(anyhow::Error::new(err)),
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Page chrome.
    pub frame: Frame,
    /// Status code shown.
    pub code: u16,
    /// Headline.
    pub heading: &'static str,
    /// What happened and what to do.
    pub message: &'static str,
}

impl PageError {
    fn page(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "We couldn't find that page",
                "The link may be old, or the product is no longer sold. Try searching, or start from the home page.",
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "That page isn't for your account",
                "Sign in with an account that may see it, or go back to the shop.",
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety we only accept forms sent from a page of this shop. Go back, reload the page and try again.",
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "That was more than we can take",
                "The form was too large. Go back and try again with less.",
            ),
            Self::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "Slow down a little",
                "You've made a lot of requests in a short time. Wait a moment, then try again.",
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Part of the shop is taking a break",
                "We couldn't reach it just now. Nothing was charged. Please try again in a moment.",
            ),
            Self::SignIn { .. } | Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side",
                "We've noted it and will look into it. Please try again in a moment.",
            ),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Self::SignIn { next } = &self {
            let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            return Redirect::to(&format!("/login?next={next}")).into_response();
        }
        match &self {
            Self::Internal(err) => tracing::error!(error = format!("{err:#}"), "page failed"),
            Self::Unavailable(why) => {
                tracing::warn!(why, "page degraded: a service is unavailable");
            }
            _ => {}
        }
        let (status, heading, message) = self.page();
        error_page(status, heading, message)
    }
}

/// An error page with `status`.
pub fn error_page(status: StatusCode, heading: &'static str, message: &'static str) -> Response {
    let page = ErrorPage {
        frame: Frame::bare(heading),
        code: status.as_u16(),
        heading,
        message,
    };
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            if status == StatusCode::TOO_MANY_REQUESTS {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
            }
            response
        }
        Err(_) => (status, heading).into_response(),
    }
}

/// Result of a page handler.
pub type Result<T, E = PageError> = std::result::Result<T, E>;
