-- Dropping the table is how the audit trail goes (DROP fires no row trigger).
DROP TABLE IF EXISTS audit_events;
DROP FUNCTION IF EXISTS audit_events_append_only();

--bun:split

DROP TABLE IF EXISTS account_tokens;

--bun:split

-- Fails while anonymised orders (of deleted accounts) exist: delete or
-- reassign them first.
ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;

--bun:split

DROP INDEX IF EXISTS users_active_staff_idx;
DROP INDEX IF EXISTS users_name_trgm_idx;
DROP INDEX IF EXISTS users_email_trgm_idx;
DROP INDEX IF EXISTS users_created_idx;
ALTER TABLE users DROP COLUMN password_changed_at, DROP COLUMN disabled_at, DROP COLUMN email_verified_at;
