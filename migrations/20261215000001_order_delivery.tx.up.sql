-- Orders with a delivery (issue 13B): the addresses snapshotted at
-- checkout (jsonb objects with the v2 address members), the shipping
-- method chosen (its ID without a foreign key: a method may be deleted,
-- the order keeps what it recorded), its name and carrier, the price
-- charged and the delivery's footprint, and the order's tax (mode and
-- total). All NULL for orders without a delivery (v1, and v2 orders
-- placed without one).
ALTER TABLE orders
    ADD COLUMN shipping_address     jsonb  CHECK (jsonb_typeof(shipping_address) = 'object'),
    ADD COLUMN billing_address      jsonb  CHECK (jsonb_typeof(billing_address) = 'object'),
    ADD COLUMN shipping_method_id   uuid,
    ADD COLUMN shipping_method      text,
    ADD COLUMN shipping_carrier     text,
    ADD COLUMN shipping_price_minor bigint CHECK (shipping_price_minor >= 0),
    ADD COLUMN shipping_footprint_g bigint CHECK (shipping_footprint_g >= 0),
    ADD COLUMN tax_mode             text   CHECK (tax_mode IN ('inclusive', 'exclusive')),
    ADD COLUMN tax_minor            bigint CHECK (tax_minor >= 0),
    ADD CONSTRAINT orders_billing_needs_shipping CHECK (billing_address IS NULL OR shipping_address IS NOT NULL),
    ADD CONSTRAINT orders_shipping_whole CHECK (
        (shipping_method_id IS NULL) = (shipping_method IS NULL)
        AND (shipping_method_id IS NULL) = (shipping_carrier IS NULL)
        AND (shipping_method_id IS NULL) = (shipping_price_minor IS NULL)
        AND (shipping_method_id IS NULL) = (shipping_footprint_g IS NULL)
        AND (shipping_method_id IS NULL OR shipping_address IS NOT NULL)),
    ADD CONSTRAINT orders_tax_whole CHECK ((tax_mode IS NULL) = (tax_minor IS NULL));
