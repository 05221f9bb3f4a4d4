-- Payment records (issue 13): money asked for, received or given back for
-- an order, append-only; a provider's event is recorded once (event_id).
CREATE TABLE payments (
    id         uuid        PRIMARY KEY,
    order_id   uuid        NOT NULL REFERENCES orders (id),
    provider   text        NOT NULL CHECK (provider IN ('none', 'manual', 'stripe')),
    reference  text        NOT NULL CHECK (reference ~ '^[\u0020-\u007e]{1,255}$'),
    amount     bigint      NOT NULL CHECK (amount BETWEEN 0 AND 1000000000000000),
    currency   text        NOT NULL CHECK (currency IN
        ('AUD', 'CAD', 'CHF', 'CZK', 'DKK', 'EUR', 'GBP', 'JPY', 'KRW', 'NOK', 'NZD', 'PLN', 'SEK', 'USD')),
    status     text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded', 'not_required')),
    event_id   text        CHECK (event_id ~ '^[\u0020-\u007e]{1,255}$'),
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX payments_event_id_key ON payments (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX payments_order ON payments (order_id, created_at, id);

CREATE FUNCTION payments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payment records are append-only' USING ERRCODE = '23514';
END;
$$;
CREATE TRIGGER payments_no_update BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
