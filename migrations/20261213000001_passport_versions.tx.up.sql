-- Issue 16: Digital Product Passports. Every publication is an immutable
-- version, numbered 1, 2, ... per product. Append-only: the triggers below
-- refuse every UPDATE, DELETE and TRUNCATE, whatever role the application
-- uses, so a QR code printed on a product keeps resolving to what was
-- published. No foreign key to products: versions outlive their product.
CREATE TABLE passport_versions (
    product_id   uuid        NOT NULL,
    number       integer     NOT NULL CHECK (number >= 1),
    published_at timestamptz NOT NULL,
    published_by uuid,
    passport     jsonb       NOT NULL CHECK (jsonb_typeof(passport) = 'object'),
    PRIMARY KEY (product_id, number)
);
-- The GS1 Digital Link resolver finds a passport by the GTIN it declares.
CREATE INDEX passport_versions_gtin_idx ON passport_versions ((passport->>'gtin'));

--bun:split

CREATE FUNCTION passport_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'passport_versions is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER passport_versions_no_change BEFORE UPDATE OR DELETE ON passport_versions
    FOR EACH ROW EXECUTE FUNCTION passport_versions_append_only();
CREATE TRIGGER passport_versions_no_truncate BEFORE TRUNCATE ON passport_versions
    FOR EACH STATEMENT EXECUTE FUNCTION passport_versions_append_only();
