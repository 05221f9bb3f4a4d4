DROP TABLE IF EXISTS passport_versions;
DROP FUNCTION IF EXISTS passport_versions_append_only();
