//! The admin's product pages: the catalog list, the create and edit forms (with the catalog's
//! refusals shown at the fields), and stock adjustment, each write sent with the admin's own
//! token.

use std::{fmt::Write as _, sync::Arc};

use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::AdminQuery;
use crate::{
    error::Result,
    routes::session::Session,
    routes::{
        AppState,
        pages::{Frame, notice, render, render_with, see_other},
    },
    store::Money,
    store::{Category, Product, ProductPage, Stock, Upstream, encode},
};

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

pub(super) async fn list_products(
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
                price: p.price.format(),
            })
            .collect(),
        next_page,
    };
    Ok(render(&view))
}

/// The product form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ProductForm {
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

pub(super) async fn new_product(
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
    let currency = existing.map_or("USD", |p| p.price.currency.as_str());
    let Some(price) = Money::parse_decimal(&form.price, currency) else {
        return Err("Enter the price as a number like 49.99.".to_owned());
    };
    let mut body = json!({
        "sku": form.sku.trim(), "name": form.name.trim(), "brand": form.brand.trim(),
        "category": form.category.trim(), "description": form.description.trim(),
        "price": price,
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

pub(super) async fn create_product(
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

pub(super) async fn edit_product(
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

pub(super) async fn update_product(
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
pub(super) struct StockForm {
    delta: String,
    reason: String,
}

pub(super) async fn adjust_stock(
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
