-- Carts: one row per (user, SKU). Prices are never stored here: they come from the catalog.
CREATE TABLE cart_items (
    user_id     TEXT NOT NULL,
    sku         TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    added_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, sku)
);

-- Orders. `status` is what customers see; `saga` is where the checkout saga stands.
CREATE TABLE orders (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled', 'shipped', 'delivered')),
    saga             TEXT NOT NULL CHECK (saga IN ('pending', 'stock_reserved', 'payment_authorized', 'confirmed', 'compensating', 'cancelled')),
    reason           TEXT,
    currency         TEXT NOT NULL,
    subtotal         INTEGER NOT NULL CHECK (subtotal >= 0),
    tax              INTEGER NOT NULL CHECK (tax >= 0),
    shipping         INTEGER NOT NULL CHECK (shipping >= 0),
    total            INTEGER NOT NULL CHECK (total = subtotal + tax + shipping),
    shipping_address TEXT NOT NULL,
    card_summary     TEXT NOT NULL,
    payment_id       TEXT,
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_by_user ON orders (user_id, created_at);
CREATE INDEX orders_open_sagas ON orders (saga) WHERE saga NOT IN ('confirmed', 'cancelled');

CREATE TABLE order_lines (
    order_id    TEXT NOT NULL REFERENCES orders (id),
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku)
);

-- The saga's step log: every step taken, in order, with its outcome.
CREATE TABLE saga_steps (
    order_id    TEXT NOT NULL REFERENCES orders (id),
    seq         INTEGER NOT NULL,
    step        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    at          TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);

-- Compensations owed by a cancelled saga, done until none is pending.
CREATE TABLE compensations (
    order_id    TEXT NOT NULL REFERENCES orders (id),
    action      TEXT NOT NULL CHECK (action IN ('release_stock', 'void_payment', 'refund_payment')),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (order_id, action)
);
