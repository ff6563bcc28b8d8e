//! The reservation sweeper: the inventory service's background loop. Reservations the order
//! service never confirmed nor released go back to stock once their TTL has passed, and the
//! low-stock and reserved-units gauges are refreshed on every pass.

use std::{sync::Arc, time::Duration};

use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use shopctl_kit::service::Stop;

use crate::store::InventoryStore;

/// Releases expired reservations and refreshes the stock gauges, every interval.
#[derive(Clone)]
pub struct Sweeper {
    pub(crate) store: Arc<dyn InventoryStore>,
    pub(crate) interval: Duration,
    pub(crate) threshold: i64,
    pub(crate) low_stock: Gauge,
    pub(crate) reserved_units: Gauge,
    pub(crate) expired: Family<Vec<(&'static str, &'static str)>, Counter>,
}

impl Sweeper {
    /// One pass: release what expired, refresh the gauges; returns how many were released.
    pub async fn run_once(&self) -> Result<u64, shopctl_kit::db::StoreError> {
        let released = self.store.release_expired(chrono::Utc::now()).await?;
        if released > 0 {
            tracing::info!(released, "released expired reservations");
            self.expired
                .get_or_create(&vec![("result", "expired")])
                .inc_by(released);
        }
        let (low, held) = self.store.gauges(self.threshold).await?;
        self.low_stock.set(low);
        self.reserved_units.set(held);
        Ok(released)
    }

    /// Runs passes every interval until the service stops.
    pub async fn run(self, stop: Stop) {
        let mut shutdown = std::pin::pin!(stop.requested());
        loop {
            if let Err(err) = self.run_once().await {
                tracing::warn!(error = %err, "reservation sweep failed");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}
