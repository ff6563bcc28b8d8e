//! One error type for every HTTP handler, rendered as RFC 9457 `application/problem+json`.
//!
//! Each variant has a stable `type` URI (`https://shopctl.dev/problems/<slug>`) that clients and
//! the ops tools may branch on; titles and statuses never change for a slug. 4xx variants carry a
//! message meant for the caller; `Internal` logs its cause and returns a generic body, so no SQL,
//! path or secret ever reaches a client.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// Base of every problem `type` URI.
pub const PROBLEM_BASE: &str = "https://shopctl.dev/problems/";

/// `Result` with [`ApiError`] as the default error.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// An error a handler returns; see the module docs for the wire shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed in a way that is not about one field's value (bad query string,
    /// bad cursor, unknown parameter).
    #[error("{detail}")]
    BadRequest {
        /// What is wrong, for the caller.
        detail: String,
        /// The parameter at fault, when there is one.
        field: Option<String>,
    },
    /// The body is not syntactically valid JSON (or not UTF-8).
    #[error("{detail}")]
    MalformedJson {
        /// Parser message with line and column.
        detail: String,
    },
    /// A field is present but its value is not acceptable (wrong type, out of range, unknown).
    #[error("{field}: {detail}")]
    Validation {
        /// Dotted path of the field (`price.amount`).
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The body is not `application/json`.
    #[error("expected a request body with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The body is larger than the service accepts.
    #[error("request body is larger than the limit")]
    PayloadTooLarge,
    /// No valid credentials.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// Valid credentials without the required role.
    #[error("{detail}")]
    Forbidden {
        /// Which role was needed.
        detail: String,
    },
    /// The resource does not exist (or the caller may not know it exists).
    #[error("{detail}")]
    NotFound {
        /// What was not found.
        detail: String,
    },
    /// The route exists but not for this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The request conflicts with current state (duplicate key, resource in use).
    #[error("{detail}")]
    Conflict {
        /// What conflicts.
        detail: String,
    },
    /// The caller is over its rate limit.
    #[error("too many requests; slow down and retry after the time in `Retry-After`")]
    TooManyRequests,
    /// The request took longer than the service's per-request deadline.
    #[error("the request did not complete within the deadline")]
    Timeout,
    /// A dependency is unavailable; retrying later may succeed.
    #[error("{detail}")]
    Unavailable {
        /// Which dependency, in words safe for the caller.
        detail: String,
    },
    /// Anything else: logged with its cause chain, answered generically.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 404 with the given detail.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound {
            detail: detail.into(),
        }
    }

    /// A 409 with the given detail.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
        }
    }

    /// A 422 naming `field`.
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// A 400 naming the query or path parameter `field`.
    pub fn bad_param(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } | Self::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout | Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable slug of this error's `type` URI.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad-request",
            Self::MalformedJson { .. } => "malformed-json",
            Self::Validation { .. } => "validation",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge => "payload-too-large",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict { .. } => "conflict",
            Self::TooManyRequests => "rate-limited",
            Self::Timeout => "timeout",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "Bad request",
            Self::MalformedJson { .. } => "Malformed JSON body",
            Self::Validation { .. } => "Invalid field value",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::PayloadTooLarge => "Payload too large",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden { .. } => "Forbidden",
            Self::NotFound { .. } => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict { .. } => "Conflict",
            Self::TooManyRequests => "Too many requests",
            Self::Timeout => "Request timed out",
            Self::Unavailable { .. } => "Service unavailable",
            Self::Internal(_) => "Internal server error",
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let detail = match self {
            Self::Internal(_) => "An unexpected error occurred; it has been logged.".to_owned(),
            Self::Validation { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let field = match self {
            Self::Validation { field, .. } => Some(field.clone()),
            Self::BadRequest { field, .. } => field.clone(),
            _ => None,
        };
        Problem {
            kind: format!("{PROBLEM_BASE}{}", self.slug()),
            title: self.title(),
            status: self.status().as_u16(),
            detail,
            field,
        }
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary, fixed per `type`.
    pub title: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The request field or parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if matches!(self, Self::Unauthorized) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let err = ApiError::Internal(anyhow::anyhow!("password=hunter2 at /var/db"));
        let response = err.into_response();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("https://shopctl.dev/problems/internal"),
            "{text}"
        );
    }

    #[test]
    fn validation_problem_names_the_field() {
        let problem = ApiError::validation("price.amount", "must not be negative").problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.field.as_deref(), Some("price.amount"));
        assert_eq!(problem.kind, "https://shopctl.dev/problems/validation");
    }
}
