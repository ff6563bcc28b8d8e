-- Payments schema (SQLite). No card number or security code is ever stored: only the brand,
-- the last four digits, the expiry and a random token. Money is integer minor units.
CREATE TABLE payments (
    id              TEXT PRIMARY KEY NOT NULL,
    order_id        TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
        ('authorized', 'declined', 'captured', 'voided', 'partially_refunded', 'refunded')),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    captured_amount INTEGER NOT NULL DEFAULT 0 CHECK (captured_amount >= 0),
    refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    brand           TEXT NOT NULL,
    last4           TEXT NOT NULL CHECK (length(last4) = 4),
    exp_month       INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year        INTEGER NOT NULL,
    card_token      TEXT NOT NULL,
    decline_code    TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    fingerprint     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (captured_amount <= amount),
    CHECK (refunded_amount <= captured_amount),
    CHECK ((status = 'declined') = (decline_code IS NOT NULL))
);
CREATE INDEX payments_order_idx ON payments (order_id, created_at);

CREATE TABLE refunds (
    id         TEXT PRIMARY KEY NOT NULL,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
