-- Ecolaura initial schema: catalog, users, refresh tokens, orders.
-- Constraints live in the database, not only in Go.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

--bun:split

-- Products carry their sustainability metrics in the same row: at most one set
-- of metrics per product, all present or all absent (products_metrics_complete).
-- footprint_key is the footprint sort key of ecolaura.ProductSort
-- (products without metrics sort last).
CREATE TABLE products (
    id               uuid        PRIMARY KEY,
    name             text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description      text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
    category         text        NOT NULL CHECK (char_length(category) BETWEEN 1 AND 50),
    price_minor      bigint      NOT NULL CHECK (price_minor BETWEEN 0 AND 9999999999),
    currency         char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stock            integer     NOT NULL CHECK (stock >= 0),
    score            smallint    NOT NULL CHECK (score BETWEEN 0 AND 100),
    footprint_g      bigint      CHECK (footprint_g BETWEEN 0 AND 1000000000),
    recyclable       boolean,
    biodegradable    boolean,
    recycled_content smallint    CHECK (recycled_content BETWEEN 0 AND 100),
    certifications   text[],
    footprint_key    bigint      NOT NULL GENERATED ALWAYS AS (COALESCE(footprint_g, 9223372036854775807)) STORED,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT products_metrics_complete CHECK (
        (footprint_g IS NULL AND recyclable IS NULL AND biodegradable IS NULL
            AND recycled_content IS NULL AND certifications IS NULL)
        OR (footprint_g IS NOT NULL AND recyclable IS NOT NULL AND biodegradable IS NOT NULL
            AND certifications IS NOT NULL)
    )
);

--bun:split

-- One index per sort, globally and within a category, each ending in id so
-- that keyset pages ((key, id) < ($1, $2)) are index range scans.
CREATE INDEX products_created_idx            ON products (created_at, id);
CREATE INDEX products_score_idx              ON products (score, id);
CREATE INDEX products_price_idx              ON products (price_minor, id);
CREATE INDEX products_footprint_idx          ON products (footprint_key, id);
CREATE INDEX products_category_created_idx   ON products (category, created_at, id);
CREATE INDEX products_category_score_idx     ON products (category, score, id);
CREATE INDEX products_category_price_idx     ON products (category, price_minor, id);
CREATE INDEX products_category_footprint_idx ON products (category, footprint_key, id);
-- Text search: ILIKE '%q%' over name or description.
CREATE INDEX products_name_trgm_idx          ON products USING gin (name gin_trgm_ops);
CREATE INDEX products_description_trgm_idx   ON products USING gin (description gin_trgm_ops);

--bun:split

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL CHECK (char_length(email) BETWEEN 1 AND 254),
    name          text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('customer', 'staff')),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint      NOT NULL DEFAULT 1 CHECK (version >= 1)
);

--bun:split

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

--bun:split

CREATE TABLE refresh_tokens (
    id         uuid        PRIMARY KEY,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       text        NOT NULL,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (hash)
);

--bun:split

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx   ON refresh_tokens (user_id);

--bun:split

CREATE TABLE orders (
    id                   uuid        PRIMARY KEY,
    user_id              uuid        NOT NULL REFERENCES users (id),
    status               text        NOT NULL CHECK (status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    currency             text        NOT NULL,
    subtotal_minor       bigint      NOT NULL CHECK (subtotal_minor >= 0),
    total_minor          bigint      NOT NULL CHECK (total_minor >= 0),
    footprint_g          bigint      NOT NULL CHECK (footprint_g >= 0),
    offset_footprint_g   bigint      CHECK (offset_footprint_g >= 0),
    offset_price_minor   bigint      CHECK (offset_price_minor >= 0),
    idempotency_key      text        NOT NULL DEFAULT '' CHECK (char_length(idempotency_key) <= 255),
    request_hash         text        NOT NULL DEFAULT '',
    confirmation_sent_at timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    version              bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT orders_offset_complete CHECK ((offset_footprint_g IS NULL) = (offset_price_minor IS NULL))
);

--bun:split

-- Idempotency keys are unique per user, across every server replica.
CREATE UNIQUE INDEX orders_user_idempotency_key ON orders (user_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at, id);
CREATE INDEX orders_created_idx      ON orders (created_at, id);

--bun:split

-- Lines snapshot the product at purchase time: no foreign key to products,
-- so a product can be deleted after it was sold.
CREATE TABLE order_lines (
    order_id         uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no          integer NOT NULL CHECK (line_no >= 0),
    product_id       uuid    NOT NULL,
    name             text    NOT NULL,
    currency         text    NOT NULL,
    unit_price_minor bigint  NOT NULL CHECK (unit_price_minor >= 0),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    total_minor      bigint  NOT NULL CHECK (total_minor >= 0),
    unit_footprint_g bigint  NOT NULL CHECK (unit_footprint_g >= 0),
    PRIMARY KEY (order_id, line_no)
);
