//! Reservations: all lines of an order held together, or none.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shopctl_kit::ApiError;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Sku;

/// Most lines in one reservation.
pub(crate) const MAX_LINES: usize = 100;
/// Most units of one SKU in one reservation.
pub(crate) const MAX_QUANTITY: i64 = 10_000;

/// One line of a reservation request, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// SKU.
    pub sku: String,
    /// Units.
    pub quantity: i64,
}

/// Body of a reservation request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    /// The order the units are held for (one reservation per order).
    pub order_id: Uuid,
    /// What to hold.
    pub lines: Vec<Line>,
    /// How long to hold it, in seconds (default: the service's `reservation_ttl_secs`).
    #[serde(default)]
    pub ttl_secs: Option<u64>,
}

/// A checked reservation request: SKUs normalised, duplicate SKUs merged, lines sorted by SKU
/// (so concurrent reservations lock rows in one order and cannot deadlock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Order id.
    pub order_id: Uuid,
    /// (SKU, units), sorted by SKU, each SKU once.
    pub lines: Vec<(String, i64)>,
}

impl Reservation {
    /// Checks `request`.
    pub fn parse(request: &ReserveRequest) -> Result<Self, ApiError> {
        if request.lines.is_empty() || request.lines.len() > MAX_LINES {
            return Err(ApiError::validation(
                "lines",
                format!("must hold 1-{MAX_LINES} lines"),
            ));
        }
        let mut merged: BTreeMap<String, i64> = BTreeMap::new();
        for (i, line) in request.lines.iter().enumerate() {
            let sku = Sku::parse(&line.sku)
                .map_err(|e| ApiError::validation(format!("lines[{i}].sku"), e.detail))?;
            if line.quantity <= 0 || line.quantity > MAX_QUANTITY {
                return Err(ApiError::validation(
                    format!("lines[{i}].quantity"),
                    format!("must be 1-{MAX_QUANTITY}"),
                ));
            }
            *merged.entry(sku.as_ref().to_owned()).or_default() += line.quantity;
        }
        if merged.values().any(|q| *q > MAX_QUANTITY) {
            return Err(ApiError::validation(
                "lines",
                format!("hold at most {MAX_QUANTITY} units of one SKU"),
            ));
        }
        Ok(Self {
            order_id: request.order_id,
            lines: merged.into_iter().collect(),
        })
    }
}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReservationState {
    /// Units held; expires at `expires_at` unless confirmed.
    Held,
    /// The order was paid: units left the warehouse.
    Confirmed,
    /// Units returned to available (cancelled, failed or expired).
    Released,
}

impl ReservationState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Confirmed => "confirmed",
            Self::Released => "released",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "held" => Some(Self::Held),
            "confirmed" => Some(Self::Confirmed),
            "released" => Some(Self::Released),
            _ => None,
        }
    }
}

/// A reservation as stored and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReservationView {
    /// Order id.
    pub order_id: Uuid,
    /// State.
    pub status: ReservationState,
    /// When a held reservation lapses.
    pub expires_at: DateTime<Utc>,
    /// What is held.
    pub lines: Vec<Line>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(lines: &[(&str, i64)]) -> ReserveRequest {
        ReserveRequest {
            order_id: Uuid::nil(),
            lines: lines
                .iter()
                .map(|(sku, quantity)| Line {
                    sku: (*sku).to_owned(),
                    quantity: *quantity,
                })
                .collect(),
            ttl_secs: None,
        }
    }

    #[test]
    fn lines_are_normalised_merged_and_sorted() {
        let parsed = Reservation::parse(&request(&[("b-2", 1), ("a-1", 2), ("B-2", 3)])).unwrap();
        assert_eq!(
            parsed.lines,
            vec![("A-1".to_owned(), 2), ("B-2".to_owned(), 4)]
        );
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(Reservation::parse(&request(&[])).is_err());
        assert!(Reservation::parse(&request(&[("A", 0)])).is_err());
        assert!(Reservation::parse(&request(&[("bad sku!", 1)])).is_err());
        assert!(Reservation::parse(&request(&[("A", 6_000), ("a", 6_000)])).is_err());
    }
}
