-- Accounts (issue 14): email verification, disabled accounts, one-time
-- account tokens, deletion with anonymised orders, and the audit trail.

ALTER TABLE users
    ADD COLUMN email_verified_at   timestamptz,
    ADD COLUMN disabled_at         timestamptz,
    ADD COLUMN password_changed_at timestamptz;
UPDATE users SET password_changed_at = created_at;
-- A row inserted without it (an import, a script) changed its password now.
ALTER TABLE users ALTER COLUMN password_changed_at SET DEFAULT now();
ALTER TABLE users ALTER COLUMN password_changed_at SET NOT NULL;

--bun:split

-- Staff lists accounts newest first, searching email and name.
CREATE INDEX users_created_idx    ON users (created_at, id);
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_name_trgm_idx  ON users USING gin (name gin_trgm_ops);
-- The last-staff rule locks the active staff accounts.
CREATE INDEX users_active_staff_idx ON users (id) WHERE role = 'staff' AND disabled_at IS NULL;

--bun:split

-- Deleting an account (GDPR art. 17) keeps its orders for accounting,
-- anonymised: the database clears their user_id in the same statement, so
-- an order committed while the account is deleted is anonymised too.
ALTER TABLE orders ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;

--bun:split

-- One-time tokens mailed to users: only their SHA-256 is stored.
CREATE TABLE account_tokens (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('password_reset', 'verify_email', 'email_change')),
    hash       text        NOT NULL CHECK (char_length(hash) = 64),
    email      text        NOT NULL CHECK (char_length(email) BETWEEN 1 AND 254),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    CONSTRAINT account_tokens_hash_key UNIQUE (hash)
);
CREATE INDEX account_tokens_user_purpose_idx ON account_tokens (user_id, purpose, created_at, id);

--bun:split

-- The audit trail of staff writes. Append-only: the triggers below refuse
-- every UPDATE, DELETE and TRUNCATE, whatever role the application uses.
CREATE TABLE audit_events (
    id        uuid        PRIMARY KEY,
    actor_id  uuid,
    at        timestamptz NOT NULL,
    action    text        NOT NULL CHECK (char_length(action) BETWEEN 1 AND 64),
    entity    text        NOT NULL CHECK (char_length(entity) BETWEEN 1 AND 64),
    entity_id uuid        NOT NULL,
    changes   jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(changes) = 'array')
);
CREATE INDEX audit_events_at_idx     ON audit_events (at, id);
CREATE INDEX audit_events_entity_idx ON audit_events (entity, entity_id, at, id);
CREATE INDEX audit_events_actor_idx  ON audit_events (actor_id, at, id);

--bun:split

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
