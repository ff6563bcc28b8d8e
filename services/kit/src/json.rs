//! Extractors whose rejections are [`ApiError`]s, so a bad body or query keeps the
//! problem+json shape and names the field at fault.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::ApiError;

/// JSON body extractor and response wrapper.
///
/// Rejects a missing `Content-Type: application/json` with 415, invalid JSON (or invalid UTF-8)
/// with 400 `malformed-json`, and a well-formed body of the wrong shape (unknown field, wrong type,
/// missing field) with 422 `validation` naming the field's path.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes =
            Bytes::from_request(req, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::PayloadTooLarge
                    } else {
                        ApiError::BadRequest {
                            detail: rejection.body_text(),
                            field: None,
                        }
                    }
                })?;
        parse_json(&bytes).map(AppJson)
    }
}

/// Parses a JSON document with the field path of any shape error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Err(err) = std::str::from_utf8(bytes) {
        return Err(ApiError::MalformedJson {
            detail: format!(
                "request body is not valid UTF-8 (at byte {})",
                err.valid_up_to()
            ),
        });
    }
    // Syntax first, so a truncated document is reported as malformed rather than as whatever
    // type error the first few tokens happen to produce.
    let document: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| ApiError::MalformedJson {
            detail: format!("request body is not valid JSON: {err}"),
        })?;
    serde_path_to_error::deserialize(document).map_err(|err| {
        let path = err.path().to_string();
        ApiError::Validation {
            field: if path == "." { "body".into() } else { path },
            detail: strip_position(&err.into_inner().to_string()),
        }
    })
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn is_json(req: &Request) -> bool {
    let Some(content_type) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(content_type) = content_type.to_str() else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string extractor whose rejections are 400 problems naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(AppQuery)
    }
}

/// Parses a query string, rejecting invalid percent-encoding or UTF-8 and naming the parameter
/// whose value does not fit.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    check_query_encoding(query.as_bytes()).map_err(|detail| ApiError::BadRequest {
        detail: detail.to_owned(),
        field: None,
    })?;
    let pairs = form_urlencoded::parse(query.as_bytes());
    let deserializer = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let detail = err.into_inner().to_string();
        let field = if path == "." {
            // serde names the parameter inside the message for unknown or missing fields.
            detail.split('`').nth(1).map(str::to_owned)
        } else {
            Some(path)
        };
        ApiError::BadRequest { detail, field }
    })
}

/// Checks that every `%XX` escape is well-formed and that each decoded component is UTF-8.
fn check_query_encoding(query: &[u8]) -> Result<(), &'static str> {
    for component in query.split(|b| *b == b'&' || *b == b'=') {
        let mut bytes = Vec::with_capacity(component.len());
        let mut i = 0;
        while i < component.len() {
            if component[i] == b'%' {
                let byte = component
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or("query string has a malformed percent-escape")?;
                bytes.push(byte);
                i += 3;
            } else {
                bytes.push(component[i]);
                i += 1;
            }
        }
        if std::str::from_utf8(&bytes).is_err() {
            return Err("query string is not valid UTF-8");
        }
    }
    Ok(())
}

/// Path-parameter extractor whose rejections are 400 problems.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| AppPath(value))
            .map_err(|rejection| ApiError::BadRequest {
                detail: rejection.body_text(),
                field: Some("path".to_owned()),
            })
    }
}
