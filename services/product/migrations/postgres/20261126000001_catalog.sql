-- Catalog schema (PostgreSQL). Search uses generated tsvector columns with the 'simple'
-- configuration: no stemming and accent-sensitive, like SQLite's unicode61 tokenizer with
-- remove_diacritics 0, so both backends match the same words. `name_key` is lower-cased by the
-- service for the exact-name tier.
CREATE TABLE categories (
    slug       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE products (
    id             UUID PRIMARY KEY,
    sku            TEXT NOT NULL CONSTRAINT products_sku_key UNIQUE,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    price_amount   BIGINT NOT NULL CHECK (price_amount >= 0),
    price_currency TEXT NOT NULL,
    category       TEXT NOT NULL REFERENCES categories (slug),
    brand          TEXT NOT NULL,
    attributes     JSONB NOT NULL DEFAULT '{}',
    image_url      TEXT,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    search_name    TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, name)) STORED,
    search_meta    TSVECTOR GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, name || ' ' || brand || ' ' || category)) STORED,
    search_all     TSVECTOR GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig,
            name || ' ' || brand || ' ' || category || ' ' || description)) STORED
);

CREATE INDEX products_category_idx ON products (category, brand);
CREATE INDEX products_brand_idx ON products (brand);
CREATE INDEX products_price_idx ON products (price_amount, id);
CREATE INDEX products_name_idx ON products (name, id);
CREATE INDEX products_name_key_idx ON products (name_key);
CREATE INDEX products_created_idx ON products (created_at, id);
CREATE INDEX products_search_idx ON products USING GIN (search_all);
