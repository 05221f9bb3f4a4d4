-- An UPDATE of a product that leaves its version alone did not come from
-- Ecolaura (every store write bumps the version): a manual SQL fix, a
-- script. This trigger makes such a change what the application's writes
-- are: a new version (so a client editing from what it read before gets a
-- version conflict, never a silent overwrite) and a row in the product-cache
-- journal (so every replica sharing the cache drops the product and the
-- lists within a second, without `ecolaura cache flush`).
CREATE FUNCTION products_out_of_band_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
        INSERT INTO product_cache_journal (product_ids, lists) VALUES (ARRAY[NEW.id], true);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER products_out_of_band_update
    BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION products_out_of_band_update();
