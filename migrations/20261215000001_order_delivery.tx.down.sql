-- Orders without delivery columns: what they recorded of the delivery is lost.
ALTER TABLE orders
    DROP CONSTRAINT IF EXISTS orders_tax_whole,
    DROP CONSTRAINT IF EXISTS orders_shipping_whole,
    DROP CONSTRAINT IF EXISTS orders_billing_needs_shipping,
    DROP COLUMN IF EXISTS tax_minor,
    DROP COLUMN IF EXISTS tax_mode,
    DROP COLUMN IF EXISTS shipping_footprint_g,
    DROP COLUMN IF EXISTS shipping_price_minor,
    DROP COLUMN IF EXISTS shipping_carrier,
    DROP COLUMN IF EXISTS shipping_method,
    DROP COLUMN IF EXISTS shipping_method_id,
    DROP COLUMN IF EXISTS billing_address,
    DROP COLUMN IF EXISTS shipping_address;
