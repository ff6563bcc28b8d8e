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
CREATE INDEX products_search_idx ON products USING GIN (search_all);
