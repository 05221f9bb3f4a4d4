-- Back to sorting and filtering by the default variant's price.

DROP INDEX IF EXISTS products_category_price_key_idx;

--bun:split

DROP INDEX IF EXISTS products_price_key_idx;

--bun:split

ALTER TABLE products DROP COLUMN IF EXISTS price_key;

--bun:split

ALTER TABLE products DROP COLUMN IF EXISTS min_price_minor;

--bun:split

CREATE INDEX IF NOT EXISTS products_price_idx ON products (price_minor, id);

--bun:split

CREATE INDEX IF NOT EXISTS products_category_price_idx ON products (category, price_minor, id);
