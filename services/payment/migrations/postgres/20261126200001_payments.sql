-- Payments schema (PostgreSQL). No card number or security code is ever stored: only the
-- brand, the last four digits, the expiry and a random token. Money is integer minor units.
CREATE TABLE payments (
    id              UUID PRIMARY KEY,
    order_id        UUID NOT NULL,
    customer_id     TEXT NOT NULL,
    status          TEXT NOT NULL CONSTRAINT payments_status_check CHECK (status IN
        ('authorized', 'declined', 'captured', 'voided', 'partially_refunded', 'refunded')),
    amount          BIGINT NOT NULL CONSTRAINT payments_amount_check CHECK (amount > 0),
    currency        TEXT NOT NULL CONSTRAINT payments_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    captured_amount BIGINT NOT NULL DEFAULT 0
        CONSTRAINT payments_captured_amount_check CHECK (captured_amount >= 0),
    refunded_amount BIGINT NOT NULL DEFAULT 0
        CONSTRAINT payments_refunded_amount_check CHECK (refunded_amount >= 0),
    brand           TEXT NOT NULL,
    last4           TEXT NOT NULL CONSTRAINT payments_last4_check CHECK (length(last4) = 4),
    exp_month       INTEGER NOT NULL
        CONSTRAINT payments_exp_month_check CHECK (exp_month BETWEEN 1 AND 12),
    exp_year        INTEGER NOT NULL,
    card_token      TEXT NOT NULL,
    decline_code    TEXT,
    idempotency_key TEXT NOT NULL CONSTRAINT payments_idempotency_key_key UNIQUE,
    fingerprint     TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT payments_capture_check CHECK (captured_amount <= amount),
    CONSTRAINT payments_refund_check CHECK (refunded_amount <= captured_amount),
    CONSTRAINT payments_decline_code_check CHECK ((status = 'declined') = (decline_code IS NOT NULL))
);
CREATE INDEX payments_order_idx ON payments (order_id, created_at);

CREATE TABLE refunds (
    id         UUID PRIMARY KEY,
    payment_id UUID NOT NULL REFERENCES payments (id),
    amount     BIGINT NOT NULL CONSTRAINT refunds_amount_check CHECK (amount > 0),
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
