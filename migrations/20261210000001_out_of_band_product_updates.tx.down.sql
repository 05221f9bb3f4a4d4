DROP TRIGGER IF EXISTS products_out_of_band_update ON products;
DROP FUNCTION IF EXISTS products_out_of_band_update();
