//! The shopper's orders: history (newest first, cursor pages), detail with the confirmation
//! banner after checkout, and cancellation while the order has not shipped. The order service
//! answers 404 for anyone else's order, and so does this page.

use std::{fmt::Write as _, sync::Arc};

use askama::Template;
use axum::{
    Extension, Router,
    extract::{Path, Query, State},
    response::Response,
    routing::{get, post},
};
use reqwest::Method;
use serde::Deserialize;

use super::{
    AppState,
    pages::{Frame, notice, render, see_other},
};
use crate::{
    error::{PageError, Result},
    routes::session::Session,
    store::{Money, Order, OrderPage, Upstream, encode},
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list_orders))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/cancel", post(cancel_order))
}

/// An order in a table.
pub(crate) struct OrderRow {
    pub(crate) id: String,
    pub(crate) short_id: String,
    pub(crate) placed: String,
    pub(crate) status: String,
    pub(crate) items: i64,
    pub(crate) total: String,
    pub(crate) customer: String,
    pub(crate) cancellable: bool,
}

impl From<&Order> for OrderRow {
    fn from(o: &Order) -> Self {
        Self {
            id: o.id.clone(),
            short_id: short_id(&o.id),
            placed: o.created_at.format("%b %e, %Y %H:%M UTC").to_string(),
            status: o.status.clone(),
            items: o.lines.iter().map(|l| l.quantity).sum(),
            total: o.total.format(),
            customer: o.user_id.clone(),
            cancellable: matches!(o.status.as_str(), "pending" | "confirmed"),
        }
    }
}

/// The 8 characters of an order id that mails and pages show.
pub(crate) fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// Whether an order is a checkout that never got paid (declined card, sold out): the shopper
/// was told no order was placed, so their history does not list it.
fn never_placed(order: &Order) -> bool {
    order.status == "cancelled" && order.card.is_empty()
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    frame: Frame,
    orders: Vec<OrderRow>,
    next_page: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    done: Option<String>,
    placed: Option<String>,
}

async fn list_orders(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Query(q): Query<PageQuery>,
) -> Result<Response> {
    session.require("/orders")?;
    let mut path = "/api/orders?limit=20".to_owned();
    if let Some(cursor) = q
        .cursor
        .as_deref()
        .filter(|c| uuid::Uuid::parse_str(c).is_ok())
    {
        let _ = write!(path, "&cursor={}", encode(cursor));
    }
    let page: OrderPage = state
        .services
        .get("order", &path, session.caller(), None)
        .await?;
    let view = OrdersPage {
        frame: Frame::new(&session, "Your orders").with_notice(notice(q.done.as_deref())),
        orders: page
            .items
            .iter()
            .filter(|o| !never_placed(o))
            .map(OrderRow::from)
            .collect(),
        next_page: page
            .next_cursor
            .map(|c| format!("/orders?cursor={}", encode(&c))),
    };
    Ok(render(&view))
}

/// An order line as shown.
struct LineShown {
    sku: String,
    name: String,
    quantity: i64,
    unit_price: String,
    line_total: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderView {
    frame: Frame,
    id: String,
    short_id: String,
    placed: bool,
    placed_at: String,
    status: String,
    reason: Option<String>,
    lines: Vec<LineShown>,
    subtotal: String,
    tax: String,
    shipping: String,
    total: String,
    address: String,
    card: String,
    cancellable: bool,
}

async fn fetch(state: &AppState, session: &Session, id: &str) -> Result<Order> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(PageError::NotFound);
    }
    Ok(state
        .services
        .get(
            "order",
            &format!("/api/orders/{}", encode(id)),
            session.caller(),
            None,
        )
        .await?)
}

async fn get_order(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response> {
    session.require(&format!("/orders/{id}"))?;
    let order = fetch(&state, &session, &id).await?;
    let a = &order.shipping_address;
    let address = [
        Some(a.name.as_str()),
        Some(a.line1.as_str()),
        a.line2.as_deref(),
        Some(&format!("{} {}", a.postal_code, a.city)),
        Some(a.country.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let row = OrderRow::from(&order);
    let view = OrderView {
        frame: Frame::new(&session, format!("Order #{}", row.short_id))
            .with_notice(notice(q.done.as_deref())),
        id: order.id.clone(),
        short_id: row.short_id,
        placed: q.placed.is_some() && order.status != "cancelled",
        placed_at: row.placed,
        status: order.status.clone(),
        reason: order.reason.clone(),
        lines: order
            .lines
            .iter()
            .map(|l| LineShown {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.format(),
                line_total: Money {
                    amount: l.unit_price.amount.saturating_mul(l.quantity),
                    currency: l.unit_price.currency.clone(),
                }
                .format(),
            })
            .collect(),
        subtotal: order.subtotal.format(),
        tax: order.tax.format(),
        shipping: order.shipping.format(),
        total: order.total.format(),
        address,
        card: order.card.clone(),
        cancellable: row.cancellable,
    };
    Ok(render(&view))
}

/// Cancels order `id` as the session's shopper (owner or staff); 404 for anyone else.
pub(crate) async fn cancel(state: &AppState, session: &Session, id: &str) -> Result<()> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(PageError::NotFound);
    }
    let cancelled: std::result::Result<Order, Upstream> = state
        .services
        .call(
            "order",
            Method::POST,
            &format!("/api/orders/{}/cancel", encode(id)),
            None::<&()>,
            session.caller(),
            None,
            None,
        )
        .await;
    match cancelled {
        // Already shipped or cancelled: the order page shows where it stands.
        Ok(_) | Err(Upstream::Problem { status: 409, .. }) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

async fn cancel_order(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Path(id): Path<String>,
) -> Result<Response> {
    session.require("/orders")?;
    cancel(&state, &session, &id).await?;
    Ok(see_other(&format!("/orders/{id}?done=cancelled")))
}
