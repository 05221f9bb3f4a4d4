DROP TABLE IF EXISTS product_cache_journal;
