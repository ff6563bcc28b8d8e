//! Checkout: shipping address and card, sent once to the order service's saga with an
//! idempotency key minted when the form was shown (a double-click places one order). The card
//! fields pass through in memory only: never logged, never put back into a page.

use std::sync::Arc;

use askama::Template;
use axum::{
    Extension, Form, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use axum_extra::extract::cookie::CookieJar;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AppState,
    cart::{CartShown, LineView, account_cart},
    pages::{Frame, render, render_with, see_other},
};
use crate::{
    error::Result,
    routes::session::Session,
    store::{Order, Upstream},
};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/checkout", get(checkout_form).post(place_order))
}

/// One input of the form.
struct Field {
    name: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    required: bool,
    value: String,
    error: Option<String>,
}

const ADDRESS: [(&str, &str, &str, bool); 6] = [
    ("name", "Full name", "name", true),
    ("line1", "Address", "address-line1", true),
    (
        "line2",
        "Apartment, suite (optional)",
        "address-line2",
        false,
    ),
    ("city", "City", "address-level2", true),
    ("postal_code", "Postal code", "postal-code", true),
    ("country", "Country code (e.g. US)", "country", true),
];

const CARD: [(&str, &str, &str); 3] = [
    ("card_number", "Card number", "cc-number"),
    ("expiry", "Expiry (MM/YY)", "cc-exp"),
    ("cvc", "Security code (CVC)", "cc-csc"),
];

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    frame: Frame,
    key: String,
    address: Vec<Field>,
    card: Vec<Field>,
    lines: Vec<LineView>,
    subtotal: String,
    error: Option<String>,
}

/// The submitted form.
#[derive(Debug, Default, Deserialize)]
struct CheckoutForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    cvc: String,
}

impl CheckoutForm {
    fn address_value(&self, name: &str) -> &str {
        match name {
            "name" => &self.name,
            "line1" => &self.line1,
            "line2" => &self.line2,
            "city" => &self.city,
            "postal_code" => &self.postal_code,
            "country" => &self.country,
            _ => "",
        }
    }
}

/// Errors by field name.
type Errors = Vec<(&'static str, String)>;

fn page(
    session: &Session,
    cart: &CartShown,
    form: &CheckoutForm,
    errors: &Errors,
    error: Option<String>,
) -> CheckoutPage {
    let error_of = |name: &str| {
        errors
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| e.clone())
    };
    CheckoutPage {
        frame: Frame::new(session, "Checkout"),
        // A fresh key for every form shown: a new attempt after an error is a new checkout.
        key: uuid::Uuid::new_v4().to_string(),
        address: ADDRESS
            .iter()
            .map(|(name, label, autocomplete, required)| Field {
                name,
                label,
                autocomplete,
                required: *required,
                value: form.address_value(name).to_owned(),
                error: error_of(name),
            })
            .collect(),
        // Card fields are never echoed back into the page.
        card: CARD
            .iter()
            .map(|(name, label, autocomplete)| Field {
                name,
                label,
                autocomplete,
                required: true,
                value: String::new(),
                error: error_of(name),
            })
            .collect(),
        subtotal: cart.subtotal.clone(),
        lines: cart.lines.clone(),
        error,
    }
}

async fn checkout_form(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
) -> Result<Response> {
    session.require("/checkout")?;
    let cart = CartShown::from(&account_cart(&state, &session).await?);
    if !cart.checkout_ready {
        return Ok(see_other("/cart"));
    }
    Ok(render(&page(
        &session,
        &cart,
        &CheckoutForm::default(),
        &Vec::new(),
        None,
    )))
}

/// `MM/YY`, `MM/YYYY` or `MM YY` as (month, four-digit year).
fn expiry(text: &str) -> Option<(u32, u32)> {
    let digits: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let (month, year) = match digits.as_slice() {
        [m, y] => (m.parse::<u32>().ok()?, y.parse::<u32>().ok()?),
        [my] if my.len() == 4 => (my[..2].parse().ok()?, my[2..].parse().ok()?),
        _ => return None,
    };
    let year = if year < 100 { 2000 + year } else { year };
    ((1..=12).contains(&month) && (2000..=2100).contains(&year)).then_some((month, year))
}

/// Checks the form before the saga sees it: what is missing or malformed, by field.
fn validate(form: &CheckoutForm) -> Errors {
    let mut errors = Errors::new();
    for (name, label, _, required) in ADDRESS {
        if required && form.address_value(name).trim().is_empty() {
            errors.push((name, format!("Enter your {}.", label.to_lowercase())));
        }
    }
    let country = form.country.trim();
    if !(country.is_empty()
        || country.len() == 2 && country.chars().all(|c| c.is_ascii_alphabetic()))
    {
        errors.push((
            "country",
            "Use the two-letter country code, like US or DE.".to_owned(),
        ));
    }
    let number: String = form
        .card_number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if number.len() < 12 || number.len() > 19 || !number.chars().all(|c| c.is_ascii_digit()) {
        errors.push((
            "card_number",
            "Enter the card number as printed on the card.".to_owned(),
        ));
    }
    if expiry(&form.expiry).is_none() {
        errors.push(("expiry", "Enter the expiry as MM/YY.".to_owned()));
    }
    let cvc = form.cvc.trim();
    if !(3..=4).contains(&cvc.len()) || !cvc.chars().all(|c| c.is_ascii_digit()) {
        errors.push((
            "cvc",
            "Enter the 3 or 4 digits on the back of the card.".to_owned(),
        ));
    }
    errors
}

/// The page field a service's field path belongs to.
fn form_field(path: &str) -> &'static str {
    match path {
        "shipping_address.name" => "name",
        "shipping_address.line1" => "line1",
        "shipping_address.line2" => "line2",
        "shipping_address.city" => "city",
        "shipping_address.postal_code" => "postal_code",
        "shipping_address.country" => "country",
        "payment.exp_month" | "payment.exp_year" => "expiry",
        "payment.cvc" => "cvc",
        _ => "card_number",
    }
}

/// What a cancelled checkout tells the shopper.
fn refusal(reason: Option<&str>) -> String {
    let reason = reason.unwrap_or("");
    if reason.contains("insufficient_funds") {
        "Your card was declined for insufficient funds. No order was placed and nothing was charged; try another card.".to_owned()
    } else if reason.starts_with("payment declined") {
        "Your card was declined. No order was placed and nothing was charged; try another card."
            .to_owned()
    } else if reason.contains("stock") {
        "Something in your cart sold out while you were checking out. No order was placed; please review your cart.".to_owned()
    } else {
        "We couldn't take the payment. No order was placed and nothing was charged; please try again.".to_owned()
    }
}

async fn place_order(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    Form(form): Form<CheckoutForm>,
) -> Result<Response> {
    session.require("/checkout")?;
    let cart = CartShown::from(&account_cart(&state, &session).await?);
    if cart.lines.is_empty() {
        return Ok(see_other("/cart"));
    }
    let errors = validate(&form);
    if !errors.is_empty() {
        let page = page(
            &session,
            &cart,
            &form,
            &errors,
            Some("Please correct the marked fields.".to_owned()),
        );
        return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let (exp_month, exp_year) = expiry(&form.expiry).unwrap_or_default();
    let mut address = json!({
        "name": form.name.trim(), "line1": form.line1.trim(), "city": form.city.trim(),
        "postal_code": form.postal_code.trim(), "country": form.country.trim().to_uppercase(),
    });
    if !form.line2.trim().is_empty() {
        address["line2"] = Value::String(form.line2.trim().to_owned());
    }
    let body = json!({
        "shipping_address": address,
        "payment": {
            "card_number": form.card_number.chars().filter(char::is_ascii_digit).collect::<String>(),
            "exp_month": exp_month, "exp_year": exp_year, "cvc": form.cvc.trim(),
        },
    });
    let key = if form.key.is_empty() || form.key.len() > 200 {
        uuid::Uuid::new_v4().to_string()
    } else {
        form.key.clone()
    };
    let placed: std::result::Result<Order, Upstream> = state
        .services
        .call(
            "order",
            Method::POST,
            "/api/orders",
            Some(&body),
            session.caller(),
            Some(&key),
            None,
        )
        .await;
    let failed = |message: String, errors: Errors| {
        let page = page(&session, &cart, &form, &errors, Some(message));
        render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    match placed {
        Ok(order) if order.status == "cancelled" => {
            Ok(failed(refusal(order.reason.as_deref()), Vec::new()))
        }
        Ok(order) => {
            let jar = CookieJar::new().add(session.cart_count_cookie(0));
            Ok((jar, see_other(&format!("/orders/{}?placed=1", order.id))).into_response())
        }
        Err(Upstream::Problem {
            status: 409,
            detail,
            ..
        }) => Ok(failed(
            format!(
                "{detail}. No order was placed and nothing was charged; please review your cart."
            ),
            Vec::new(),
        )),
        Err(Upstream::Problem {
            status: 422,
            detail,
            field,
            ..
        }) => {
            let field = field.unwrap_or_default();
            if field == "cart" {
                return Ok(see_other("/cart"));
            }
            let name = form_field(&field);
            Ok(failed(
                "Please correct the marked fields.".to_owned(),
                vec![(name, format!("This {detail}."))],
            ))
        }
        Err(Upstream::Problem { status: 503, .. } | Upstream::Unreachable(_)) => Ok(failed(
            "We couldn't reach the payment system just now. Nothing was charged; please try again."
                .to_owned(),
            Vec::new(),
        )),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_parse_in_the_usual_spellings() {
        assert_eq!(expiry("12/30"), Some((12, 2030)));
        assert_eq!(expiry("07 / 2031"), Some((7, 2031)));
        assert_eq!(expiry("0630"), Some((6, 2030)));
        for bad in ["", "13/30", "00/30", "12", "ab/cd", "1/2/3"] {
            assert_eq!(expiry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_form_missing_fields_names_each_of_them() {
        let errors = validate(&CheckoutForm::default());
        let names: Vec<_> = errors.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "name",
                "line1",
                "city",
                "postal_code",
                "country",
                "card_number",
                "expiry",
                "cvc"
            ]
        );
    }

    #[test]
    fn declines_and_sell_outs_read_differently() {
        assert!(
            refusal(Some("payment declined: card_declined")).starts_with("Your card was declined.")
        );
        assert!(
            refusal(Some("payment declined: insufficient_funds")).contains("insufficient funds")
        );
        assert!(refusal(Some("out of stock: SHO-1")).contains("sold out"));
    }
}
