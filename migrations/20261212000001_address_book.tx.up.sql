-- Address books (issue 13): a customer's saved addresses and their default
-- shipping and billing marks. The rules are ecolaura.Address's: single-line
-- text (no control characters), the length limits in characters, an ISO
-- 3166-1 alpha-2 country (the Go code holds the list; here its form), an
-- E.164 phone or none.
CREATE TABLE addresses (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    company     text        NOT NULL DEFAULT '',
    line1       text        NOT NULL,
    line2       text        NOT NULL DEFAULT '',
    postal_code text        NOT NULL DEFAULT '',
    city        text        NOT NULL,
    region      text        NOT NULL DEFAULT '',
    country     text        NOT NULL,
    phone       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    CONSTRAINT addresses_name_length CHECK (char_length(name) BETWEEN 1 AND 150),
    CONSTRAINT addresses_company_length CHECK (char_length(company) <= 150),
    CONSTRAINT addresses_line1_length CHECK (char_length(line1) BETWEEN 1 AND 200),
    CONSTRAINT addresses_line2_length CHECK (char_length(line2) <= 200),
    CONSTRAINT addresses_postal_code_length CHECK (char_length(postal_code) <= 20),
    CONSTRAINT addresses_city_length CHECK (char_length(city) BETWEEN 1 AND 100),
    CONSTRAINT addresses_region_length CHECK (char_length(region) <= 100),
    CONSTRAINT addresses_text CHECK ((name || company || line1 || line2 || postal_code || city || region) !~ '[\u0001-\u001f\u007f-\u009f]'),
    CONSTRAINT addresses_country_form CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT addresses_phone_e164 CHECK (phone = '' OR phone ~ '^\+[1-9][0-9]{1,14}$')
);
CREATE INDEX addresses_user ON addresses (user_id, id);

-- One row per user with marks: at most one default of each use by
-- construction; deleting an entry clears its marks.
CREATE TABLE address_defaults (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    shipping_id uuid REFERENCES addresses (id) ON DELETE SET NULL,
    billing_id  uuid REFERENCES addresses (id) ON DELETE SET NULL
);
CREATE INDEX address_defaults_shipping ON address_defaults (shipping_id);
CREATE INDEX address_defaults_billing ON address_defaults (billing_id);
