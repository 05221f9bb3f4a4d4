package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/media"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// mediaFixture is a catalog over a store with a media directory.
type mediaFixture struct {
	fixture
	dir string
}

func newMediaFixture(t *testing.T, st storetest.Store) mediaFixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	m, err := media.Open(dir)
	require.NoError(t, err)
	return mediaFixture{fixture: newFixture(t, st, catalog.WithMedia(m)), dir: dir}
}

// files returns the names in the media directory.
func (f mediaFixture) files(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// age makes every media file look written an hour and a minute ago.
func (f mediaFixture) age(t *testing.T) {
	t.Helper()
	old := time.Now().Add(-catalog.DefaultMediaGrace - time.Minute)
	for _, name := range f.files(t) {
		require.NoError(t, os.Chtimes(filepath.Join(f.dir, name), old, old))
	}
}

func (f mediaFixture) upload(t *testing.T, pid ecolaura.ID, data []byte, alt string) ecolaura.ProductImage {
	t.Helper()
	img, err := f.svc.UploadImage(context.Background(), staff, pid, catalog.ImageUpload{File: bytes.NewReader(data), Alt: alt})
	require.NoError(t, err)
	return img
}

func (f mediaFixture) images(t *testing.T, pid ecolaura.ID) []ecolaura.ProductImage {
	t.Helper()
	got, err := f.svc.Images(context.Background(), anon, pid)
	require.NoError(t, err)
	return got[pid]
}

func TestUploadImage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		ctx := context.Background()
		f := newMediaFixture(t, st)
		p := f.create(t, validInput())
		variant := p.DefaultVariant().ID
		for _, tc := range []struct {
			name, ct string
			data     []byte
		}{
			{"png", ecolaura.ImagePNG, porttest.PNG(120, 80)},
			{"jpeg", ecolaura.ImageJPEG, porttest.JPEG(64, 48)},
			{"webp", ecolaura.ImageWebP, porttest.WebP()},
		} {
			img, err := f.svc.UploadImage(ctx, staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(tc.data), Alt: "  " + tc.name + " view  ", VariantID: variant})
			require.NoError(t, err, tc.name)
			assert.Equal(t, tc.ct, img.ContentType)
			assert.Equal(t, tc.name+" view", img.Alt, "alt trimmed")
			assert.Equal(t, variant, img.VariantID)
			assert.FileExists(t, filepath.Join(f.dir, img.Key))
		}
		imgs := f.images(t, p.ID)
		require.Len(t, imgs, 3)
		for i, img := range imgs {
			assert.Equal(t, i, img.Position)
		}
		got, err := f.svc.Get(ctx, anon, p.ID)
		require.NoError(t, err)
		assert.Equal(t, p.Version+3, got.Version, "every image write gives the product a new version (cached copies are dropped)")
		assert.Equal(t, p.Name, got.Name, "and changes nothing else")
		events, err := f.db.Audit().List(ctx, ports.AuditQuery{Limit: 10, EntityID: p.ID})
		require.NoError(t, err)
		assert.Equal(t, "images.add", events.Items[0].Changes[0].Field, "uploads are audited")
	})
}

func TestUploadImageRefusals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		ctx := context.Background()
		f := newMediaFixture(t, st)
		p := f.create(t, validInput())
		other := f.create(t, validInput())
		png := porttest.PNG(32, 32)
		big := make([]byte, ecolaura.MaxImageBytes+1)
		copy(big, png)
		tests := []struct {
			name   string
			actor  ecolaura.Principal
			pid    ecolaura.ID
			in     catalog.ImageUpload
			target error
			field  string
		}{
			{"anonymous", anon, p.ID, catalog.ImageUpload{File: bytes.NewReader(png)}, ecolaura.ErrUnauthenticated, ""},
			{"customer", customer, p.ID, catalog.ImageUpload{File: bytes.NewReader(png)}, ecolaura.ErrForbidden, ""},
			{"unknown product", staff, porttest.NewID(), catalog.ImageUpload{File: bytes.NewReader(png)}, ecolaura.ErrNotFound, ""},
			{"malformed product id", staff, "../x", catalog.ImageUpload{File: bytes.NewReader(png)}, ecolaura.ErrNotFound, ""},
			{"no file", staff, p.ID, catalog.ImageUpload{}, ecolaura.ErrInvalid, "file"},
			{"alt with a newline", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(png), Alt: "a\nb"}, ecolaura.ErrInvalid, "alt"},
			{"variant not a UUID", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(png), VariantID: "size-m"}, ecolaura.ErrInvalid, "variant_id"},
			{"unknown variant", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(png), VariantID: porttest.NewID()}, ecolaura.ErrInvalid, "variant_id"},
			{"another product's variant", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(png), VariantID: other.DefaultVariant().ID}, ecolaura.ErrInvalid, "variant_id"},
			{"text file", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader([]byte("not an image"))}, ecolaura.ErrInvalid, "file"},
			{"truncated png", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(png[:len(png)/2])}, ecolaura.ErrInvalid, "file"},
			{"bomb", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(porttest.PNGBomb(100000, 100000))}, ecolaura.ErrInvalid, "file"},
			{"over 10 MiB", staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(big)}, ecolaura.ErrInvalid, "file"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.UploadImage(ctx, tc.actor, tc.pid, tc.in)
				require.ErrorIs(t, err, tc.target)
				if tc.field != "" {
					var ve *ecolaura.ValidationError
					require.ErrorAs(t, err, &ve)
					assert.Equal(t, tc.field, ve.Fields[0].Field)
				}
			})
		}
		assert.Empty(t, f.files(t), "no refused upload left a file")
		assert.Empty(t, f.images(t, p.ID))

		noMedia := newFixture(t, st)
		q := noMedia.create(t, validInput())
		_, err := noMedia.svc.UploadImage(ctx, staff, q.ID, catalog.ImageUpload{File: bytes.NewReader(png)})
		require.ErrorIs(t, err, ecolaura.ErrUnavailable, "a service without media store cannot store files")
	})
}

func TestTwentyImagesAtMost(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		f := newMediaFixture(t, st)
		p := f.create(t, validInput())
		for i := range ecolaura.MaxImagesPerProduct - 1 {
			f.upload(t, p.ID, porttest.PNG(10+i, 10), "")
		}
		// Four uploads race for the last place: the product's row lock lets
		// exactly one take it.
		const racers = 4
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won, full int
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := f.svc.UploadImage(context.Background(), staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(porttest.PNG(100+i, 7))})
				mu.Lock()
				defer mu.Unlock()
				var ve *ecolaura.ValidationError
				switch {
				case err == nil:
					won++
				case errors.As(err, &ve) && ve.Fields[0].Field == "images":
					full++
				default:
					t.Errorf("upload: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, 1, won)
		assert.Equal(t, racers-1, full, "the others were refused with a field error")
		imgs := f.images(t, p.ID)
		require.Len(t, imgs, ecolaura.MaxImagesPerProduct)
		for i, img := range imgs {
			assert.Equal(t, i, img.Position)
		}
		before := f.files(t)
		_, err := f.svc.UploadImage(context.Background(), staff, p.ID, catalog.ImageUpload{File: bytes.NewReader(porttest.PNG(300, 3))})
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
		assert.Equal(t, before, f.files(t), "a full gallery refuses before storing the file")
	})
}

func TestUpdateReorderDeleteImages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		ctx := context.Background()
		f := newMediaFixture(t, st)
		p := f.create(t, validInput())
		other := f.create(t, validInput())
		a := f.upload(t, p.ID, porttest.PNG(11, 11), "a")
		b := f.upload(t, p.ID, porttest.PNG(12, 12), "b")
		c := f.upload(t, p.ID, porttest.PNG(13, 13), "c")
		foreign := f.upload(t, other.ID, porttest.PNG(14, 14), "x")
		ids := func() []ecolaura.ID {
			var out []ecolaura.ID
			for _, img := range f.images(t, p.ID) {
				out = append(out, img.ID)
			}
			return out
		}

		_, err := f.svc.UpdateImage(ctx, staff, p.ID, b.ID, catalog.ImagePatch{VariantID: ptr(other.DefaultVariant().ID)})
		requireFields(t, err, "variant_id")
		variant := p.DefaultVariant().ID
		got, err := f.svc.UpdateImage(ctx, staff, p.ID, b.ID, catalog.ImagePatch{Alt: ptr(" Back "), VariantID: &variant})
		require.NoError(t, err)
		assert.Equal(t, "Back", got.Alt)
		assert.Equal(t, variant, got.VariantID)
		got, err = f.svc.UpdateImage(ctx, staff, p.ID, b.ID, catalog.ImagePatch{VariantID: ptr(ecolaura.ID(""))})
		require.NoError(t, err)
		assert.Empty(t, got.VariantID, "untied")
		assert.Equal(t, "Back", got.Alt, "the alt text is kept")

		got, err = f.svc.UpdateImage(ctx, staff, p.ID, c.ID, catalog.ImagePatch{Position: ptr(0)})
		require.NoError(t, err)
		assert.Equal(t, 0, got.Position)
		assert.Equal(t, []ecolaura.ID{c.ID, a.ID, b.ID}, ids(), "moved first, the others keep their order")

		for name, tc := range map[string]struct {
			actor ecolaura.Principal
			pid   ecolaura.ID
			id    ecolaura.ID
			patch catalog.ImagePatch
			want  error
		}{
			"customer":              {customer, p.ID, a.ID, catalog.ImagePatch{Alt: ptr("x")}, ecolaura.ErrForbidden},
			"another product's":     {staff, p.ID, foreign.ID, catalog.ImagePatch{Alt: ptr("x")}, ecolaura.ErrNotFound},
			"unknown":               {staff, p.ID, porttest.NewID(), catalog.ImagePatch{Alt: ptr("x")}, ecolaura.ErrNotFound},
			"position past the end": {staff, p.ID, a.ID, catalog.ImagePatch{Position: ptr(3)}, ecolaura.ErrInvalid},
			"position out of range": {staff, p.ID, a.ID, catalog.ImagePatch{Position: ptr(-1)}, ecolaura.ErrInvalid},
			"control character":     {staff, p.ID, a.ID, catalog.ImagePatch{Alt: ptr("\x7f")}, ecolaura.ErrInvalid},
		} {
			_, err := f.svc.UpdateImage(ctx, tc.actor, tc.pid, tc.id, tc.patch)
			require.ErrorIs(t, err, tc.want, name)
		}

		out, err := f.svc.ReorderImages(ctx, staff, p.ID, []ecolaura.ID{b.ID, c.ID, a.ID})
		require.NoError(t, err)
		require.Len(t, out, 3)
		assert.Equal(t, []ecolaura.ID{b.ID, c.ID, a.ID}, ids())
		_, err = f.svc.ReorderImages(ctx, staff, p.ID, []ecolaura.ID{b.ID, c.ID})
		require.ErrorIs(t, err, ecolaura.ErrInvalid)

		require.ErrorIs(t, f.svc.DeleteImage(ctx, staff, p.ID, foreign.ID), ecolaura.ErrNotFound, "through another product")
		require.ErrorIs(t, f.svc.DeleteImage(ctx, customer, p.ID, c.ID), ecolaura.ErrForbidden)
		require.NoError(t, f.svc.DeleteImage(ctx, staff, p.ID, c.ID))
		assert.Equal(t, []ecolaura.ID{b.ID, a.ID}, ids())
		require.ErrorIs(t, f.svc.DeleteImage(ctx, staff, p.ID, c.ID), ecolaura.ErrNotFound)
	})
}

func TestCleanMedia(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		ctx := context.Background()
		f := newMediaFixture(t, st)
		p, q := f.create(t, validInput()), f.create(t, validInput())
		shared := porttest.PNG(50, 50)
		kept := f.upload(t, p.ID, porttest.PNG(51, 51), "kept")
		sp := f.upload(t, p.ID, shared, "shared in p")
		sq := f.upload(t, q.ID, shared, "shared in q")
		require.Equal(t, sp.Key, sq.Key, "the same bytes are one file")
		gone := f.upload(t, p.ID, porttest.JPEG(52, 52), "deleted")
		require.NoError(t, f.svc.DeleteImage(ctx, staff, p.ID, gone.ID))

		n, err := f.svc.CleanMedia(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "within the grace period nothing is removed")
		assert.FileExists(t, filepath.Join(f.dir, gone.Key))

		f.age(t)
		n, err = f.svc.CleanMedia(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.NoFileExists(t, filepath.Join(f.dir, gone.Key), "the orphan is removed")
		assert.FileExists(t, filepath.Join(f.dir, kept.Key), "a used file is kept")
		assert.FileExists(t, filepath.Join(f.dir, sp.Key))

		require.NoError(t, f.svc.DeleteImage(ctx, staff, p.ID, sp.ID))
		_, err = f.svc.CleanMedia(ctx)
		require.NoError(t, err)
		assert.FileExists(t, filepath.Join(f.dir, sp.Key), "a shared file stays while another product uses it")

		require.NoError(t, f.svc.Delete(ctx, staff, q.ID))
		require.NoError(t, f.svc.HandleJob(ctx, catalog.MediaCleanupJob(0).Job))
		assert.NoFileExists(t, filepath.Join(f.dir, sp.Key), "gone with its last use (the product's deletion)")
		assert.Equal(t, []string{kept.Key}, f.files(t))

		// A file uploaded again after it became an orphan is young again.
		again := f.upload(t, p.ID, porttest.JPEG(52, 52), "back")
		require.NoError(t, f.svc.DeleteImage(ctx, staff, p.ID, again.ID))
		n, err = f.svc.CleanMedia(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
		assert.FileExists(t, filepath.Join(f.dir, again.Key))
	})
}
