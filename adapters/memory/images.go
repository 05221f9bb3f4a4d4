package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// imageTables is the image part of a snapshot. Records and the slices of
// byProduct are never modified once published: a write replaces them.
type imageTables struct {
	byID      map[ecolaura.ID]*ecolaura.ProductImage
	byProduct map[ecolaura.ID][]ecolaura.ID // in position order
	refs      map[string]int                // media key -> number of images using it
}

func newImageTables() *imageTables {
	return &imageTables{byID: map[ecolaura.ID]*ecolaura.ProductImage{}, byProduct: map[ecolaura.ID][]ecolaura.ID{}, refs: map[string]int{}}
}

func (it *imageTables) clone() *imageTables {
	return &imageTables{byID: maps.Clone(it.byID), byProduct: maps.Clone(it.byProduct), refs: maps.Clone(it.refs)}
}

// renumber stores the product's images in the order of ids with positions
// 0…n-1 (new records where the position changes).
func (it *imageTables) renumber(productID ecolaura.ID, ids []ecolaura.ID) {
	if len(ids) == 0 {
		delete(it.byProduct, productID)
		return
	}
	for i, id := range ids {
		if r := it.byID[id]; r.Position != i {
			c := *r
			c.Position = i
			it.byID[id] = &c
		}
	}
	it.byProduct[productID] = ids
}

func (it *imageTables) remove(id ecolaura.ID) {
	r := it.byID[id]
	delete(it.byID, id)
	if it.refs[r.Key]--; it.refs[r.Key] <= 0 {
		delete(it.refs, r.Key)
	}
}

// cascadeImages deletes the images of a deleted product (the foreign key's
// ON DELETE CASCADE of the PostgreSQL schema).
func (t *txn) cascadeImages(productID ecolaura.ID) {
	if len(t.w.images.byProduct[productID]) == 0 {
		return
	}
	it := t.imageTables()
	for _, id := range it.byProduct[productID] {
		it.remove(id)
	}
	delete(it.byProduct, productID)
}

// imageStore implements ports.ImageStore.
type imageStore struct {
	db *Database
	tx *txn
}

var _ ports.ImageStore = imageStore{}

// List returns copies of the images of the products, grouped in the order
// of productIDs (each product once), by position.
func (s imageStore) List(ctx context.Context, productIDs []ecolaura.ID) ([]ecolaura.ProductImage, error) {
	out := []ecolaura.ProductImage{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		seen := make(map[ecolaura.ID]bool, len(productIDs))
		for _, pid := range productIDs {
			if seen[pid] {
				continue
			}
			seen[pid] = true
			for _, id := range sn.images.byProduct[pid] {
				out = append(out, *sn.images.byID[id])
			}
		}
		return nil
	})
	return out, err
}

// Get returns a copy of the image. Errors: ErrNotFound.
func (s imageStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.ProductImage, error) {
	var out ecolaura.ProductImage
	err := view(s.db, s.tx, func(sn *snapshot) error {
		r, ok := sn.images.byID[id]
		if !ok {
			return fmt.Errorf("memory: get image %s: %w", id, ecolaura.ErrNotFound)
		}
		out = *r
		return nil
	})
	return out, err
}

// Add appends img to its product's images. Errors: ErrNotFound (no such
// product); ErrInvalid (full, or an invalid image); ErrConflict (ID taken).
func (s imageStore) Add(ctx context.Context, img ecolaura.ProductImage) (ecolaura.ProductImage, error) {
	img.Position = 0
	if err := img.Validate(); err != nil {
		return ecolaura.ProductImage{}, fmt.Errorf("memory: add image: %w", err)
	}
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		if _, ok := t.w.products.get(img.ProductID); !ok {
			return fmt.Errorf("memory: add image to product %s: %w", img.ProductID, ecolaura.ErrNotFound)
		}
		if _, ok := t.w.images.byID[img.ID]; ok {
			return fmt.Errorf("memory: add image %s: id taken: %w", img.ID, ecolaura.ErrConflict)
		}
		ids := t.w.images.byProduct[img.ProductID]
		if len(ids) >= ecolaura.MaxImagesPerProduct {
			return fmt.Errorf("memory: add image: %w", ecolaura.Invalid("images", "a product has at most %d images", ecolaura.MaxImagesPerProduct))
		}
		img.Position = len(ids)
		it := t.imageTables()
		rec := img
		it.byID[img.ID] = &rec
		it.byProduct[img.ProductID] = append(slices.Clip(ids), img.ID)
		it.refs[img.Key]++
		return nil
	})
	if err != nil {
		return ecolaura.ProductImage{}, err
	}
	return img, nil
}

// Update stores img's alt text and variant. Errors: ErrNotFound; ErrInvalid.
func (s imageStore) Update(ctx context.Context, img ecolaura.ProductImage) (ecolaura.ProductImage, error) {
	var out ecolaura.ProductImage
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		r, ok := t.w.images.byID[img.ID]
		if !ok {
			return fmt.Errorf("memory: update image %s: %w", img.ID, ecolaura.ErrNotFound)
		}
		next := *r
		next.Alt, next.VariantID = img.Alt, img.VariantID
		if err := next.Validate(); err != nil {
			return fmt.Errorf("memory: update image: %w", err)
		}
		t.imageTables().byID[img.ID] = &next
		out = next
		return nil
	})
	return out, err
}

// Reorder renumbers the product's images in the order of ids. Errors:
// ErrInvalid on "ids" unless ids names each image of the product once.
func (s imageStore) Reorder(ctx context.Context, productID ecolaura.ID, ids []ecolaura.ID) ([]ecolaura.ProductImage, error) {
	var out []ecolaura.ProductImage
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		cur := t.w.images.byProduct[productID]
		if err := samePermutation(cur, ids); err != nil {
			return fmt.Errorf("memory: reorder images: %w", err)
		}
		it := t.imageTables()
		it.renumber(productID, slices.Clone(ids))
		out = make([]ecolaura.ProductImage, 0, len(ids))
		for _, id := range ids {
			out = append(out, *it.byID[id])
		}
		return nil
	})
	return out, err
}

// samePermutation reports ErrInvalid on "ids" unless ids holds each of cur
// exactly once.
func samePermutation(cur, ids []ecolaura.ID) error {
	want := make(map[ecolaura.ID]bool, len(cur))
	for _, id := range cur {
		want[id] = true
	}
	seen := make(map[ecolaura.ID]bool, len(ids))
	for _, id := range ids {
		if !want[id] || seen[id] {
			return ecolaura.Invalid("ids", "must name each image of the product exactly once")
		}
		seen[id] = true
	}
	if len(seen) != len(want) {
		return ecolaura.Invalid("ids", "must name each image of the product exactly once")
	}
	return nil
}

// Delete removes the image and closes the gap. Errors: ErrNotFound.
func (s imageStore) Delete(ctx context.Context, id ecolaura.ID) (ecolaura.ProductImage, error) {
	var out ecolaura.ProductImage
	err := update(ctx, s.db, s.tx, func(t *txn) error {
		r, ok := t.w.images.byID[id]
		if !ok {
			return fmt.Errorf("memory: delete image %s: %w", id, ecolaura.ErrNotFound)
		}
		out = *r
		it := t.imageTables()
		rest := slices.DeleteFunc(slices.Clone(it.byProduct[r.ProductID]), func(x ecolaura.ID) bool { return x == id })
		it.remove(id)
		it.renumber(r.ProductID, rest)
		return nil
	})
	return out, err
}

// Referenced returns the keys among keys that an image uses.
func (s imageStore) Referenced(ctx context.Context, keys []string) ([]string, error) {
	out := []string{}
	err := view(s.db, s.tx, func(sn *snapshot) error {
		seen := map[string]bool{}
		for _, k := range keys {
			if sn.images.refs[k] > 0 && !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		return nil
	})
	return out, err
}
