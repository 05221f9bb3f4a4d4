package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Media cleanup defaults (see [Service.CleanMedia]).
const (
	// DefaultMediaGrace is how long a media file no image uses is kept
	// after it was last written: an upload stores its file before it
	// commits its image record, so a younger file may be about to be used.
	DefaultMediaGrace = time.Hour
	// DefaultMediaCleanupInterval is how often the cleanup job runs.
	DefaultMediaCleanupInterval = 10 * time.Minute
	// JobCleanMedia is the kind of the periodic media cleanup job.
	JobCleanMedia = "catalog.clean_media"
)

// WithMedia sets the media store the files of product images go to
// (default: none; uploads then fail with ErrUnavailable, the other image
// operations work).
func WithMedia(m ports.MediaStore) Option {
	return func(cfg *Config) { cfg.Media = m }
}

// WithMediaGrace sets how long an unused media file is kept after its last
// write before the cleanup removes it (default [DefaultMediaGrace]; at
// least a minute).
func WithMediaGrace(d time.Duration) Option { return func(cfg *Config) { cfg.MediaGrace = d } }

// errNoMedia is returned by uploads to a service without media store.
var errNoMedia = fmt.Errorf("image uploads are off: no media store is configured (catalog.WithMedia; the server's ECOLAURA_MEDIA_DIR): %w", ecolaura.ErrUnavailable)

// ImageUpload is a new image for [Service.UploadImage].
type ImageUpload struct {
	// File is read once, up to ecolaura.MaxImageBytes + 1 bytes.
	File io.Reader
	// Alt is the text alternative (trimmed; single-line; at most
	// ecolaura.MaxAltLength characters).
	Alt string
	// VariantID ties the image to a variant of the product (optional).
	VariantID ecolaura.ID
}

// ImagePatch changes an image: nil fields are left unchanged.
type ImagePatch struct {
	Alt *string
	// VariantID set to "" unties the image from its variant.
	VariantID *ecolaura.ID
	// Position moves the image to this place among the product's images
	// (0 is first); the others keep their order.
	Position *int
}

// Images returns the images of the given products, by product ID, each
// product's in position order (products without images are left out).
// Anyone may call it. It returns only infrastructure errors.
func (s *Service) Images(ctx context.Context, _ ecolaura.Principal, productIDs ...ecolaura.ID) (map[ecolaura.ID][]ecolaura.ProductImage, error) {
	out := map[ecolaura.ID][]ecolaura.ProductImage{}
	if len(productIDs) == 0 {
		return out, nil
	}
	imgs, err := s.db.Images().List(ctx, productIDs)
	if err != nil {
		return nil, fmt.Errorf("list product images: %w", err)
	}
	for _, img := range imgs {
		out[img.ProductID] = append(out[img.ProductID], img)
	}
	return out, nil
}

// validateImageFields checks an alt text and a variant ID as the image
// writes take them.
func validateImageFields(alt *string, variant *ecolaura.ID) error {
	var v ecolaura.Validator
	if alt != nil {
		v.Merge("", ecolaura.ValidateAlt(*alt))
	}
	if variant != nil && *variant != "" {
		_, err := ecolaura.ParseID(string(*variant))
		v.Check(err == nil, "variant_id", "must be a UUID")
	}
	return v.Err()
}

// UploadImage checks the file of in and stores it in the media store, then
// adds the image after the product's last one, and returns it. The file is
// checked by its content (see ports.MediaStore): a JPEG, PNG or WebP image
// of at most 10 MiB and 8000 px a side. The product's version goes up (its
// cached copies are dropped). Errors: ErrUnauthenticated, ErrForbidden (not
// staff); ErrNotFound (no such product); *ValidationError (ErrInvalid) on
// "file", "alt", "variant_id" (not a variant of the product) or "images"
// (the product has 20 images);
// ErrConflict; ErrUnavailable without a media store. Nothing is stored when
// the input is refused; a file stored for an upload whose record could not
// be written is removed by the cleanup.
func (s *Service) UploadImage(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, in ImageUpload) (ecolaura.ProductImage, error) {
	wrap := func(err error) error { return fmt.Errorf("upload image to product %s: %w", productID, err) }
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	if s.cfg.Media == nil {
		return ecolaura.ProductImage{}, wrap(errNoMedia)
	}
	if err := knownShape(productID); err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	img := ecolaura.ProductImage{ProductID: productID, Alt: in.Alt, VariantID: in.VariantID}
	img.Normalize()
	var v ecolaura.Validator
	v.Merge("", validateImageFields(&img.Alt, &img.VariantID))
	if in.File == nil {
		v.Add("file", "is required")
	}
	if err := v.Err(); err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	// Refuse what can be refused before the file is stored.
	p, err := s.db.Products().Get(ctx, productID)
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	if err := variantOf(p, img.VariantID); err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	cur, err := s.db.Images().List(ctx, []ecolaura.ID{productID})
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	if len(cur) >= ecolaura.MaxImagesPerProduct {
		return ecolaura.ProductImage{}, wrap(tooManyImages())
	}
	blob, err := s.cfg.Media.Put(ctx, in.File)
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	img.MediaBlob = blob
	var stored ecolaura.ProductImage
	err = s.imageWrite(ctx, actor, productID, func(ctx context.Context, tx ports.Tx, p ecolaura.Product) ([]ecolaura.AuditChange, error) {
		if err := variantOf(p, img.VariantID); err != nil { // deleted since
			return nil, err
		}
		img.ID, img.CreatedAt = s.ids.NewID(), s.clock.Now()
		var err error
		if stored, err = tx.Images().Add(ctx, img); err != nil {
			return nil, err
		}
		id := string(stored.ID)
		return []ecolaura.AuditChange{{Field: "images.add", To: &id}}, nil
	})
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	s.log.InfoContext(ctx, "product image uploaded", "product", productID, "image", stored.ID, "key", stored.Key, "actor", actor.UserID)
	return stored, nil
}

func tooManyImages() error {
	return ecolaura.Invalid("images", "a product has at most %d images", ecolaura.MaxImagesPerProduct)
}

// UpdateImage changes an image's alt text, variant or position and returns
// it as stored. Errors: ErrUnauthenticated, ErrForbidden; ErrNotFound (no
// such product, or the image is not one of its images); *ValidationError
// (ErrInvalid) on "alt", "variant_id" (not a variant of the product) or
// "position"; ErrConflict.
func (s *Service) UpdateImage(ctx context.Context, actor ecolaura.Principal, productID, imageID ecolaura.ID, patch ImagePatch) (ecolaura.ProductImage, error) {
	wrap := func(err error) error { return fmt.Errorf("update image %s of product %s: %w", imageID, productID, err) }
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	if err := errors.Join(knownShape(productID), knownShape(imageID)); err != nil {
		return ecolaura.ProductImage{}, wrap(ecolaura.ErrNotFound)
	}
	if patch.Alt != nil {
		alt := ecolaura.ProductImage{Alt: *patch.Alt}
		alt.Normalize()
		patch.Alt = &alt.Alt
	}
	var v ecolaura.Validator
	v.Merge("", validateImageFields(patch.Alt, patch.VariantID))
	if patch.Position != nil {
		v.Check(*patch.Position >= 0 && *patch.Position < ecolaura.MaxImagesPerProduct, "position", "must be between 0 and %d", ecolaura.MaxImagesPerProduct-1)
	}
	if err := v.Err(); err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	var out ecolaura.ProductImage
	err := s.imageWrite(ctx, actor, productID, func(ctx context.Context, tx ports.Tx, p ecolaura.Product) ([]ecolaura.AuditChange, error) {
		cur, err := imageOf(ctx, tx, productID, imageID)
		if err != nil {
			return nil, err
		}
		var changes []ecolaura.AuditChange
		next := cur
		if patch.Alt != nil {
			next.Alt = *patch.Alt
		}
		if patch.VariantID != nil {
			if err := variantOf(p, *patch.VariantID); err != nil {
				return nil, err
			}
			next.VariantID = *patch.VariantID
		}
		if next.Alt != cur.Alt || next.VariantID != cur.VariantID {
			if next, err = tx.Images().Update(ctx, next); err != nil {
				return nil, err
			}
			changes = append(changes, change("images.alt", cur.Alt, next.Alt)...)
			changes = append(changes, change("images.variant_id", string(cur.VariantID), string(next.VariantID))...)
		}
		if patch.Position != nil && *patch.Position != cur.Position {
			all, err := tx.Images().List(ctx, []ecolaura.ID{productID})
			if err != nil {
				return nil, err
			}
			if *patch.Position >= len(all) {
				return nil, ecolaura.Invalid("position", "must be between 0 and %d (the product has %d images)", len(all)-1, len(all))
			}
			ids := make([]ecolaura.ID, 0, len(all))
			for _, img := range all {
				if img.ID != imageID {
					ids = append(ids, img.ID)
				}
			}
			ids = slices.Insert(ids, *patch.Position, imageID)
			if _, err := tx.Images().Reorder(ctx, productID, ids); err != nil {
				return nil, err
			}
			next.Position = *patch.Position
			changes = append(changes, change("images.position", strconv.Itoa(cur.Position), strconv.Itoa(next.Position))...)
		}
		out = next
		return changes, nil
	})
	if err != nil {
		return ecolaura.ProductImage{}, wrap(err)
	}
	return out, nil
}

// change returns the audit change of field when from and to differ.
func change(field, from, to string) []ecolaura.AuditChange {
	if from == to {
		return nil
	}
	return []ecolaura.AuditChange{{Field: field, From: &from, To: &to}}
}

// ReorderImages gives the product's images the order of ids (each of its
// images exactly once) and returns them in that order. Errors:
// ErrUnauthenticated, ErrForbidden; ErrNotFound; *ValidationError
// (ErrInvalid) on "ids"; ErrConflict.
func (s *Service) ReorderImages(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, ids []ecolaura.ID) ([]ecolaura.ProductImage, error) {
	wrap := func(err error) error { return fmt.Errorf("reorder images of product %s: %w", productID, err) }
	if err := actor.RequireStaff(); err != nil {
		return nil, wrap(err)
	}
	if err := knownShape(productID); err != nil {
		return nil, wrap(err)
	}
	var out []ecolaura.ProductImage
	err := s.imageWrite(ctx, actor, productID, func(ctx context.Context, tx ports.Tx, p ecolaura.Product) ([]ecolaura.AuditChange, error) {
		before, err := tx.Images().List(ctx, []ecolaura.ID{productID})
		if err != nil {
			return nil, err
		}
		if out, err = tx.Images().Reorder(ctx, productID, ids); err != nil {
			return nil, err
		}
		return change("images.order", imageIDs(before), imageIDs(out)), nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func imageIDs(imgs []ecolaura.ProductImage) string {
	s := ""
	for i, img := range imgs {
		if i > 0 {
			s += ","
		}
		s += string(img.ID)[len(img.ID)-12:] // the random tail is enough to tell them apart in a diff
	}
	return s
}

// DeleteImage removes an image of the product (its file goes with the
// next cleanup once no image uses it). Errors: ErrUnauthenticated,
// ErrForbidden; ErrNotFound; ErrConflict.
func (s *Service) DeleteImage(ctx context.Context, actor ecolaura.Principal, productID, imageID ecolaura.ID) error {
	wrap := func(err error) error { return fmt.Errorf("delete image %s of product %s: %w", imageID, productID, err) }
	if err := actor.RequireStaff(); err != nil {
		return wrap(err)
	}
	if err := errors.Join(knownShape(productID), knownShape(imageID)); err != nil {
		return wrap(ecolaura.ErrNotFound)
	}
	err := s.imageWrite(ctx, actor, productID, func(ctx context.Context, tx ports.Tx, p ecolaura.Product) ([]ecolaura.AuditChange, error) {
		if _, err := imageOf(ctx, tx, productID, imageID); err != nil {
			return nil, err
		}
		if _, err := tx.Images().Delete(ctx, imageID); err != nil {
			return nil, err
		}
		id := string(imageID)
		return []ecolaura.AuditChange{{Field: "images.remove", From: &id}}, nil
	})
	if err != nil {
		return wrap(err)
	}
	s.log.InfoContext(ctx, "product image deleted", "product", productID, "image", imageID, "actor", actor.UserID)
	return nil
}

// variantOf checks that id ("" for none) is one of p's variants: an image
// shows a variant of its own product. Errors: a *ValidationError on
// "variant_id".
func variantOf(p ecolaura.Product, id ecolaura.ID) error {
	if id == "" {
		return nil
	}
	if _, ok := p.Variant(id); !ok {
		return ecolaura.Invalid("variant_id", "is not a variant of this product")
	}
	return nil
}

// imageOf returns the image when it belongs to the product, else ErrNotFound.
func imageOf(ctx context.Context, tx ports.Tx, productID, imageID ecolaura.ID) (ecolaura.ProductImage, error) {
	img, err := tx.Images().Get(ctx, imageID)
	if err != nil {
		return ecolaura.ProductImage{}, err
	}
	if img.ProductID != productID {
		return ecolaura.ProductImage{}, fmt.Errorf("image %s belongs to another product: %w", imageID, ecolaura.ErrNotFound)
	}
	return img, nil
}

// imageWrite runs one image write in a transaction that first writes the
// product (a new version and UpdatedAt): the product's row lock serialises
// the image writes of one product (two uploads cannot both take the last
// free place), and the new version drops every cached copy of the product
// and of the responses showing it. write returns the audit changes (none:
// no event); it gets the product as read in the transaction (its variants
// are those an image may be tied to). A lost race on the product's version
// is retried.
func (s *Service) imageWrite(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, write func(ctx context.Context, tx ports.Tx, p ecolaura.Product) ([]ecolaura.AuditChange, error)) error {
	for attempt := 0; ; attempt++ {
		err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			cur, err := tx.Products().Get(ctx, productID)
			if err != nil {
				return err
			}
			next := cur.Clone()
			next.UpdatedAt = s.clock.Now()
			if _, err := tx.Products().Update(ctx, next); err != nil {
				return err
			}
			changes, err := write(ctx, tx, cur)
			if err != nil || len(changes) == 0 {
				return err
			}
			return s.audit(ctx, tx, actor, ecolaura.ActionUpdate, productID, changes)
		})
		if errors.Is(err, ecolaura.ErrConflict) && attempt < s.cfg.UpdateRetries {
			continue
		}
		return err
	}
}

// CleanMedia removes the media files that no image uses and that were last
// written more than the grace period ago ([WithMediaGrace]), and returns
// how many it removed. A file whose last image was deleted goes with the
// first run after the grace period since its last upload. It is what the
// [JobCleanMedia] job runs; it needs no principal (the system runs it).
// Errors: the stores'; ErrUnavailable without a media store.
func (s *Service) CleanMedia(ctx context.Context) (int, error) {
	if s.cfg.Media == nil {
		return 0, fmt.Errorf("clean media: %w", errNoMedia)
	}
	before := time.Now().Add(-s.cfg.MediaGrace)
	keys, err := s.cfg.Media.List(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("clean media: %w", err)
	}
	deleted := 0
	for chunk := range slices.Chunk(keys, 500) {
		used, err := s.db.Images().Referenced(ctx, chunk)
		if err != nil {
			return deleted, fmt.Errorf("clean media: %w", err)
		}
		for _, k := range chunk {
			if slices.Contains(used, k) {
				continue
			}
			ok, err := s.cfg.Media.Delete(ctx, k, before)
			if err != nil {
				return deleted, fmt.Errorf("clean media: %w", err)
			}
			if ok {
				deleted++
			}
		}
	}
	if deleted > 0 {
		s.log.InfoContext(ctx, "unused media files removed", "files", deleted)
	}
	return deleted, nil
}

// JobKinds returns the job kinds [Service.HandleJob] runs.
func (s *Service) JobKinds() []string { return []string{JobCleanMedia} }

// HandleJob runs the catalog's jobs (the media cleanup); it implements
// ports.JobHandler. A service without media store has nothing to clean.
func (s *Service) HandleJob(ctx context.Context, job ports.Job) error {
	if job.Kind != JobCleanMedia {
		return ports.Permanent(fmt.Errorf("catalog: unknown job kind %q: %w", job.Kind, ecolaura.ErrInvalid))
	}
	if s.cfg.Media == nil {
		return nil
	}
	_, err := s.CleanMedia(ctx)
	return err
}

// MediaCleanupJob returns the periodic job that runs [Service.CleanMedia]
// every interval (0: [DefaultMediaCleanupInterval]), for a job runner.
func MediaCleanupJob(interval time.Duration) ports.PeriodicJob {
	if interval <= 0 {
		interval = DefaultMediaCleanupInterval
	}
	return ports.PeriodicJob{Job: ports.Job{Kind: JobCleanMedia, Payload: []byte("{}")}, Interval: interval}
}
