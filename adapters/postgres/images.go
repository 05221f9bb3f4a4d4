package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// codeForeignKeyViolation: an image of a product that does not exist (or
// was deleted concurrently).
const codeForeignKeyViolation = "23503"

type imageRow struct {
	ID          string    `bun:"id"`
	ProductID   string    `bun:"product_id"`
	VariantID   *string   `bun:"variant_id"`
	Position    int       `bun:"position"`
	Alt         string    `bun:"alt"`
	MediaKey    string    `bun:"media_key"`
	ContentType string    `bun:"content_type"`
	Width       int       `bun:"width"`
	Height      int       `bun:"height"`
	Bytes       int64     `bun:"bytes"`
	CreatedAt   time.Time `bun:"created_at"`
}

const imageCols = "id, product_id, variant_id, position, alt, media_key, content_type, width, height, bytes, created_at"

func (r imageRow) image() ecolaura.ProductImage {
	img := ecolaura.ProductImage{
		ID: ecolaura.ID(r.ID), ProductID: ecolaura.ID(r.ProductID), Position: r.Position, Alt: r.Alt,
		MediaBlob: ecolaura.MediaBlob{Key: r.MediaKey, ContentType: r.ContentType, Width: r.Width, Height: r.Height, Bytes: r.Bytes},
		CreatedAt: r.CreatedAt.UTC(),
	}
	if r.VariantID != nil {
		img.VariantID = ecolaura.ID(*r.VariantID)
	}
	return img
}

func imageNullID(id ecolaura.ID) *string {
	if id == "" {
		return nil
	}
	s := string(id)
	return &s
}

// imageStore implements ports.ImageStore over the product_images table.
type imageStore struct {
	db bun.IDB
}

var _ ports.ImageStore = (*imageStore)(nil)

// List returns the images of the products, grouped in the order of
// productIDs, by position. Errors: ErrUnavailable.
func (s *imageStore) List(ctx context.Context, productIDs []ecolaura.ID) ([]ecolaura.ProductImage, error) {
	keys := make([]string, 0, len(productIDs))
	for _, id := range productIDs {
		if validID(id) && !slices.Contains(keys, string(id)) {
			keys = append(keys, string(id))
		}
	}
	out := []ecolaura.ProductImage{}
	if len(keys) == 0 {
		return out, nil
	}
	var rows []imageRow
	err := s.db.NewRaw("SELECT "+imageCols+" FROM product_images WHERE product_id = ANY(?::uuid[]) ORDER BY array_position(?::uuid[], product_id), position",
		pgdialect.Array(keys), pgdialect.Array(keys)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "list images")
	}
	for _, r := range rows {
		out = append(out, r.image())
	}
	return out, nil
}

// Get returns the image. Errors: ErrNotFound; ErrUnavailable.
func (s *imageStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.ProductImage, error) {
	if !validID(id) {
		return ecolaura.ProductImage{}, fmt.Errorf("image %s: %w", id, ecolaura.ErrNotFound)
	}
	var r imageRow
	err := s.db.NewRaw("SELECT "+imageCols+" FROM product_images WHERE id = ?", string(id)).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.ProductImage{}, fmt.Errorf("image %s: %w", id, ecolaura.ErrNotFound)
	}
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err, "get image %s", id)
	}
	return r.image(), nil
}

// Add appends the image to its product's. Errors: ErrNotFound (no such
// product); ErrInvalid (the product is full, or an invalid image);
// ErrConflict (the ID or, in a race, the position is taken);
// ErrUnavailable.
func (s *imageStore) Add(ctx context.Context, img ecolaura.ProductImage) (ecolaura.ProductImage, error) {
	img.Position = 0
	if err := img.Validate(); err != nil {
		return ecolaura.ProductImage{}, fmt.Errorf("add image: %w", err)
	}
	var st struct {
		Exists bool `bun:"product_exists"`
		Count  int  `bun:"images"`
	}
	err := s.db.NewRaw(`SELECT EXISTS (SELECT 1 FROM products WHERE id = ?0) AS product_exists,
		(SELECT count(*) FROM product_images WHERE product_id = ?0) AS images`, string(img.ProductID)).Scan(ctx, &st)
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err, "add image")
	}
	switch {
	case !st.Exists:
		return ecolaura.ProductImage{}, fmt.Errorf("add image to product %s: %w", img.ProductID, ecolaura.ErrNotFound)
	case st.Count >= ecolaura.MaxImagesPerProduct:
		return ecolaura.ProductImage{}, fmt.Errorf("add image: %w", ecolaura.Invalid("images", "a product has at most %d images", ecolaura.MaxImagesPerProduct))
	}
	img.Position = st.Count
	_, err = s.db.NewRaw("INSERT INTO product_images ("+imageCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		string(img.ID), string(img.ProductID), imageNullID(img.VariantID), img.Position, img.Alt, img.Key, img.ContentType,
		img.Width, img.Height, img.Bytes, img.CreatedAt).Exec(ctx)
	if pgCode(err) == codeForeignKeyViolation {
		return ecolaura.ProductImage{}, fmt.Errorf("add image to product %s: %w", img.ProductID, hide(err, ecolaura.ErrNotFound))
	}
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err, "add image")
	}
	return img, nil
}

// Update stores the alt text and variant. Errors: ErrNotFound; ErrInvalid;
// ErrUnavailable.
func (s *imageStore) Update(ctx context.Context, img ecolaura.ProductImage) (ecolaura.ProductImage, error) {
	if !validID(img.ID) {
		return ecolaura.ProductImage{}, fmt.Errorf("update image %s: %w", img.ID, ecolaura.ErrNotFound)
	}
	var v ecolaura.Validator
	v.Merge("", ecolaura.ValidateAlt(img.Alt))
	if img.VariantID != "" {
		v.Check(validID(img.VariantID), "variant_id", "must be a UUID")
	}
	if err := v.Err(); err != nil {
		return ecolaura.ProductImage{}, fmt.Errorf("update image: %w", err)
	}
	var r imageRow
	err := s.db.NewRaw("UPDATE product_images SET alt = ?, variant_id = ? WHERE id = ? RETURNING "+imageCols,
		img.Alt, imageNullID(img.VariantID), string(img.ID)).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.ProductImage{}, fmt.Errorf("update image %s: %w", img.ID, ecolaura.ErrNotFound)
	}
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err, "update image %s", img.ID)
	}
	return r.image(), nil
}

// Reorder renumbers the product's images in the order of ids in one
// statement (the positions' uniqueness is checked at its end). Errors:
// ErrInvalid on "ids"; ErrUnavailable.
func (s *imageStore) Reorder(ctx context.Context, productID ecolaura.ID, ids []ecolaura.ID) ([]ecolaura.ProductImage, error) {
	var cur []ecolaura.ID
	if validID(productID) {
		var keys []string
		if err := s.db.NewRaw("SELECT id FROM product_images WHERE product_id = ? ORDER BY position", string(productID)).Scan(ctx, &keys); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, wrap(err, "reorder images")
		}
		for _, k := range keys {
			cur = append(cur, ecolaura.ID(k))
		}
	}
	if err := samePermutation(cur, ids); err != nil {
		return nil, fmt.Errorf("reorder images: %w", err)
	}
	if len(ids) == 0 {
		return []ecolaura.ProductImage{}, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = string(id)
	}
	var rows []imageRow
	err := s.db.NewRaw(`UPDATE product_images i SET position = o.ord - 1
		FROM unnest(?::uuid[]) WITH ORDINALITY AS o(id, ord)
		WHERE i.id = o.id AND i.product_id = ?
		RETURNING `+prefixed("i.", imageCols), pgdialect.Array(keys), string(productID)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "reorder images")
	}
	if len(rows) != len(ids) {
		return nil, fmt.Errorf("reorder images: images changed meanwhile: %w", ecolaura.ErrConflict)
	}
	slices.SortFunc(rows, func(a, b imageRow) int { return a.Position - b.Position })
	out := make([]ecolaura.ProductImage, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.image())
	}
	return out, nil
}

// samePermutation reports ErrInvalid on "ids" unless ids holds each of cur
// exactly once.
func samePermutation(cur, ids []ecolaura.ID) error {
	bad := ecolaura.Invalid("ids", "must name each image of the product exactly once")
	if len(cur) != len(ids) {
		return bad
	}
	want := make(map[ecolaura.ID]bool, len(cur))
	for _, id := range cur {
		want[id] = true
	}
	for _, id := range ids {
		if !want[id] {
			return bad
		}
		delete(want, id)
	}
	return nil
}

// prefixed qualifies every column of a comma-separated list.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// Delete removes the image and moves the product's later images one place
// up, in one statement. Errors: ErrNotFound; ErrUnavailable.
func (s *imageStore) Delete(ctx context.Context, id ecolaura.ID) (ecolaura.ProductImage, error) {
	if !validID(id) {
		return ecolaura.ProductImage{}, fmt.Errorf("delete image %s: %w", id, ecolaura.ErrNotFound)
	}
	var r imageRow
	err := s.db.NewRaw(`WITH d AS (DELETE FROM product_images WHERE id = ? RETURNING `+imageCols+`),
		u AS (UPDATE product_images i SET position = i.position - 1 FROM d
			WHERE i.product_id = d.product_id AND i.position > d.position)
		SELECT `+imageCols+` FROM d`, string(id)).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.ProductImage{}, fmt.Errorf("delete image %s: %w", id, ecolaura.ErrNotFound)
	}
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err, "delete image %s", id)
	}
	return r.image(), nil
}

// Referenced returns the keys among keys that an image uses. Errors:
// ErrUnavailable.
func (s *imageStore) Referenced(ctx context.Context, keys []string) ([]string, error) {
	out := []string{}
	if len(keys) == 0 {
		return out, nil
	}
	err := s.db.NewRaw("SELECT DISTINCT media_key FROM product_images WHERE media_key = ANY(?::text[])", pgdialect.Array(keys)).Scan(ctx, &out)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "find referenced media")
	}
	return out, nil
}
