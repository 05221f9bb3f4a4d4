-- Back to one price and one stock figure per product. Only possible while
-- every product is still in that shape: one variant, no options, active,
-- and no stock at a location other than the default one. Otherwise the
-- migration refuses with a message naming what to undo first (it would
-- lose data or show drafts to customers).
DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM (SELECT product_id FROM product_variants GROUP BY product_id HAVING count(*) > 1) AS m;
    IF n > 0 THEN
        RAISE EXCEPTION 'cannot migrate down: % product(s) have more than one variant; delete the extra variants first', n;
    END IF;
    SELECT count(*) INTO n FROM products WHERE options <> '[]'::jsonb;
    IF n > 0 THEN
        RAISE EXCEPTION 'cannot migrate down: % product(s) have options; remove them first', n;
    END IF;
    SELECT count(*) INTO n FROM products WHERE status <> 'active';
    IF n > 0 THEN
        RAISE EXCEPTION 'cannot migrate down: % product(s) are draft or archived; the old schema would show them to customers', n;
    END IF;
    SELECT count(*) INTO n FROM inventory_levels
        WHERE location_id <> '00000000-0000-0000-0000-000000000001' AND on_hand > 0;
    IF n > 0 THEN
        RAISE EXCEPTION 'cannot migrate down: % inventory level(s) at other stock locations hold stock; move it to the default location first', n;
    END IF;
END
$$;

--bun:split

ALTER TABLE products ADD COLUMN stock integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    ADD CONSTRAINT products_stock_max CHECK (stock <= 1000000000);

--bun:split

-- The trigger would bump versions and journal every product: restore with
-- it off (it is re-enabled right after).
ALTER TABLE products DISABLE TRIGGER products_out_of_band_update;

--bun:split

UPDATE products p SET stock = COALESCE(l.on_hand, 0), price_minor = v.price_minor
    FROM product_variants v
    LEFT JOIN inventory_levels l ON l.variant_id = v.id AND l.location_id = '00000000-0000-0000-0000-000000000001'
    WHERE v.product_id = p.id AND v.position = 0;

--bun:split

ALTER TABLE products ENABLE TRIGGER products_out_of_band_update;

--bun:split

ALTER TABLE products ALTER COLUMN stock DROP DEFAULT;

--bun:split

ALTER TABLE order_lines DROP COLUMN variant_id, DROP COLUMN sku;

--bun:split

DROP TABLE inventory_movements;

--bun:split

DROP TABLE inventory_levels;

--bun:split

DROP TABLE product_variants;

--bun:split

DROP TABLE stock_locations;

--bun:split

ALTER TABLE products DROP COLUMN status, DROP COLUMN options;
