-- Shipping methods and tax rates (issue 13). The rules are
-- ecolaura.ShippingMethod's and ecolaura.TaxRate's; the Go code checks
-- them in full, the schema holds their forms.
CREATE TABLE shipping_methods (
    id               uuid        PRIMARY KEY,
    name             text        NOT NULL,
    carrier          text        NOT NULL,
    countries        text[]      NOT NULL,
    price_type       text        NOT NULL,
    currency         text        NOT NULL,
    price_amount     bigint      NOT NULL DEFAULT 0,
    free_above       bigint      NOT NULL DEFAULT 0,
    bands            jsonb       NOT NULL DEFAULT '[]',
    days_min         integer     NOT NULL,
    days_max         integer     NOT NULL,
    grams_per_parcel bigint      NOT NULL,
    grams_per_kg     bigint      NOT NULL,
    active           boolean     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          integer     NOT NULL CHECK (version >= 1),
    CONSTRAINT shipping_methods_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT shipping_methods_carrier_length CHECK (char_length(carrier) BETWEEN 1 AND 100),
    CONSTRAINT shipping_methods_text CHECK ((name || carrier) !~ '[\u0001-\u001f\u007f-\u009f]'),
    CONSTRAINT shipping_methods_countries CHECK (cardinality(countries) BETWEEN 1 AND 249),
    CONSTRAINT shipping_methods_price_type CHECK (price_type IN ('flat', 'free_above', 'weight_bands')),
    CONSTRAINT shipping_methods_currency_supported CHECK (currency IN
        ('AUD', 'CAD', 'CHF', 'CZK', 'DKK', 'EUR', 'GBP', 'JPY', 'KRW', 'NOK', 'NZD', 'PLN', 'SEK', 'USD')),
    CONSTRAINT shipping_methods_amounts CHECK (price_amount BETWEEN 0 AND 9999999999 AND free_above BETWEEN 0 AND 9999999999),
    CONSTRAINT shipping_methods_days CHECK (days_min BETWEEN 0 AND 365 AND days_max BETWEEN days_min AND 365),
    CONSTRAINT shipping_methods_footprint CHECK (grams_per_parcel BETWEEN 0 AND 1000000 AND grams_per_kg BETWEEN 0 AND 100000)
);

CREATE TABLE tax_rates (
    id         uuid        PRIMARY KEY,
    country    text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    class      text        NOT NULL CHECK (class IN ('standard', 'reduced', 'zero')),
    rate       bigint      NOT NULL CHECK (rate BETWEEN 0 AND 1000000),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    integer     NOT NULL CHECK (version >= 1),
    CONSTRAINT tax_rates_zero_class CHECK (class <> 'zero' OR rate = 0),
    CONSTRAINT tax_rates_country_class_key UNIQUE (country, class)
);
