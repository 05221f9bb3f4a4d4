-- Issue 12: ranked product search.
--
-- products.search_terms is the text of the product's variants that a
-- search reads (their SKUs and option values), written by the store with
-- every product write (a product is one aggregate: its variants change only
-- with it). products.search_doc is the weighted document of the full-text
-- search: the name weighs A, the variants' text B, the description C. The
-- GIN index answers the @@ of a search; the table
-- search_words (below) corrects typos.
ALTER TABLE products
    ADD COLUMN search_terms text NOT NULL DEFAULT '';

--bun:split

-- Existing products: their variants' SKUs and option values (in the order of
-- the product's options), variant after variant. Not an out-of-band change:
-- nothing a client reads moves, so no version bump or cache journal row.
ALTER TABLE products DISABLE TRIGGER products_out_of_band_update;

--bun:split

UPDATE products p SET search_terms = t.terms
FROM (
    SELECT v.product_id, string_agg(x.part, ' ' ORDER BY v.position, x.ord) AS terms
    FROM product_variants v
    JOIN products pr ON pr.id = v.product_id
    CROSS JOIN LATERAL (
        SELECT v.sku AS part, 0 AS ord WHERE v.sku <> ''
        UNION ALL
        SELECT v.options ->> (o.opt ->> 'name'), o.ord
        FROM jsonb_array_elements(pr.options) WITH ORDINALITY AS o(opt, ord)
        WHERE coalesce(v.options ->> (o.opt ->> 'name'), '') <> ''
    ) x
    GROUP BY v.product_id
) t
WHERE p.id = t.product_id;

--bun:split

ALTER TABLE products ENABLE TRIGGER products_out_of_band_update;

--bun:split

ALTER TABLE products
    ADD COLUMN search_doc tsvector NOT NULL GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, name), 'A') ||
        setweight(to_tsvector('english'::regconfig, search_terms), 'B') ||
        setweight(to_tsvector('english'::regconfig, description), 'C')) STORED;

--bun:split

CREATE INDEX products_search_idx ON products USING gin (search_doc);

--bun:split

-- Status filters: staff lists of drafts or archived products, newest first
-- (customers' lists of active products use the sort indexes).
CREATE INDEX products_status_created_idx ON products (status, created_at, id);

--bun:split

-- The catalog's words (lower case, 3 to 64 characters with a letter;
-- textsearch.CatalogWords) that a search with typos is corrected with: the
-- words similar to its own (pg_trgm similarity, this trigram index). Added
-- with every product write, never removed (a word no product has any more
-- only makes a correction that matches nothing).
CREATE TABLE search_words (
    word text PRIMARY KEY CHECK (char_length(word) BETWEEN 3 AND 64 AND word = lower(word))
);

--bun:split

CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

--bun:split

INSERT INTO search_words (word)
SELECT DISTINCT w
FROM products p, regexp_split_to_table(lower(p.name || ' ' || p.search_terms || ' ' || p.description), '[^[:alnum:]]+') AS w
WHERE char_length(w) BETWEEN 3 AND 64 AND w ~ '[[:alpha:]]'
ON CONFLICT DO NOTHING;

--bun:split

-- The ILIKE search is gone: its trigram indexes only slowed writes.
DROP INDEX products_name_trgm_idx;

--bun:split

DROP INDEX products_description_trgm_idx;
