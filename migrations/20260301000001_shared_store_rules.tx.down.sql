-- Drops the constraints of the up migration (the data it normalised stays).
ALTER TABLE order_lines
    DROP CONSTRAINT IF EXISTS order_lines_currency_supported,
    DROP CONSTRAINT IF EXISTS order_lines_name_text;

--bun:split

ALTER TABLE orders
    DROP CONSTRAINT IF EXISTS orders_currency_supported,
    DROP CONSTRAINT IF EXISTS orders_idempotency_key_printable;

--bun:split

ALTER TABLE refresh_tokens DROP CONSTRAINT IF EXISTS refresh_tokens_hash_present;

--bun:split

ALTER TABLE users
    DROP CONSTRAINT IF EXISTS users_email_text,
    DROP CONSTRAINT IF EXISTS users_name_length,
    DROP CONSTRAINT IF EXISTS users_name_text;

--bun:split

ALTER TABLE products
    DROP CONSTRAINT IF EXISTS products_name_text,
    DROP CONSTRAINT IF EXISTS products_description_text,
    DROP CONSTRAINT IF EXISTS products_category_slug,
    DROP CONSTRAINT IF EXISTS products_currency_supported,
    DROP CONSTRAINT IF EXISTS products_stock_max,
    DROP CONSTRAINT IF EXISTS products_certifications_known;
