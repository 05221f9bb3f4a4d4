-- The rules every Ecolaura store enforces, stated in the schema so that the
-- database agrees with the memory store (ports.ValidateStored* and the
-- conformance suites in ports/porttest) whatever writes to it.
--
-- Existing rows are first brought within the rules, so that every
-- constraint holds for every row and no stored product becomes uneditable
-- (an UPDATE re-checks the whole row):
--   * control characters (Unicode Cc: U+0001-U+001F, U+007F-U+009F;
--     PostgreSQL cannot store U+0000) in names become spaces; descriptions
--     keep TAB, LF and CR; emails lose them;
--   * stock above the maximum (1,000,000,000) is set to the maximum;
--   * a category that is not a slug becomes one (lower case, runs of other
--     characters turned into single hyphens, "uncategorized" when empty);
--   * unknown certifications are dropped;
--   * user names are cut to 150 characters (an empty one becomes the local
--     part of the email).
-- Prices, orders, idempotency keys and refresh tokens written by Ecolaura
-- always followed the rules; a row that does not (written by hand) makes
-- this migration fail with the name of the constraint, to be fixed first.

UPDATE products SET name = regexp_replace(name, '[\u0001-\u001f\u007f-\u009f]', ' ', 'g')
    WHERE name ~ '[\u0001-\u001f\u007f-\u009f]';

--bun:split

UPDATE products SET description = regexp_replace(description, '[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]', ' ', 'g')
    WHERE description ~ '[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]';

--bun:split

UPDATE products SET stock = 1000000000 WHERE stock > 1000000000;

--bun:split

UPDATE products SET category = COALESCE(NULLIF(
        trim(BOTH '-' FROM left(trim(BOTH '-' FROM regexp_replace(lower(category), '[^a-z0-9]+', '-', 'g')), 50)),
        ''), 'uncategorized')
    WHERE category !~ '^[a-z0-9]+(-[a-z0-9]+)*$';

--bun:split

UPDATE products SET certifications = ARRAY(
        SELECT c FROM unnest(certifications) AS c
        WHERE c IN ('fsc', 'fairtrade', 'eu-ecolabel', 'gots', 'cradle-to-cradle', 'b-corp', 'energy-star', 'rainforest-alliance'))
    WHERE NOT certifications <@ ARRAY['fsc', 'fairtrade', 'eu-ecolabel', 'gots', 'cradle-to-cradle', 'b-corp',
        'energy-star', 'rainforest-alliance']::text[];

--bun:split

ALTER TABLE products
    ADD CONSTRAINT products_name_text CHECK (name !~ '[\u0001-\u001f\u007f-\u009f]'),
    ADD CONSTRAINT products_description_text CHECK (description !~ '[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]'),
    ADD CONSTRAINT products_category_slug CHECK (category ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    ADD CONSTRAINT products_currency_supported CHECK (currency IN
        ('AUD', 'CAD', 'CHF', 'CZK', 'DKK', 'EUR', 'GBP', 'JPY', 'KRW', 'NOK', 'NZD', 'PLN', 'SEK', 'USD')),
    ADD CONSTRAINT products_stock_max CHECK (stock <= 1000000000),
    ADD CONSTRAINT products_certifications_known CHECK (certifications <@ ARRAY['fsc', 'fairtrade', 'eu-ecolabel',
        'gots', 'cradle-to-cradle', 'b-corp', 'energy-star', 'rainforest-alliance']::text[]);

--bun:split

UPDATE users SET email = regexp_replace(email, '[\u0001-\u001f\u007f-\u009f]', '', 'g')
    WHERE email ~ '[\u0001-\u001f\u007f-\u009f]';

--bun:split

UPDATE users SET name = left(regexp_replace(name, '[\u0001-\u001f\u007f-\u009f]', ' ', 'g'), 150)
    WHERE name ~ '[\u0001-\u001f\u007f-\u009f]' OR char_length(name) > 150;

--bun:split

UPDATE users SET name = left(split_part(email, '@', 1), 150) WHERE name = '';

--bun:split

ALTER TABLE users
    ADD CONSTRAINT users_email_text CHECK (email !~ '[\u0001-\u001f\u007f-\u009f]'),
    ADD CONSTRAINT users_name_length CHECK (char_length(name) BETWEEN 1 AND 150),
    ADD CONSTRAINT users_name_text CHECK (name !~ '[\u0001-\u001f\u007f-\u009f]');

--bun:split

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_hash_present CHECK (hash <> '');

--bun:split

ALTER TABLE orders
    ADD CONSTRAINT orders_currency_supported CHECK (currency IN
        ('AUD', 'CAD', 'CHF', 'CZK', 'DKK', 'EUR', 'GBP', 'JPY', 'KRW', 'NOK', 'NZD', 'PLN', 'SEK', 'USD')),
    ADD CONSTRAINT orders_idempotency_key_printable CHECK (idempotency_key ~ '^[\u0020-\u007e]*$');

--bun:split

UPDATE order_lines SET name = regexp_replace(name, '[\u0001-\u001f\u007f-\u009f]', ' ', 'g')
    WHERE name ~ '[\u0001-\u001f\u007f-\u009f]';

--bun:split

ALTER TABLE order_lines
    ADD CONSTRAINT order_lines_currency_supported CHECK (currency IN
        ('AUD', 'CAD', 'CHF', 'CZK', 'DKK', 'EUR', 'GBP', 'JPY', 'KRW', 'NOK', 'NZD', 'PLN', 'SEK', 'USD')),
    ADD CONSTRAINT order_lines_name_text CHECK (name !~ '[\u0001-\u001f\u007f-\u009f]');
