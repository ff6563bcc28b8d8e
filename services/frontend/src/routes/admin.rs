//! Admin pages (the `admin` role only; everyone else gets 403, visitors the sign-in page):
//! products (create, edit) with stock adjustment, every customer's orders with cancellation,
//! and the dead letters of each service's event queues with redrive. Every write goes to the
//! owning service with the admin's own token, so the services' role checks and audit logs
//! apply; the dead-letter view asks each service's `/admin/dead-letters` with a service token
//! after this page checked the role.

use std::{fmt::Write as _, sync::Arc};

use askama::Template;
use axum::{
    Extension, Form, Router,
    extract::{Path, Query, State},
    response::Response,
    routing::{get, post},
};
use reqwest::Method;
use serde::Deserialize;
use shopctl_kit::client::Caller;

use super::{
    AppState,
    orders::{OrderRow, cancel},
    pages::{Frame, notice, render, see_other},
};
use crate::{
    error::{PageError, Result},
    routes::session::Session,
    store::{DeadLetter, OrderPage, encode},
};

/// Services whose event queues the dead-letter page shows.
const QUEUES: [&str; 5] = ["order", "user", "notification", "product", "inventory"];

mod products;

use products::{
    adjust_stock, create_product, edit_product, list_products, new_product, update_product,
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_home))
        .route("/admin/products", get(list_products))
        .route("/admin/products/new", get(new_product).post(create_product))
        .route(
            "/admin/products/{sku}",
            get(edit_product).post(update_product),
        )
        .route("/admin/products/{sku}/stock", post(adjust_stock))
        .route("/admin/orders", get(list_orders))
        .route("/admin/orders/{id}/cancel", post(cancel_order))
        .route("/admin/dlq", get(dead_letters))
        .route("/admin/dlq/redrive", post(redrive))
}

#[derive(Debug, Default, Deserialize)]
struct AdminQuery {
    q: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
    done: Option<String>,
}

/// One service's dead letters.
struct Queue {
    name: &'static str,
    items: Vec<DeadLetter>,
    error: Option<String>,
}

async fn queues(state: &AppState) -> Vec<Queue> {
    let fetches = QUEUES.iter().map(|name| async move {
        #[derive(Deserialize)]
        struct Listed {
            items: Vec<DeadLetter>,
        }
        match state
            .services
            .get::<Listed>(name, "/admin/dead-letters?limit=100", Caller::Service, None)
            .await
        {
            Ok(listed) => Queue {
                name,
                items: listed.items,
                error: None,
            },
            Err(err) => {
                tracing::warn!(service = name, error = %err, "dead letters not listed");
                Queue {
                    name,
                    items: Vec::new(),
                    error: Some("could not be read just now".to_owned()),
                }
            }
        }
    });
    futures_util::future::join_all(fetches).await
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    frame: Frame,
    dead_letters: usize,
}

async fn admin_home(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
) -> Result<Response> {
    session.require_admin("/admin")?;
    let dead_letters = queues(&state).await.iter().map(|q| q.items.len()).sum();
    Ok(render(&HomePage {
        frame: Frame::new(&session, "Admin"),
        dead_letters,
    }))
}
#[derive(Template)]
#[template(path = "admin/orders.html")]
struct OrdersPage {
    frame: Frame,
    statuses: Vec<(&'static str, bool)>,
    query: String,
    orders: Vec<OrderRow>,
    next_page: Option<String>,
}

const STATUSES: [&str; 6] = [
    "",
    "pending",
    "confirmed",
    "cancelled",
    "shipped",
    "delivered",
];

async fn list_orders(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Query(q): Query<AdminQuery>,
) -> Result<Response> {
    session.require_admin("/admin/orders")?;
    let status = q
        .status
        .as_deref()
        .filter(|s| STATUSES.contains(s))
        .unwrap_or("");
    let query: String =
        q.q.unwrap_or_default()
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .take(64)
            .collect();
    let mut filters = String::new();
    if !status.is_empty() {
        let _ = write!(filters, "&status={status}");
    }
    if !query.is_empty() {
        let _ = write!(filters, "&q={}", encode(&query));
    }
    let mut path = format!("/api/orders?customer=all&limit=50{filters}");
    if let Some(cursor) = q
        .cursor
        .as_deref()
        .filter(|c| uuid::Uuid::parse_str(c).is_ok())
    {
        let _ = write!(path, "&cursor={cursor}");
    }
    let page: OrderPage = state
        .services
        .get("order", &path, session.caller(), None)
        .await?;
    let view = OrdersPage {
        frame: Frame::new(&session, "Orders").with_notice(notice(q.done.as_deref())),
        statuses: STATUSES.iter().map(|s| (*s, *s == status)).collect(),
        query,
        orders: page.items.iter().map(OrderRow::from).collect(),
        next_page: page
            .next_cursor
            .map(|c| format!("/admin/orders?cursor={}{filters}", encode(&c))),
    };
    Ok(render(&view))
}

async fn cancel_order(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Path(id): Path<String>,
) -> Result<Response> {
    session.require_admin("/admin/orders")?;
    cancel(&state, &session, &id).await?;
    Ok(see_other("/admin/orders?done=cancelled"))
}

#[derive(Template)]
#[template(path = "admin/dlq.html")]
struct DeadLettersPage {
    frame: Frame,
    services: Vec<Queue>,
}

async fn dead_letters(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Query(q): Query<AdminQuery>,
) -> Result<Response> {
    session.require_admin("/admin/dlq")?;
    let view = DeadLettersPage {
        frame: Frame::new(&session, "Dead letters").with_notice(notice(q.done.as_deref())),
        services: queues(&state).await,
    };
    Ok(render(&view))
}

#[derive(Debug, Deserialize)]
struct RedriveForm {
    service: String,
}

async fn redrive(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<RedriveForm>,
) -> Result<Response> {
    let admin = session.require_admin("/admin/dlq")?;
    let Some(service) = QUEUES.iter().find(|s| **s == form.service) else {
        return Err(PageError::NotFound);
    };
    let _: serde_json::Value = state
        .services
        .call(
            service,
            Method::POST,
            "/admin/dead-letters/redrive",
            None::<&()>,
            Caller::Service,
            None,
            None,
        )
        .await?;
    tracing::info!(service, by = %admin.principal.subject, "dead letters redriven from the admin page");
    Ok(see_other("/admin/dlq?done=redriven"))
}
