CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops);

--bun:split

CREATE INDEX products_description_trgm_idx ON products USING gin (description gin_trgm_ops);

--bun:split

DROP TABLE search_words;

--bun:split

DROP INDEX products_status_created_idx;

--bun:split

DROP INDEX products_search_idx;

--bun:split

ALTER TABLE products DROP COLUMN search_doc;

--bun:split

ALTER TABLE products DROP COLUMN search_terms;
