//! Browsing: the home page, category listings and search (both with facets, sort and cursor
//! pagination), and product pages with live stock.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    Extension, Router,
    extract::{Path, RawQuery, State},
    response::Response,
    routing::get,
};

use super::{
    AppState,
    pages::{Frame, render},
};
use crate::{
    domain::{guest_cart::MAX_QUANTITY, highlight, placeholder},
    error::{PageError, Result},
    routes::session::Session,
    store::Money,
    store::{Category, Product, ProductPage, Stock, Upstream, encode},
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/c/{category}", get(category))
        .route("/search", get(search))
        .route("/p/{sku}", get(product))
}

/// A product in a grid.
pub(crate) struct CardView {
    pub(crate) sku: String,
    /// The name as safe HTML (search matches marked).
    pub(crate) name_html: String,
    pub(crate) brand: String,
    pub(crate) price: String,
    /// Inline SVG.
    pub(crate) picture: String,
}

impl CardView {
    fn new(product: &Product, query: &str) -> Self {
        Self {
            sku: product.sku.clone(),
            name_html: highlight::highlight(&product.name, query),
            brand: product.brand.clone(),
            price: product.price.format(),
            picture: placeholder::svg(&product.sku, &product.name, 220),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    frame: Frame,
    categories: Vec<Category>,
    featured: Vec<CardView>,
}

async fn categories(state: &AppState, session: &Session) -> Result<Vec<Category>> {
    Ok(state
        .services
        .get("product", "/api/categories", session.caller(), None)
        .await?)
}

async fn home(
    State(state): State<AppState>,
    Extension(session): Extension<std::sync::Arc<Session>>,
) -> Result<Response> {
    let path = format!("/api/products?sort=newest&limit={}", state.featured_count);
    let (categories, featured) = tokio::join!(
        categories(&state, &session),
        state
            .services
            .get::<ProductPage>("product", &path, session.caller(), None)
    );
    let page = HomePage {
        frame: Frame::new(&session, "Home"),
        categories: categories?,
        featured: featured?
            .items
            .iter()
            .map(|p| CardView::new(p, ""))
            .collect(),
    };
    Ok(render(&page))
}

/// A facet choice in the filter form.
struct FacetChoice {
    value: String,
    label: String,
    count: i64,
    selected: bool,
}

#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage {
    frame: Frame,
    heading: String,
    /// The form's own path.
    action: String,
    query: String,
    total: i64,
    products: Vec<CardView>,
    sorts: Vec<(&'static str, &'static str, bool)>,
    categories: Vec<FacetChoice>,
    brands: Vec<FacetChoice>,
    min_price: String,
    max_price: String,
    reset: String,
    first_page: Option<String>,
    next_page: Option<String>,
}

const SORTS: [(&str, &str); 5] = [
    ("relevance", "Best match"),
    ("newest", "Newest"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("name", "Name"),
];

/// Query parameters of a listing, as typed (unknown ones ignored; bad ones dropped).
#[derive(Debug, Default)]
struct Listing {
    q: String,
    category: String,
    brand: String,
    min_price: String,
    max_price: String,
    sort: String,
    cursor: String,
}

impl Listing {
    fn parse(raw: Option<&str>) -> Self {
        let mut listing = Self::default();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let value = value.trim().chars().take(200).collect::<String>();
            match key.as_ref() {
                "q" => listing.q = value,
                "category" => listing.category = value,
                "brand" => listing.brand = value,
                "min_price" => listing.min_price = value,
                "max_price" => listing.max_price = value,
                "sort" if SORTS.iter().any(|(s, _)| *s == value) => listing.sort = value,
                "cursor" => listing.cursor = value,
                _ => {}
            }
        }
        listing
    }

    /// The shop's own query string for these filters (no cursor).
    fn shop_query(&self, fixed_category: bool) -> Vec<(&'static str, &str)> {
        let mut pairs = Vec::new();
        for (key, value) in [
            ("q", &self.q),
            ("category", &self.category),
            ("brand", &self.brand),
            ("min_price", &self.min_price),
            ("max_price", &self.max_price),
            ("sort", &self.sort),
        ] {
            if !(value.is_empty() || fixed_category && key == "category") {
                pairs.push((key, value.as_str()));
            }
        }
        pairs
    }

    /// The product API's query for these filters.
    fn api_query(&self, limit: u32, with_cursor: bool) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("limit", limit.to_string())];
        for (key, value) in [
            ("q", &self.q),
            ("category", &self.category),
            ("brand", &self.brand),
        ] {
            if !value.is_empty() {
                pairs.push((key, value.clone()));
            }
        }
        if let Some(min) = Money::parse_decimal(&self.min_price, "USD").map(|m| m.amount) {
            pairs.push(("min_price", min.to_string()));
        }
        if let Some(max) = Money::parse_decimal(&self.max_price, "USD").map(|m| m.amount) {
            pairs.push(("max_price", max.to_string()));
        }
        if !self.sort.is_empty() && (self.sort != "relevance" || !self.q.is_empty()) {
            pairs.push(("sort", self.sort.clone()));
        }
        if with_cursor && !self.cursor.is_empty() {
            pairs.push(("cursor", self.cursor.clone()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn url(path: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Lists products for `listing`; a cursor that no longer fits the filters starts again.
async fn fetch(state: &AppState, session: &Session, listing: &Listing) -> Result<ProductPage> {
    let path = format!("/api/products?{}", listing.api_query(state.page_size, true));
    match state
        .services
        .get("product", &path, session.caller(), None)
        .await
    {
        Err(Upstream::Problem { status: 400, .. }) => {
            let path = format!(
                "/api/products?{}",
                listing.api_query(state.page_size, false)
            );
            Ok(state
                .services
                .get("product", &path, session.caller(), None)
                .await?)
        }
        other => Ok(other?),
    }
}

async fn listing_page(
    state: &AppState,
    session: &Session,
    listing: Listing,
    heading: String,
    action: String,
    fixed_category: bool,
    category_names: &BTreeMap<String, String>,
) -> Result<Response> {
    let page = if listing.q.is_empty() && !fixed_category {
        // An empty search shows nothing rather than everything.
        ProductPage {
            items: Vec::new(),
            next_cursor: None,
            total: 0,
            facets: crate::store::Facets::default(),
        }
    } else {
        fetch(state, session, &listing).await?
    };
    let pairs = listing.shop_query(fixed_category);
    let next_page = page.next_cursor.as_ref().map(|cursor| {
        let mut with = pairs.clone();
        with.push(("cursor", cursor));
        url(&action, &with)
    });
    let first_page = (!listing.cursor.is_empty()).then(|| url(&action, &pairs));
    let current_sort = if listing.sort.is_empty() {
        if listing.q.is_empty() {
            "newest"
        } else {
            "relevance"
        }
    } else {
        listing.sort.as_str()
    };
    let sorts = SORTS
        .iter()
        .filter(|(value, _)| *value != "relevance" || !listing.q.is_empty())
        .map(|(value, label)| (*value, *label, *value == current_sort))
        .collect();
    let choices = |facets: &[crate::store::FacetValue],
                   chosen: &str,
                   names: Option<&BTreeMap<String, String>>| {
        facets
            .iter()
            .map(|f| FacetChoice {
                label: names
                    .and_then(|n| n.get(&f.value).cloned())
                    .unwrap_or_else(|| f.value.clone()),
                value: f.value.clone(),
                count: f.count,
                selected: f.value == chosen,
            })
            .collect::<Vec<_>>()
    };
    let reset = if fixed_category {
        action.clone()
    } else {
        url(&action, &[("q", listing.q.as_str())])
    };
    let mut frame = Frame::new(session, heading.clone());
    frame.q.clone_from(&listing.q);
    let page = ListingPage {
        frame,
        heading,
        query: listing.q.clone(),
        total: page.total,
        products: page
            .items
            .iter()
            .map(|p| CardView::new(p, &listing.q))
            .collect(),
        sorts,
        categories: if fixed_category {
            Vec::new()
        } else {
            choices(
                &page.facets.category,
                &listing.category,
                Some(category_names),
            )
        },
        brands: choices(&page.facets.brand, &listing.brand, None),
        min_price: listing.min_price.clone(),
        max_price: listing.max_price.clone(),
        reset,
        first_page,
        next_page,
        action,
    };
    Ok(render(&page))
}

async fn category(
    State(state): State<AppState>,
    Extension(session): Extension<std::sync::Arc<Session>>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let all = categories(&state, &session).await?;
    let Some(found) = all.iter().find(|c| c.slug == slug) else {
        return Err(PageError::NotFound);
    };
    let mut listing = Listing::parse(raw.as_deref());
    listing.category.clone_from(&found.slug);
    let names = all
        .iter()
        .map(|c| (c.slug.clone(), c.name.clone()))
        .collect();
    let action = format!("/c/{}", encode(&found.slug));
    listing_page(
        &state,
        &session,
        listing,
        found.name.clone(),
        action,
        true,
        &names,
    )
    .await
}

async fn search(
    State(state): State<AppState>,
    Extension(session): Extension<std::sync::Arc<Session>>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let listing = Listing::parse(raw.as_deref());
    let heading = if listing.q.is_empty() {
        "Search".to_owned()
    } else {
        format!("Results for “{}”", listing.q)
    };
    let names = categories(&state, &session)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.slug, c.name))
        .collect();
    listing_page(
        &state,
        &session,
        listing,
        heading,
        "/search".to_owned(),
        false,
        &names,
    )
    .await
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductView {
    frame: Frame,
    sku: String,
    name: String,
    brand: String,
    price: String,
    description: String,
    category_slug: String,
    category_name: String,
    attributes: Vec<(String, String)>,
    picture: String,
    stock_text: String,
    stock_class: &'static str,
    can_buy: bool,
    max_quantity: i64,
}

/// What the product page says about stock.
fn stock_line(product: &Product, stock: Option<&Stock>) -> (String, &'static str, bool, i64) {
    if !product.active {
        return ("No longer sold".to_owned(), "out", false, 0);
    }
    match stock.map_or(0, |s| s.available) {
        0 => ("Out of stock".to_owned(), "out", false, 0),
        n @ 1..=5 => (format!("Only {n} left"), "low", true, n),
        n => (
            "In stock".to_owned(),
            "in",
            true,
            n.min(i64::from(MAX_QUANTITY)),
        ),
    }
}

async fn product(
    State(state): State<AppState>,
    Extension(session): Extension<std::sync::Arc<Session>>,
    Path(sku): Path<String>,
) -> Result<Response> {
    if sku.is_empty()
        || sku.len() > 64
        || !sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        return Err(PageError::NotFound);
    }
    let sku_path = encode(&sku);
    let product_path = format!("/api/products/sku/{sku_path}");
    let stock_path = format!("/api/inventory/{sku_path}");
    let (product, stock, categories) = tokio::join!(
        state
            .services
            .get::<Product>("product", &product_path, session.caller(), None),
        state
            .services
            .get::<Stock>("inventory", &stock_path, session.caller(), None),
        categories(&state, &session),
    );
    let product = product?;
    let stock = match stock {
        Ok(stock) => Some(stock),
        Err(Upstream::Problem { status: 404, .. }) => None,
        Err(err) => return Err(err.into()),
    };
    let category_name = categories
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.slug == product.category)
        .map_or_else(|| product.category.clone(), |c| c.name);
    let (stock_text, stock_class, can_buy, max_quantity) = stock_line(&product, stock.as_ref());
    let page = ProductView {
        frame: Frame::new(&session, product.name.clone()),
        picture: placeholder::svg(&product.sku, &product.name, 420),
        sku: product.sku.clone(),
        price: product.price.format(),
        attributes: product.attributes.clone().into_iter().collect(),
        name: product.name,
        brand: product.brand,
        description: product.description,
        category_slug: product.category,
        category_name,
        stock_text,
        stock_class,
        can_buy,
        max_quantity,
    };
    Ok(render(&page))
}
