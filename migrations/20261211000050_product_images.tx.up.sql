-- Product images (issue 12): the records of the images of each product, in
-- gallery order. The files are in the media store under their content
-- address (media_key); a file no record uses is removed by the media
-- cleanup job after a grace period.
--
-- variant_id names the variant an image shows. It has no foreign key yet:
-- variants arrive with their own migration, which adds it.
CREATE TABLE product_images (
    id           uuid        PRIMARY KEY,
    product_id   uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    variant_id   uuid,
    position     smallint    NOT NULL CHECK (position BETWEEN 0 AND 19),
    alt          text        NOT NULL DEFAULT '',
    media_key    text        NOT NULL,
    content_type text        NOT NULL,
    width        integer     NOT NULL CHECK (width BETWEEN 1 AND 8000),
    height       integer     NOT NULL CHECK (height BETWEEN 1 AND 8000),
    bytes        integer     NOT NULL CHECK (bytes BETWEEN 1 AND 10485760),
    created_at   timestamptz NOT NULL,
    CONSTRAINT product_images_alt_length CHECK (char_length(alt) <= 500),
    CONSTRAINT product_images_alt_text CHECK (alt !~ '[\u0001-\u001f\u007f-\u009f]'),
    CONSTRAINT product_images_media_key_address CHECK (media_key ~ '^[0-9a-f]{64}\.(jpg|png|webp)$'),
    CONSTRAINT product_images_content_type_matches CHECK (
        (content_type = 'image/jpeg' AND media_key LIKE '%.jpg')
        OR (content_type = 'image/png' AND media_key LIKE '%.png')
        OR (content_type = 'image/webp' AND media_key LIKE '%.webp')
    ),
    -- Positions are unique per product (checked at the end of each
    -- statement, so one UPDATE can renumber a gallery); with 0-19 they also
    -- bound a product to 20 images.
    CONSTRAINT product_images_position_unique UNIQUE (product_id, position) DEFERRABLE INITIALLY IMMEDIATE
);

--bun:split

-- The media cleanup asks which keys are still used.
CREATE INDEX product_images_media_key_idx ON product_images (media_key);
