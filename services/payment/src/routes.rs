//! The payment service's HTTP surface: `/api/payments/{id}` (read, refund) for people through
//! the gateway, `/internal/payments…` (authorize, capture, void, list by order) for other
//! services with a service token, and `/openapi.json`.

mod internal;
mod payments;

use std::sync::Arc;

use prometheus_client::metrics::{counter::Counter, family::Family, histogram::Histogram};
use shopctl_kit::{
    ApiError,
    audit::AuditLog,
    auth::Auth,
    metrics::{LATENCY_BUCKETS, Metrics},
};
use uuid::Uuid;

use crate::{
    domain::{Payment, Simulator},
    error,
    store::PaymentStore,
};

/// Labels of `payments_total`.
pub type ResultLabels = Vec<(&'static str, &'static str)>;

/// Shared state of the payment handlers.
#[derive(Clone)]
pub struct AppState {
    /// Payments and refunds.
    pub store: Arc<dyn PaymentStore>,
    /// Caller authentication.
    pub auth: Auth,
    /// Refunds are recorded here.
    pub audit: AuditLog,
    /// The simulated card processor.
    pub processor: Simulator,
    /// `payments_total{result}`: authorized, declined, captured, voided, refunded.
    pub payments: Family<ResultLabels, Counter>,
    /// `payments_processor_duration_seconds`: how long the card processor took to answer.
    pub processor_latency: Histogram,
}

impl AppState {
    /// State over `store`, registering the payment metrics in `metrics`.
    pub fn new(
        store: Arc<dyn PaymentStore>,
        auth: Auth,
        audit: AuditLog,
        processor: Simulator,
        metrics: &Metrics,
    ) -> Self {
        let payments: Family<ResultLabels, Counter> = metrics.registered(
            "payments",
            "Payment operations, by result (authorized, declined, captured, voided, refunded)",
        );
        // Every result from the start, so its rate begins at zero rather than at its first use.
        for result in ["authorized", "declined", "captured", "voided", "refunded"] {
            let _ = payments.get_or_create(&vec![("result", result)]);
        }
        Self {
            store,
            auth,
            audit,
            processor,
            payments,
            processor_latency: {
                let latency = Histogram::new(LATENCY_BUCKETS);
                metrics.register(
                    "payments_processor_duration_seconds",
                    "How long the card processor took to answer an authorization",
                    latency.clone(),
                );
                latency
            },
        }
    }

    /// Asks the processor to authorize a charge to `card_number`, timing the answer.
    pub async fn authorize(
        &self,
        card_number: &crate::domain::CardNumber,
    ) -> crate::domain::Outcome {
        let started = std::time::Instant::now();
        let outcome = self.processor.authorize(card_number).await;
        self.processor_latency
            .observe(started.elapsed().as_secs_f64());
        outcome
    }

    /// Counts one operation in `payments_total{result}`.
    pub fn count(&self, result: &'static str) {
        self.payments.get_or_create(&vec![("result", result)]).inc();
    }

    /// A payment by id; 404 when there is none.
    async fn load(&self, id: Uuid) -> Result<Payment, ApiError> {
        self.store.payment(id).await.map_err(error::payment)
    }
}

/// A payment id from the path; 400 when it is not a UUID.
fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::bad_param("id", "must be a payment UUID"))
}

shopctl_kit::service_routes! {
    state: AppState,
    title: "shopctl payments",
    description: "A simulated card processor: idempotent authorizations, captures, voids and refunds. Card numbers and security codes are never stored. Errors are RFC 9457 problem+json.",
    tags: ((name = "payments"), (name = "internal", description = "Service-to-service routes for the order service; not exposed by the gateway")),
    routes: [payments, internal],
}
