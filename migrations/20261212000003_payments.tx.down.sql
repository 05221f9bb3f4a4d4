DROP TABLE IF EXISTS payments;
DROP FUNCTION IF EXISTS payments_append_only();
