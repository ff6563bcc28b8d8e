//! The cart: the order service's for a signed-in shopper, the signed cookie's for a guest
//! (priced from the catalog when shown, merged into the account's at sign-in).

use std::sync::Arc;

use askama::Template;
use axum::{
    Extension, Form, Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::CookieJar;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{
    AppState,
    pages::{Frame, notice, render, see_other},
};
use crate::{
    error::Result,
    routes::session::Session,
    store::{Cart, Money, Product, Upstream, encode},
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/cart", get(show_cart))
        .route("/cart/add", post(add_item))
        .route("/cart/update", post(update_item))
        .route("/cart/remove", post(remove_item))
}

/// A cart line as shown.
#[derive(Clone)]
pub(crate) struct LineView {
    pub(crate) sku: String,
    pub(crate) name: String,
    pub(crate) quantity: i64,
    pub(crate) unit_price: String,
    pub(crate) line_total: String,
    pub(crate) available: bool,
}

/// A cart as shown.
pub(crate) struct CartShown {
    pub(crate) lines: Vec<LineView>,
    pub(crate) subtotal: String,
    pub(crate) units: i64,
    pub(crate) checkout_ready: bool,
}

impl From<&Cart> for CartShown {
    fn from(cart: &Cart) -> Self {
        Self {
            lines: cart
                .items
                .iter()
                .map(|l| LineView {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price.format(),
                    line_total: l.line_total.format(),
                    available: l.available,
                })
                .collect(),
            subtotal: cart.subtotal.format(),
            units: cart.item_count,
            checkout_ready: !cart.items.is_empty() && cart.items.iter().all(|l| l.available),
        }
    }
}

/// The account's cart, from the order service.
pub(crate) async fn account_cart(state: &AppState, session: &Session) -> Result<Cart> {
    Ok(state
        .services
        .get("order", "/api/cart", session.caller(), None)
        .await?)
}

/// The guest cart priced from the catalog (lines the catalog no longer has show as such).
async fn guest_cart(state: &AppState, session: &Session) -> Cart {
    let lookups = session
        .guest_cart
        .lines()
        .iter()
        .map(|(sku, quantity)| async move {
            let path = format!("/api/products/sku/{}", encode(sku));
            let product = state
                .services
                .get::<Product>("product", &path, session.caller(), None)
                .await
                .ok();
            (sku.clone(), i64::from(*quantity), product)
        });
    let mut subtotal = Money {
        amount: 0,
        currency: "USD".to_owned(),
    };
    let mut items = Vec::new();
    let mut count = 0;
    for (sku, quantity, product) in futures_util::future::join_all(lookups).await {
        count += quantity;
        let (name, unit, available) = match product {
            Some(p) => (p.name, p.price, p.active),
            None => (
                sku.clone(),
                Money {
                    amount: 0,
                    currency: subtotal.currency.clone(),
                },
                false,
            ),
        };
        let line_total = Money {
            amount: unit.amount.saturating_mul(quantity),
            currency: unit.currency.clone(),
        };
        if available {
            subtotal.amount = subtotal.amount.saturating_add(line_total.amount);
            subtotal.currency.clone_from(&unit.currency);
        }
        items.push(crate::store::CartLine {
            sku,
            name,
            quantity,
            unit_price: unit,
            line_total,
            available,
        });
    }
    Cart {
        items,
        subtotal,
        item_count: count,
    }
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    frame: Frame,
    lines: Vec<LineView>,
    subtotal: String,
}

#[derive(Debug, Deserialize)]
struct Flag {
    done: Option<String>,
}

async fn show_cart(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    axum::extract::Query(flag): axum::extract::Query<Flag>,
) -> Result<Response> {
    let cart = if session.shopper.is_some() {
        account_cart(&state, &session).await?
    } else {
        guest_cart(&state, &session).await
    };
    let shown = CartShown::from(&cart);
    let mut frame = Frame::new(&session, "Cart").with_notice(notice(flag.done.as_deref()));
    frame.cart_count = u32::try_from(shown.units).unwrap_or(0);
    let page = CartPage {
        frame,
        lines: shown.lines,
        subtotal: shown.subtotal,
    };
    let jar = CookieJar::new();
    let jar = if session.shopper.is_some() {
        jar.add(session.cart_count_cookie(cart.item_count))
    } else {
        jar
    };
    Ok((jar, render(&page)).into_response())
}

/// Form of the cart's buttons.
#[derive(Debug, Deserialize)]
struct LineForm {
    sku: String,
    #[serde(default)]
    quantity: Option<String>,
}

fn quantity(form: &LineForm, default: u32) -> u32 {
    form.quantity
        .as_deref()
        .and_then(|q| q.trim().parse::<u32>().ok())
        .unwrap_or(default)
        .min(crate::domain::guest_cart::MAX_QUANTITY)
}

/// After a change to an account's cart: the header count from the answer, and back to the cart.
fn after_change(
    session: &Session,
    result: std::result::Result<Cart, Upstream>,
    done: &str,
) -> Result<Response> {
    match result {
        Ok(cart) => {
            let jar = CookieJar::new().add(session.cart_count_cookie(cart.item_count));
            Ok((jar, see_other(&format!("/cart?done={done}"))).into_response())
        }
        // Not for sale, over the caps, not in the cart: the cart shows what is true.
        Err(Upstream::Problem {
            status: 404 | 409 | 422,
            ..
        }) => Ok(see_other("/cart")),
        Err(err) => Err(err.into()),
    }
}

async fn add_item(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<LineForm>,
) -> Result<Response> {
    let units = quantity(&form, 1).max(1);
    if session.shopper.is_some() {
        let result = state
            .services
            .send(
                "order",
                Method::POST,
                "/api/cart/items",
                &json!({"sku": form.sku.trim(), "quantity": units}),
                session.caller(),
                None,
            )
            .await;
        return after_change(&session, result, "added");
    }
    let mut cart = session.guest_cart.clone();
    cart.add(form.sku.trim(), units);
    let jar = CookieJar::new().add(session.guest_cart_cookie(&state, &cart));
    Ok((jar, see_other("/cart?done=added")).into_response())
}

async fn update_item(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<LineForm>,
) -> Result<Response> {
    let units = quantity(&form, 0);
    if session.shopper.is_some() {
        let path = format!("/api/cart/items/{}", encode(form.sku.trim()));
        let result = if units == 0 {
            state
                .services
                .call(
                    "order",
                    Method::DELETE,
                    &path,
                    None::<&()>,
                    session.caller(),
                    None,
                    None,
                )
                .await
        } else {
            state
                .services
                .send(
                    "order",
                    Method::PATCH,
                    &path,
                    &json!({"quantity": units}),
                    session.caller(),
                    None,
                )
                .await
        };
        return after_change(&session, result, "updated");
    }
    let mut cart = session.guest_cart.clone();
    cart.set(form.sku.trim(), units);
    let jar = CookieJar::new().add(session.guest_cart_cookie(&state, &cart));
    Ok((jar, see_other("/cart?done=updated")).into_response())
}

async fn remove_item(
    state: State<AppState>,
    session: Extension<Arc<Session>>,
    Form(mut form): Form<LineForm>,
) -> Result<Response> {
    form.quantity = Some("0".to_owned());
    update_item(state, session, Form(form)).await
}
