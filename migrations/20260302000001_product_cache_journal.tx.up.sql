-- The product-cache journal (adapters/productcache): a write that cannot
-- tell the shared cache (Redis down, hung or cut off) records the products it
-- made stale here, in its own transaction; any replica applies the rows to
-- the cache once it answers again, then deletes them. Empty in normal
-- operation.
CREATE TABLE product_cache_journal (
    seq         bigserial   PRIMARY KEY,
    product_ids uuid[]      NOT NULL,
    lists       boolean     NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
