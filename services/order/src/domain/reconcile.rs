//! Reconciliation: do orders, stock reservations and payments tell the same story? A check any
//! tool can run against live services (the ops commands, the crash tests), through their APIs
//! with a service token.
//!
//! For every order: a `pending` one is still moving (reported, not a fault, unless the caller
//! demands that everything has settled); a `confirmed` (or later) one has a confirmed
//! reservation and exactly one captured payment of its total (refunds allowed only after
//! cancellation); a `cancelled` one holds no stock and no money — no held reservation, no
//! authorized or captured-and-unrefunded payment.

use serde::Serialize;
use serde_json::Value;
use shopctl_kit::client::{CallError, ServiceClient};

/// The outcome of a reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Orders looked at.
    pub orders: usize,
    /// Orders by status.
    pub confirmed: usize,
    /// Cancelled orders.
    pub cancelled: usize,
    /// Orders whose saga has not ended.
    pub pending: usize,
    /// Disagreements, one line each, naming the order.
    pub problems: Vec<String>,
}

impl Report {
    /// Whether everything agrees (and, when `settled`, nothing is still pending).
    pub fn ok(&self, settled: bool) -> bool {
        self.problems.is_empty() && (!settled || self.pending == 0)
    }
}

/// The services to reconcile.
#[derive(Debug, Clone)]
pub struct Services {
    /// The order service (listing needs a service token for `order`).
    pub order: ServiceClient,
    /// The inventory service.
    pub inventory: ServiceClient,
    /// The payment service.
    pub payment: ServiceClient,
}

fn unreachable(err: &CallError) -> String {
    err.to_string()
}

/// Checks every order.
pub async fn reconcile(services: &Services) -> Result<Report, String> {
    let mut report = Report::default();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/orders?customer=all&limit=100&cursor={c}"),
            None => "/api/orders?customer=all&limit=100".to_owned(),
        };
        let page = services
            .order
            .get(&path, None)
            .await
            .map_err(|e| unreachable(&e))?;
        if !page.ok() {
            return Err(format!("listing orders: {}", page.detail()));
        }
        for order in page.body["items"].as_array().cloned().unwrap_or_default() {
            check(services, &order, &mut report).await?;
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    Ok(report)
}

async fn check(services: &Services, order: &Value, report: &mut Report) -> Result<(), String> {
    report.orders += 1;
    let id = order["id"].as_str().unwrap_or_default();
    let total = order["total"]["amount"].as_i64().unwrap_or_default();
    let status = order["status"].as_str().unwrap_or_default();
    let reservation = services
        .inventory
        .get(&format!("/internal/reservations/{id}"), None)
        .await
        .map_err(|e| unreachable(&e))?;
    let held = match reservation.status {
        404 => None,
        200 => reservation.body["status"].as_str().map(str::to_owned),
        _ => return Err(format!("reservation of {id}: {}", reservation.detail())),
    };
    let payments = services
        .payment
        .get(&format!("/internal/payments?order_id={id}"), None)
        .await
        .map_err(|e| unreachable(&e))?;
    let payments = payments.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let count = |wanted: &[&str]| {
        payments
            .iter()
            .filter(|p| p["status"].as_str().is_some_and(|s| wanted.contains(&s)))
            .count()
    };
    let mut problem = |what: String| {
        report
            .problems
            .push(format!("order {id} ({status}): {what}"));
    };
    match status {
        "pending" => report.pending += 1,
        "confirmed" | "shipped" | "delivered" => {
            report.confirmed += 1;
            if held.as_deref() != Some("confirmed") {
                problem(format!("reservation is {held:?}, not confirmed"));
            }
            let captured: Vec<&Value> = payments
                .iter()
                .filter(|p| p["status"] == "captured")
                .collect();
            if captured.len() != 1 {
                problem(format!("{} captured payments, not 1", captured.len()));
            } else if captured[0]["captured_amount"]["amount"].as_i64() != Some(total) {
                problem(format!(
                    "captured {} but the total is {total}",
                    captured[0]["captured_amount"]["amount"]
                ));
            }
            if count(&["authorized"]) > 0 {
                problem("an authorization is still open".to_owned());
            }
        }
        "cancelled" => {
            report.cancelled += 1;
            if held.as_deref() == Some("held") {
                problem("stock is still held".to_owned());
            }
            if count(&["authorized", "captured", "partially_refunded"]) > 0 {
                problem("money is still held or taken".to_owned());
            }
        }
        other => problem(format!("unknown status {other}")),
    }
    Ok(())
}
