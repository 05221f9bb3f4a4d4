-- Issue 12: the price filters and sorts of product lists use a product's
-- lowest variant price, not its default variant's (products.price_minor,
-- what v1 shows). min_price_minor is written with every catalog edit (a
-- variant's price changes only through one); price_key is what lists filter
-- and sort on, falling back to price_minor for a row written without it.

ALTER TABLE products
    ADD COLUMN min_price_minor bigint CHECK (min_price_minor BETWEEN 0 AND 9999999999);

--bun:split

UPDATE products p SET min_price_minor = v.lowest
    FROM (SELECT product_id, min(price_minor) AS lowest FROM product_variants GROUP BY product_id) v
    WHERE v.product_id = p.id;

--bun:split

ALTER TABLE products
    ADD COLUMN price_key bigint NOT NULL GENERATED ALWAYS AS (COALESCE(min_price_minor, price_minor)) STORED;

--bun:split

DROP INDEX IF EXISTS products_price_idx;

--bun:split

DROP INDEX IF EXISTS products_category_price_idx;

--bun:split

CREATE INDEX products_price_key_idx ON products (price_key, id);

--bun:split

CREATE INDEX products_category_price_key_idx ON products (category, price_key, id);
