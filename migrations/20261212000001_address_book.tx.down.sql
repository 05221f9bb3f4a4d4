DROP TABLE IF EXISTS address_defaults;
DROP TABLE IF EXISTS addresses;
