//! The events this service consumes, parsed from an envelope's `data` into what they ask for.
//!
//! The payload shapes are the contract with the producers (user, order and payment services).
//! Parsing is a tolerant reader: fields a producer adds later are ignored, so producers can grow
//! their events without a lock-step release; a missing or ill-typed field is a [`FieldError`]
//! naming it (`data.total.currency`), which the route answers with 422 so that the producer's
//! relay dead-letters the event instead of retrying it forever.

use serde::{Deserialize, de::DeserializeOwned};
use uuid::Uuid;

use super::{Contact, EmailAddress, FieldError, Line, Mail, Money};

/// A topic this service acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `user.registered`: remember the contact, send a welcome mail.
    UserRegistered,
    /// `user.erased`: forget the contact.
    UserErased,
    /// `order.confirmed`: send the order confirmation.
    OrderConfirmed,
    /// `order.cancelled`: tell the buyer their order was cancelled.
    OrderCancelled,
    /// `payment.failed`: tell the buyer the payment did not go through.
    PaymentFailed,
}

impl Topic {
    /// Every topic, for metrics and documentation.
    pub const ALL: [Self; 5] = [
        Self::UserRegistered,
        Self::UserErased,
        Self::OrderConfirmed,
        Self::OrderCancelled,
        Self::PaymentFailed,
    ];

    /// The topic named `name`; `None` for topics this service ignores.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|topic| topic.as_str() == name)
    }

    /// The topic's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserRegistered => "user.registered",
            Self::UserErased => "user.erased",
            Self::OrderConfirmed => "order.confirmed",
            Self::OrderCancelled => "order.cancelled",
            Self::PaymentFailed => "payment.failed",
        }
    }
}

/// The order-specific part of a mail about an order; the greeting comes from the contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Draft {
    /// The order confirmation.
    Confirmed {
        /// What was bought.
        lines: Vec<Line>,
        /// Sum of the lines.
        subtotal: Money,
        /// Tax charged.
        tax: Money,
        /// Shipping charged.
        shipping: Money,
        /// What the buyer pays.
        total: Money,
    },
    /// The order was cancelled.
    Cancelled {
        /// Why, for the buyer.
        reason: String,
    },
    /// The payment failed.
    PaymentFailed {
        /// Why, for the buyer (never card data).
        reason: String,
    },
}

/// What an event asks of this service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Remember (or update) the contact and welcome them.
    Registered(Contact),
    /// Forget the user's contact; no mail.
    Erased {
        /// The erased user.
        user_id: Uuid,
    },
    /// Write to a known user about one of their orders.
    Order {
        /// The buyer, whose contact must be known.
        user_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// What to tell them.
        draft: Draft,
    },
}

#[derive(Deserialize)]
struct UserRegistered {
    user_id: Uuid,
    email: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct UserErased {
    user_id: Uuid,
}

#[derive(Deserialize)]
struct MoneyData {
    amount: i64,
    currency: String,
}

#[derive(Deserialize)]
struct LineData {
    sku: String,
    name: String,
    quantity: u32,
    unit_price: MoneyData,
}

#[derive(Deserialize)]
struct OrderConfirmed {
    order_id: Uuid,
    user_id: Uuid,
    lines: Vec<LineData>,
    subtotal: MoneyData,
    tax: MoneyData,
    shipping: MoneyData,
    total: MoneyData,
}

/// `order.cancelled` and `payment.failed` share this shape.
#[derive(Deserialize)]
struct OrderProblem {
    order_id: Uuid,
    user_id: Uuid,
    #[serde(default)]
    reason: String,
}

/// Longest reason kept, in characters; longer ones are cut.
const MAX_REASON: usize = 500;

/// Deserializes `data`, naming the field at fault as `data.<path>`.
fn payload<T: DeserializeOwned>(data: &serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(data.clone()).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." {
            "data".to_owned()
        } else {
            format!("data.{path}")
        };
        let detail = err.into_inner().to_string();
        FieldError::new(field, detail)
    })
}

fn money(field: &str, data: MoneyData) -> Result<Money, FieldError> {
    let code = data.currency.as_bytes();
    if code.len() != 3 || !code.iter().all(u8::is_ascii_uppercase) {
        return Err(FieldError::new(
            format!("{field}.currency"),
            "must be an ISO 4217 code such as `USD`",
        ));
    }
    Ok(Money {
        amount: data.amount,
        currency: data.currency,
    })
}

fn reason(value: &str) -> String {
    value
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect()
}

impl Notice {
    /// Parses the `data` of an event of `topic`.
    pub fn parse(topic: Topic, data: &serde_json::Value) -> Result<Self, FieldError> {
        match topic {
            Topic::UserRegistered => {
                let event: UserRegistered = payload(data)?;
                let email = EmailAddress::parse(&event.email)
                    .map_err(|detail| FieldError::new("data.email", detail))?;
                let name = Contact::parse_name(&event.name)
                    .map_err(|detail| FieldError::new("data.name", detail))?;
                Ok(Self::Registered(Contact {
                    user_id: event.user_id,
                    email,
                    name,
                }))
            }
            Topic::UserErased => {
                let event: UserErased = payload(data)?;
                Ok(Self::Erased {
                    user_id: event.user_id,
                })
            }
            Topic::OrderConfirmed => {
                let event: OrderConfirmed = payload(data)?;
                if event.lines.is_empty() {
                    return Err(FieldError::new("data.lines", "must list at least one line"));
                }
                let mut lines = Vec::with_capacity(event.lines.len());
                for (i, line) in event.lines.into_iter().enumerate() {
                    if line.quantity == 0 {
                        return Err(FieldError::new(
                            format!("data.lines[{i}].quantity"),
                            "must be at least 1",
                        ));
                    }
                    lines.push(Line {
                        sku: line.sku,
                        name: line.name,
                        quantity: line.quantity,
                        unit_price: money(&format!("data.lines[{i}].unit_price"), line.unit_price)?,
                    });
                }
                Ok(Self::Order {
                    user_id: event.user_id,
                    order_id: event.order_id,
                    draft: Draft::Confirmed {
                        lines,
                        subtotal: money("data.subtotal", event.subtotal)?,
                        tax: money("data.tax", event.tax)?,
                        shipping: money("data.shipping", event.shipping)?,
                        total: money("data.total", event.total)?,
                    },
                })
            }
            Topic::OrderCancelled | Topic::PaymentFailed => {
                let event: OrderProblem = payload(data)?;
                let reason = reason(&event.reason);
                let draft = if topic == Topic::OrderCancelled {
                    Draft::Cancelled { reason }
                } else {
                    Draft::PaymentFailed { reason }
                };
                Ok(Self::Order {
                    user_id: event.user_id,
                    order_id: event.order_id,
                    draft,
                })
            }
        }
    }

    /// The user the notice is about.
    pub fn user_id(&self) -> Uuid {
        match self {
            Self::Registered(contact) => contact.user_id,
            Self::Erased { user_id } | Self::Order { user_id, .. } => *user_id,
        }
    }

    /// The order the notice is about, if any.
    pub fn order_id(&self) -> Option<Uuid> {
        match self {
            Self::Order { order_id, .. } => Some(*order_id),
            Self::Registered(_) | Self::Erased { .. } => None,
        }
    }

    /// The mail this notice sends to `contact`; `None` when it sends none.
    pub fn mail(&self, contact: &Contact) -> Option<Mail> {
        let name = contact.name.clone();
        match self {
            Self::Registered(_) => Some(Mail::Welcome { name }),
            Self::Erased { .. } => None,
            Self::Order {
                order_id, draft, ..
            } => Some(Mail::Order {
                name,
                order_id: order_id.to_string(),
                draft: draft.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const USER: &str = "0190f3a0-0000-7000-8000-000000000001";
    const ORDER: &str = "0190f3a0-0000-7000-8000-0000000000aa";

    fn usd(amount: i64) -> serde_json::Value {
        json!({"amount": amount, "currency": "USD"})
    }

    fn confirmed() -> serde_json::Value {
        json!({
            "order_id": ORDER,
            "user_id": USER,
            "lines": [{"sku": "TEE-1", "name": "T-shirt", "quantity": 2, "unit_price": usd(2500)}],
            "subtotal": usd(5000), "tax": usd(400), "shipping": usd(499), "total": usd(5899),
            "placed_by": "a field added later is ignored"
        })
    }

    fn contact() -> Contact {
        Contact {
            user_id: USER.parse().unwrap(),
            email: EmailAddress::parse("ana@example.com").unwrap(),
            name: "Ana".to_owned(),
        }
    }

    #[test]
    fn only_known_topics_parse() {
        for topic in Topic::ALL {
            assert_eq!(Topic::parse(topic.as_str()), Some(topic));
        }
        assert_eq!(Topic::parse("order.shipped"), None);
    }

    #[test]
    fn registration_becomes_a_contact_and_a_welcome() {
        let data = json!({"user_id": USER, "email": "ana@example.com", "name": " Ana "});
        let notice = Notice::parse(Topic::UserRegistered, &data).unwrap();
        let Notice::Registered(contact) = &notice else {
            panic!("{notice:?}");
        };
        assert_eq!(contact.name, "Ana");
        assert_eq!(
            notice.mail(contact),
            Some(Mail::Welcome {
                name: "Ana".to_owned()
            })
        );
    }

    #[test]
    fn a_confirmation_carries_lines_and_totals() {
        let notice = Notice::parse(Topic::OrderConfirmed, &confirmed()).unwrap();
        assert_eq!(notice.user_id().to_string(), USER);
        assert_eq!(notice.order_id().unwrap().to_string(), ORDER);
        let Some(Mail::Order {
            draft: Draft::Confirmed { lines, total, .. },
            ..
        }) = notice.mail(&contact())
        else {
            panic!("not a confirmation");
        };
        assert_eq!(lines.len(), 1);
        assert_eq!(total.format(), "$58.99");
    }

    #[test]
    fn cancellations_and_failed_payments_carry_the_reason() {
        let data = json!({"order_id": ORDER, "user_id": USER, "reason": "Out of stock"});
        for (topic, kind) in [
            (Topic::OrderCancelled, "order_cancelled"),
            (Topic::PaymentFailed, "payment_failed"),
        ] {
            let mail = Notice::parse(topic, &data)
                .unwrap()
                .mail(&contact())
                .unwrap();
            assert_eq!(mail.kind(), kind);
        }
    }

    #[test]
    fn erasure_sends_nothing() {
        let notice = Notice::parse(Topic::UserErased, &json!({"user_id": USER})).unwrap();
        assert_eq!(notice.mail(&contact()), None);
    }

    #[test]
    fn malformed_data_names_the_field() {
        let mut bad_currency = confirmed();
        bad_currency["total"]["currency"] = json!("dollars");
        let mut no_lines = confirmed();
        no_lines["lines"] = json!([]);
        let mut zero = confirmed();
        zero["lines"][0]["quantity"] = json!(0);
        let cases = [
            (Topic::UserRegistered, json!({"user_id": USER}), "data"),
            (
                Topic::UserRegistered,
                json!({"user_id": "nope", "email": "ana@example.com"}),
                "data.user_id",
            ),
            (
                Topic::UserRegistered,
                json!({"user_id": USER, "email": "not an address"}),
                "data.email",
            ),
            (Topic::OrderConfirmed, bad_currency, "data.total.currency"),
            (Topic::OrderConfirmed, no_lines, "data.lines"),
            (Topic::OrderConfirmed, zero, "data.lines[0].quantity"),
            (Topic::OrderCancelled, json!("a string"), "data"),
        ];
        for (topic, data, field) in cases {
            let err = Notice::parse(topic, &data).expect_err(field);
            assert_eq!(err.field, field, "{data}: {}", err.detail);
        }
    }
}
