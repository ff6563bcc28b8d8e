-- Stock per SKU. `reserved` units are held for orders in checkout; available = on_hand - reserved.
CREATE TABLE stock (
    sku         TEXT PRIMARY KEY,
    on_hand     BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved    BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    updated_at  TIMESTAMPTZ NOT NULL
);

-- One reservation per order: held until confirmed, released, or expired.
CREATE TABLE reservations (
    order_id    TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'released')),
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX reservations_expiring ON reservations (expires_at) WHERE status = 'held';

CREATE TABLE reservation_lines (
    order_id    TEXT NOT NULL REFERENCES reservations (order_id),
    sku         TEXT NOT NULL REFERENCES stock (sku),
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku)
);

-- Every manual change of on-hand stock.
CREATE TABLE adjustments (
    id          TEXT PRIMARY KEY,
    sku         TEXT NOT NULL REFERENCES stock (sku),
    delta       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
