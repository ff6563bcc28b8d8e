-- Catalog schema (SQLite). Products keep an integer `seq` as the FTS5 rowid; `id` is the UUID.
-- Tokenizing is accent-sensitive to match PostgreSQL's 'simple' configuration; `name_key` is
-- lower-cased by the service for the exact-name tier.
CREATE TABLE categories (
    slug       TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE products (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    sku            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    price_amount   INTEGER NOT NULL CHECK (price_amount >= 0),
    price_currency TEXT NOT NULL,
    category       TEXT NOT NULL REFERENCES categories (slug),
    brand          TEXT NOT NULL,
    attributes     TEXT NOT NULL DEFAULT '{}',
    image_url      TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- Listings only ever show active products, so the listing indexes are partial: one per sort,
-- alone and within a category, each ending in id (the keyset tie-breaker) so a page is an index
-- range scan that stops after `limit` rows. products_facets_idx covers the facet counts under the
-- category, brand and price filters without touching the table.
CREATE INDEX products_newest_idx ON products (created_at, id) WHERE active;
CREATE INDEX products_price_idx ON products (price_amount, id) WHERE active;
CREATE INDEX products_name_idx ON products (name, id) WHERE active;
CREATE INDEX products_category_newest_idx ON products (category, created_at, id) WHERE active;
CREATE INDEX products_category_price_idx ON products (category, price_amount, id) WHERE active;
CREATE INDEX products_category_name_idx ON products (category, name, id) WHERE active;
CREATE INDEX products_brand_idx ON products (brand, category, price_amount) WHERE active;
CREATE INDEX products_facets_idx ON products (category, brand, price_amount) WHERE active;
CREATE INDEX products_name_key_idx ON products (name_key);
CREATE INDEX products_category_fk_idx ON products (category);

CREATE VIRTUAL TABLE products_fts USING fts5 (
    name, brand, category, description,
    content = 'products', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);

CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, name, brand, category, description)
    VALUES (new.seq, new.name, new.brand, new.category, new.description);
END;

CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, brand, category, description)
    VALUES ('delete', old.seq, old.name, old.brand, old.category, old.description);
END;

CREATE TRIGGER products_fts_update AFTER UPDATE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, brand, category, description)
    VALUES ('delete', old.seq, old.name, old.brand, old.category, old.description);
    INSERT INTO products_fts (rowid, name, brand, category, description)
    VALUES (new.seq, new.name, new.brand, new.category, new.description);
END;
