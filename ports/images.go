package ports

import (
	"context"
	"io"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// ImageStore stores the image records of products (the files themselves
// are in a [MediaStore]).
//
// Semantics every implementation honours (checked by porttest.ImageStore):
//   - Values are copied in and out.
//   - The images of a product have the positions 0, 1, …, n-1 (n at most
//     ecolaura.MaxImagesPerProduct): Add appends, Delete closes the gap,
//     Reorder renumbers.
//   - An image belongs to an existing product: deleting the product deletes
//     its images (PostgreSQL: a foreign key ON DELETE CASCADE).
//   - Every stored image satisfies ecolaura.ProductImage.Validate.
//
// Writes that must not race for one product (two uploads taking the last
// free place) are serialised by the caller, which locks the product first
// (the catalog service writes the product row in the same transaction);
// without that lock the store still never breaks the rules above, and a
// lost race fails with ErrConflict.
type ImageStore interface {
	// List returns the images of the given products: grouped by product in
	// the order of productIDs, each product's by position. Unknown IDs have
	// no images.
	List(ctx context.Context, productIDs []ecolaura.ID) ([]ecolaura.ProductImage, error)
	// Get returns one image. Errors: ErrNotFound.
	Get(ctx context.Context, id ecolaura.ID) (ecolaura.ProductImage, error)
	// Add stores img after the product's last image (its Position is
	// ignored and set) and returns what was stored. Errors: ErrNotFound when
	// the product does not exist; *ValidationError (ErrInvalid) on "images"
	// when the product has MaxImagesPerProduct images already, or on the
	// fields img breaks; ErrConflict when the ID is taken (or a concurrent
	// Add took the position).
	Add(ctx context.Context, img ecolaura.ProductImage) (ecolaura.ProductImage, error)
	// Update stores the alt text and variant of img (the other fields are
	// kept) and returns the stored image. Errors: ErrNotFound;
	// *ValidationError (ErrInvalid).
	Update(ctx context.Context, img ecolaura.ProductImage) (ecolaura.ProductImage, error)
	// Reorder gives the product's images the order of ids, which must name
	// each of them exactly once, and returns them in that order. Errors:
	// *ValidationError (ErrInvalid) on "ids" otherwise.
	Reorder(ctx context.Context, productID ecolaura.ID, ids []ecolaura.ID) ([]ecolaura.ProductImage, error)
	// Delete removes the image, moves the product's later images one place
	// up, and returns the removed image. Errors: ErrNotFound.
	Delete(ctx context.Context, id ecolaura.ID) (ecolaura.ProductImage, error)
	// Referenced returns the keys among keys that some image uses (in any
	// order, each once).
	Referenced(ctx context.Context, keys []string) ([]string, error)
}

// MediaStore keeps image files under their content address (see
// ecolaura.ValidMediaKey): the same bytes always get the same key, and a
// client's file name is never used.
//
// Semantics every implementation honours (checked by porttest.MediaStore):
//   - Put checks the content, not the name or a claimed type: a JPEG, PNG
//     or WebP image, complete (not truncated), at most
//     ecolaura.MaxImageBytes bytes (it reads at most one byte more, never
//     the rest of a larger stream) and at most ecolaura.MaxImageSide pixels
//     a side, checked from the header before any pixel is decoded. A
//     refused file leaves nothing behind.
//   - A file becomes visible under its key atomically and complete.
//   - Putting bytes that are stored already keeps one file and counts as a
//     new write of it (its time of last write is now), so the cleanup's
//     grace period starts again.
type MediaStore interface {
	// Put reads an image from r, checks it and stores it. Errors:
	// *ValidationError (ErrInvalid) on "file" for a file that is too big,
	// not an image of an accepted type, truncated, or too large in pixels;
	// r's errors.
	Put(ctx context.Context, r io.Reader) (ecolaura.MediaBlob, error)
	// Open returns the file's content and size. Errors: ErrNotFound (also
	// for a key that is not a valid media key).
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// List returns the keys of the files last written before before.
	List(ctx context.Context, before time.Time) ([]string, error)
	// Delete removes the file when it was last written before before (a
	// Put of the same bytes since then keeps it) and reports whether it
	// did. Deleting a missing file is not an error.
	Delete(ctx context.Context, key string, before time.Time) (bool, error)
}
