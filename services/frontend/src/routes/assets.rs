//! The storefront's own assets, compiled into the binary (nothing external: no CDN, font or
//! image host): the style sheet, the small progressive-enhancement script, the icon, and a
//! picture for every product at the catalog's `image_url` (`/images/products/{sku}.svg`).

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::AppState;
use crate::domain::placeholder;

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");
const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1a4fa0"/><path d="M9 12h14l-1.6 10H10.6z" fill="#fff"/><path d="M12.5 12a3.5 3.5 0 0 1 7 0" stroke="#fff" stroke-width="2" fill="none"/></svg>"##;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", BUILT, CSS) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", BUILT, JS) }),
        )
        .route(
            "/favicon.svg",
            get(|| async { asset("image/svg+xml", BUILT, ICON) }),
        )
        .route("/images/products/{file}", get(product_image))
}

/// How long the built assets are cached: they change only with a new build; an hour keeps pages
/// fast without stale styles lingering long after an upgrade.
const BUILT: &str = "public, max-age=3600";
/// How long a product's picture is cached: it is drawn from the SKU alone.
const PICTURE: &str = "public, max-age=86400";

/// `body` served as `content_type`, cacheable as `cache_control` says.
fn asset(
    content_type: &'static str,
    cache_control: &'static str,
    body: impl IntoResponse,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    response
}

async fn product_image(Path(file): Path<String>) -> Response {
    let Some(sku) = file.strip_suffix(".svg") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if sku.is_empty()
        || sku.len() > 64
        || !sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    asset("image/svg+xml", PICTURE, placeholder::svg(sku, sku, 400))
}
