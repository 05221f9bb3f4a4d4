DROP TABLE IF EXISTS tax_rates;
DROP TABLE IF EXISTS shipping_methods;
