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
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use shopctl_kit::client::Caller;

use super::{
    AppState,
    orders::{OrderRow, cancel},
    pages::{Frame, notice, render, render_with, see_other},
};
use crate::{
    domain::money,
    error::{PageError, Result},
    session::Session,
    store::{Category, DeadLetter, OrderPage, Product, ProductPage, Stock, Upstream, encode},
};

/// Services whose event queues the dead-letter page shows.
const QUEUES: [&str; 5] = ["order", "user", "notification", "product", "inventory"];

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

/// A product in the admin table.
struct ProductRow {
    sku: String,
    name: String,
    category: String,
    price: String,
}

#[derive(Template)]
#[template(path = "admin/products.html")]
struct ProductsPage {
    frame: Frame,
    query: String,
    products: Vec<ProductRow>,
    next_page: Option<String>,
}

async fn list_products(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Query(q): Query<AdminQuery>,
) -> Result<Response> {
    session.require_admin("/admin/products")?;
    let query = q.q.unwrap_or_default().trim().to_owned();
    let mut path = "/api/products?limit=50&sort=name".to_owned();
    if !query.is_empty() {
        let _ = write!(path, "&q={}", encode(&query));
    }
    if let Some(cursor) = q.cursor.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(path, "&cursor={}", encode(cursor));
    }
    let page: ProductPage = state
        .services
        .get("product", &path, session.caller(), None)
        .await?;
    let next_page = page.next_cursor.map(|c| {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("q={}&", encode(&query))
        };
        format!("/admin/products?{q}cursor={}", encode(&c))
    });
    let view = ProductsPage {
        frame: Frame::new(&session, "Products").with_notice(notice(q.done.as_deref())),
        query,
        products: page
            .items
            .iter()
            .map(|p| ProductRow {
                sku: p.sku.clone(),
                name: p.name.clone(),
                category: p.category.clone(),
                price: p.price.display(),
            })
            .collect(),
        next_page,
    };
    Ok(render(&view))
}

/// The product form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
struct ProductForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    active: Option<String>,
}

/// The form as the template shows it.
struct FormView {
    sku: String,
    name: String,
    brand: String,
    category: String,
    price: String,
    description: String,
    active: bool,
}

impl From<&ProductForm> for FormView {
    fn from(f: &ProductForm) -> Self {
        Self {
            sku: f.sku.trim().to_owned(),
            name: f.name.clone(),
            brand: f.brand.clone(),
            category: f.category.clone(),
            price: f.price.clone(),
            description: f.description.clone(),
            active: f.active.is_some(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/product.html")]
struct ProductEditPage {
    frame: Frame,
    is_new: bool,
    action: String,
    form: FormView,
    categories: Vec<Category>,
    stock: Option<Stock>,
    error: Option<String>,
}

async fn categories(state: &AppState, session: &Session) -> Result<Vec<Category>> {
    Ok(state
        .services
        .get("product", "/api/categories", session.caller(), None)
        .await?)
}

async fn new_product(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
) -> Result<Response> {
    session.require_admin("/admin/products/new")?;
    let view = ProductEditPage {
        frame: Frame::new(&session, "New product"),
        is_new: true,
        action: "/admin/products/new".to_owned(),
        form: FormView::from(&ProductForm {
            active: Some("on".to_owned()),
            ..ProductForm::default()
        }),
        categories: categories(&state, &session).await?,
        stock: None,
        error: None,
    };
    Ok(render(&view))
}

/// The product API's body for the form, or what is wrong with it.
fn product_body(
    form: &ProductForm,
    existing: Option<&Product>,
) -> std::result::Result<serde_json::Value, String> {
    let Some(amount) = money::parse(&form.price) else {
        return Err("Enter the price as a number like 49.99.".to_owned());
    };
    let mut body = json!({
        "sku": form.sku.trim(), "name": form.name.trim(), "brand": form.brand.trim(),
        "category": form.category.trim(), "description": form.description.trim(),
        "price": {"amount": amount, "currency": existing.map_or("USD", |p| p.price.currency.as_str())},
        "active": form.active.is_some(),
    });
    if let Some(product) = existing {
        body["attributes"] = json!(product.attributes);
    }
    Ok(body)
}

async fn show_form_again(
    state: &AppState,
    session: &Session,
    form: &ProductForm,
    is_new: bool,
    error: String,
) -> Result<Response> {
    let sku = form.sku.trim();
    let view = ProductEditPage {
        frame: Frame::new(
            session,
            if is_new {
                "New product"
            } else {
                "Edit product"
            },
        ),
        is_new,
        action: if is_new {
            "/admin/products/new".to_owned()
        } else {
            format!("/admin/products/{}", encode(sku))
        },
        form: FormView::from(form),
        categories: categories(state, session).await?,
        stock: None,
        error: Some(error),
    };
    Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &view))
}

/// A service's refusal of the product form, as one sentence.
fn refusal(err: &Upstream) -> Option<String> {
    match err {
        Upstream::Problem {
            status: 409 | 422,
            detail,
            field,
            ..
        } => Some(match field.as_deref() {
            Some(field) if field != "body" => {
                format!("{}: {detail}.", field.replace("price.amount", "price"))
            }
            _ => format!("{detail}."),
        }),
        _ => None,
    }
}

async fn create_product(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<ProductForm>,
) -> Result<Response> {
    session.require_admin("/admin/products/new")?;
    let body = match product_body(&form, None) {
        Ok(body) => body,
        Err(error) => return show_form_again(&state, &session, &form, true, error).await,
    };
    let created: std::result::Result<Product, Upstream> = state
        .services
        .send(
            "product",
            Method::POST,
            "/api/products",
            &body,
            session.caller(),
            None,
        )
        .await;
    match created {
        Ok(product) => Ok(see_other(&format!(
            "/admin/products/{}?done=created",
            encode(&product.sku)
        ))),
        Err(err) => match refusal(&err) {
            Some(error) => show_form_again(&state, &session, &form, true, error).await,
            None => Err(err.into()),
        },
    }
}

async fn product_by_sku(state: &AppState, session: &Session, sku: &str) -> Result<Product> {
    Ok(state
        .services
        .get(
            "product",
            &format!("/api/products/sku/{}", encode(sku)),
            session.caller(),
            None,
        )
        .await?)
}

async fn edit_product(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Path(sku): Path<String>,
    Query(q): Query<AdminQuery>,
) -> Result<Response> {
    session.require_admin("/admin/products")?;
    let product = product_by_sku(&state, &session, &sku).await?;
    let stock = match state
        .services
        .get::<Stock>(
            "inventory",
            &format!("/api/inventory/{}", encode(&product.sku)),
            session.caller(),
            None,
        )
        .await
    {
        Ok(stock) => Some(stock),
        Err(Upstream::Problem { status: 404, .. }) => None,
        Err(err) => return Err(err.into()),
    };
    let form = ProductForm {
        sku: product.sku.clone(),
        name: product.name.clone(),
        brand: product.brand.clone(),
        category: product.category.clone(),
        price: format!(
            "{}.{:02}",
            product.price.amount / 100,
            product.price.amount % 100
        ),
        description: product.description.clone(),
        active: product.active.then(|| "on".to_owned()),
    };
    let view = ProductEditPage {
        frame: Frame::new(&session, format!("Edit {}", product.sku))
            .with_notice(notice(q.done.as_deref())),
        is_new: false,
        action: format!("/admin/products/{}", encode(&product.sku)),
        form: FormView::from(&form),
        categories: categories(&state, &session).await?,
        stock,
        error: None,
    };
    Ok(render(&view))
}

async fn update_product(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Path(sku): Path<String>,
    Form(mut form): Form<ProductForm>,
) -> Result<Response> {
    session.require_admin("/admin/products")?;
    let product = product_by_sku(&state, &session, &sku).await?;
    // The SKU is the product's identity here: the path's, whatever the form says.
    form.sku.clone_from(&product.sku);
    let body = match product_body(&form, Some(&product)) {
        Ok(body) => body,
        Err(error) => return show_form_again(&state, &session, &form, false, error).await,
    };
    let path = format!("/api/products/{}", encode(&product.id));
    let updated: std::result::Result<Product, Upstream> = state
        .services
        .send("product", Method::PUT, &path, &body, session.caller(), None)
        .await;
    match updated {
        Ok(product) => Ok(see_other(&format!(
            "/admin/products/{}?done=saved",
            encode(&product.sku)
        ))),
        Err(err) => match refusal(&err) {
            Some(error) => show_form_again(&state, &session, &form, false, error).await,
            None => Err(err.into()),
        },
    }
}

#[derive(Debug, Deserialize)]
struct StockForm {
    delta: String,
    reason: String,
}

async fn adjust_stock(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Path(sku): Path<String>,
    Form(form): Form<StockForm>,
) -> Result<Response> {
    session.require_admin("/admin/products")?;
    let product = product_by_sku(&state, &session, &sku).await?;
    let back = format!("/admin/products/{}", encode(&product.sku));
    let Ok(delta) = form.delta.trim().parse::<i64>() else {
        return Ok(see_other(&back));
    };
    let adjusted: std::result::Result<Stock, Upstream> = state
        .services
        .send(
            "inventory",
            Method::POST,
            &format!("/api/inventory/{}/adjust", encode(&product.sku)),
            &json!({"delta": delta, "reason": form.reason.trim()}),
            session.caller(),
            None,
        )
        .await;
    match adjusted {
        Ok(_) => Ok(see_other(&format!("{back}?done=stock"))),
        Err(Upstream::Problem {
            status: 404 | 409 | 422,
            ..
        }) => Ok(see_other(&back)),
        Err(err) => Err(err.into()),
    }
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
