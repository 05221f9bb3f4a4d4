package porttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// NewMediaKey returns a valid media key of random content with extension
// ext ("png", "jpg" or "webp").
func NewMediaKey(ext string) string { return randomHex(32) + "." + ext }

// NewImage returns a valid image record of productID with a fresh ID and
// media key (a 640×480 PNG of 1234 bytes), created now. Options change it
// before it is returned; the result is not stored.
func NewImage(productID ecolaura.ID, opts ...func(*ecolaura.ProductImage)) ecolaura.ProductImage {
	img := ecolaura.ProductImage{
		ID: NewID(), ProductID: productID, Alt: "A porttest image",
		MediaBlob: ecolaura.MediaBlob{Key: NewMediaKey("png"), ContentType: ecolaura.ImagePNG, Width: 640, Height: 480, Bytes: 1234},
		CreatedAt: Now(),
	}
	for _, o := range opts {
		o(&img)
	}
	return img
}

// ImageStore checks the semantics of [ports.ImageStore]: appending with
// positions 0…n-1, at most ecolaura.MaxImagesPerProduct per product,
// updates of the alt text and variant only, reordering by a permutation,
// deletion closing the gap, the media keys still in use, the cascade when a
// product is deleted, copies in and out, and transactions (rolled-back
// writes are not kept; concurrent appends never break the positions).
func ImageStore(t *testing.T, newDB DatabaseFactory) {
	db := newDB(t, newJobRecorder())
	require.NotNil(t, db, "factory returned nil")
	images := func(t *testing.T, pid ecolaura.ID) []ecolaura.ProductImage {
		t.Helper()
		got, err := db.Images().List(ctx(t), []ecolaura.ID{pid})
		require.NoError(t, err)
		return got
	}
	positions := func(imgs []ecolaura.ProductImage) []int {
		out := make([]int, len(imgs))
		for i, img := range imgs {
			out[i] = img.Position
		}
		return out
	}
	ids := func(imgs []ecolaura.ProductImage) []ecolaura.ID {
		out := make([]ecolaura.ID, len(imgs))
		for i, img := range imgs {
			out[i] = img.ID
		}
		return out
	}
	add := func(t *testing.T, pid ecolaura.ID, opts ...func(*ecolaura.ProductImage)) ecolaura.ProductImage {
		t.Helper()
		img, err := db.Images().Add(ctx(t), NewImage(pid, opts...))
		require.NoError(t, err)
		return img
	}

	t.Run("AddAppendsAndReadsBack", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		variant := NewID()
		want := NewImage(p.ID, func(i *ecolaura.ProductImage) { i.Position = 7; i.VariantID = variant })
		got, err := db.Images().Add(ctx(t), want)
		require.NoError(t, err)
		want.Position = 0
		assert.Equal(t, want, got, "Add returns the stored image, its position set")
		second := add(t, p.ID)
		third := add(t, p.ID)
		assert.Equal(t, []int{1, 2}, []int{second.Position, third.Position}, "Add appends")
		list := images(t, p.ID)
		assert.Equal(t, []ecolaura.ID{got.ID, second.ID, third.ID}, ids(list))
		assert.Equal(t, []int{0, 1, 2}, positions(list))
		assert.Equal(t, want, list[0], "every field reads back")
		one, err := db.Images().Get(ctx(t), second.ID)
		require.NoError(t, err)
		assert.Equal(t, second, one)
	})

	t.Run("ListGroupsByProductInTheOrderAsked", func(t *testing.T) {
		a, b := mustCreateProduct(t, db), mustCreateProduct(t, db)
		a1, b1, a2 := add(t, a.ID), add(t, b.ID), add(t, a.ID)
		got, err := db.Images().List(ctx(t), []ecolaura.ID{b.ID, NewID(), a.ID, b.ID})
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.ID{b1.ID, a1.ID, a2.ID}, ids(got), "grouped in the order of the IDs (each product once), by position")
		none, err := db.Images().List(ctx(t), nil)
		require.NoError(t, err)
		assert.Empty(t, none)
	})

	t.Run("CopiesInAndOut", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		img := add(t, p.ID)
		got := images(t, p.ID)
		got[0].Alt = "changed by the caller"
		again, err := db.Images().Get(ctx(t), img.ID)
		require.NoError(t, err)
		assert.Equal(t, img.Alt, again.Alt)
	})

	t.Run("AddRefusals", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		_, err := db.Images().Add(ctx(t), NewImage(NewID()))
		require.ErrorIs(t, err, ecolaura.ErrNotFound, "no such product")
		for name, broken := range map[string]func(*ecolaura.ProductImage){
			"alt with a control character": func(i *ecolaura.ProductImage) { i.Alt = "a\x01b" },
			"alt too long":                 func(i *ecolaura.ProductImage) { i.Alt = string(bytes.Repeat([]byte("a"), ecolaura.MaxAltLength+1)) },
			"key not an address":           func(i *ecolaura.ProductImage) { i.Key = "../etc/passwd.png" },
			"type not the key's":           func(i *ecolaura.ProductImage) { i.ContentType = ecolaura.ImageJPEG },
			"too wide":                     func(i *ecolaura.ProductImage) { i.Width = ecolaura.MaxImageSide + 1 },
		} {
			_, err := db.Images().Add(ctx(t), NewImage(p.ID, broken))
			require.ErrorIs(t, err, ecolaura.ErrInvalid, name)
		}
		assert.Empty(t, images(t, p.ID), "a refused image is not stored")
		img := add(t, p.ID)
		_, err = db.Images().Add(ctx(t), NewImage(p.ID, func(i *ecolaura.ProductImage) { i.ID = img.ID }))
		require.ErrorIs(t, err, ecolaura.ErrConflict, "ID taken")
	})

	t.Run("AtMostTwentyPerProduct", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		for range ecolaura.MaxImagesPerProduct {
			add(t, p.ID)
		}
		_, err := db.Images().Add(ctx(t), NewImage(p.ID))
		var ve *ecolaura.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "images", ve.Fields[0].Field)
		assert.Len(t, images(t, p.ID), ecolaura.MaxImagesPerProduct)
	})

	t.Run("UpdateChangesAltAndVariantOnly", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		img := add(t, p.ID)
		change := img
		change.Alt, change.VariantID = "New alt", NewID()
		change.Key, change.Width, change.Position = NewMediaKey("png"), 1, 5
		got, err := db.Images().Update(ctx(t), change)
		require.NoError(t, err)
		want := img
		want.Alt, want.VariantID = change.Alt, change.VariantID
		assert.Equal(t, want, got)
		change.VariantID = ""
		got, err = db.Images().Update(ctx(t), change)
		require.NoError(t, err)
		assert.Empty(t, got.VariantID, "the variant is cleared")
		_, err = db.Images().Update(ctx(t), NewImage(p.ID))
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		change.Alt = "tab\tinside"
		_, err = db.Images().Update(ctx(t), change)
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
	})

	t.Run("Reorder", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		a, b, c := add(t, p.ID), add(t, p.ID), add(t, p.ID)
		got, err := db.Images().Reorder(ctx(t), p.ID, []ecolaura.ID{c.ID, a.ID, b.ID})
		require.NoError(t, err)
		assert.Equal(t, []ecolaura.ID{c.ID, a.ID, b.ID}, ids(got))
		assert.Equal(t, []int{0, 1, 2}, positions(got))
		assert.Equal(t, got, images(t, p.ID))
		other := add(t, mustCreateProduct(t, db).ID)
		for name, bad := range map[string][]ecolaura.ID{
			"missing one":         {c.ID, a.ID},
			"twice":               {c.ID, a.ID, a.ID},
			"another's image":     {c.ID, a.ID, other.ID},
			"one more":            {c.ID, a.ID, b.ID, other.ID},
			"unknown image":       {c.ID, a.ID, NewID()},
			"empty for a gallery": {},
		} {
			_, err := db.Images().Reorder(ctx(t), p.ID, bad)
			require.ErrorIs(t, err, ecolaura.ErrInvalid, name)
		}
		assert.Equal(t, got, images(t, p.ID), "a refused order changes nothing")
		empty, err := db.Images().Reorder(ctx(t), mustCreateProduct(t, db).ID, nil)
		require.NoError(t, err)
		assert.Empty(t, empty)
	})

	t.Run("DeleteClosesTheGap", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		a, b, c := add(t, p.ID), add(t, p.ID), add(t, p.ID)
		gone, err := db.Images().Delete(ctx(t), b.ID)
		require.NoError(t, err)
		assert.Equal(t, b, gone)
		list := images(t, p.ID)
		assert.Equal(t, []ecolaura.ID{a.ID, c.ID}, ids(list))
		assert.Equal(t, []int{0, 1}, positions(list))
		_, err = db.Images().Delete(ctx(t), b.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		_, err = db.Images().Get(ctx(t), b.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		d := add(t, p.ID)
		assert.Equal(t, 2, d.Position, "the next image comes after the last")
	})

	t.Run("ReferencedKeys", func(t *testing.T) {
		p, q := mustCreateProduct(t, db), mustCreateProduct(t, db)
		shared, own, unused := NewMediaKey("png"), NewMediaKey("png"), NewMediaKey("png")
		withKey := func(k string) func(*ecolaura.ProductImage) {
			return func(i *ecolaura.ProductImage) { i.Key = k }
		}
		ps, qs := add(t, p.ID, withKey(shared)), add(t, q.ID, withKey(shared))
		add(t, p.ID, withKey(own))
		referenced := func() []string {
			got, err := db.Images().Referenced(ctx(t), []string{shared, own, unused, shared})
			require.NoError(t, err)
			slices.Sort(got)
			return got
		}
		assert.Equal(t, sorted(shared, own), referenced())
		_, err := db.Images().Delete(ctx(t), ps.ID)
		require.NoError(t, err)
		assert.Equal(t, sorted(shared, own), referenced(), "the other product still uses the shared file")
		_, err = db.Images().Delete(ctx(t), qs.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{own}, referenced(), "the last use is gone")
		none, err := db.Images().Referenced(ctx(t), nil)
		require.NoError(t, err)
		assert.Empty(t, none)
	})

	t.Run("DeletingTheProductDeletesItsImages", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		img := add(t, p.ID)
		require.NoError(t, db.Products().Delete(ctx(t), p.ID))
		assert.Empty(t, images(t, p.ID))
		_, err := db.Images().Get(ctx(t), img.ID)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		got, err := db.Images().Referenced(ctx(t), []string{img.Key})
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("RolledBackWritesAreNotKept", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		kept := add(t, p.ID)
		boom := errors.New("porttest: roll back")
		err := db.Do(ctx(t), func(ctx context.Context, tx ports.Tx) error {
			if _, err := tx.Images().Add(ctx, NewImage(p.ID)); err != nil {
				return err
			}
			if _, err := tx.Images().Delete(ctx, kept.ID); err != nil {
				return err
			}
			inside, err := tx.Images().List(ctx, []ecolaura.ID{p.ID})
			if err != nil {
				return err
			}
			if len(inside) != 1 || inside[0].ID == kept.ID {
				return errors.New("the transaction does not see its own writes")
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, []ecolaura.ProductImage{kept}, images(t, p.ID))
	})

	t.Run("ConcurrentAddsKeepPositions", func(t *testing.T) {
		p := mustCreateProduct(t, db)
		const n = 8
		var mu sync.Mutex
		var okCount, conflicts int
		race(n, func(int) {
			_, err := db.Images().Add(context.Background(), NewImage(p.ID))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				okCount++
			case errors.Is(err, ecolaura.ErrConflict):
				conflicts++
			default:
				t.Errorf("concurrent add: %v", err)
			}
		})
		list := images(t, p.ID)
		assert.Len(t, list, okCount, "every successful add is stored")
		assert.Equal(t, n, okCount+conflicts)
		for i, img := range list {
			assert.Equal(t, i, img.Position, "positions stay 0…n-1")
		}
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// MediaStoreFactory returns an empty media store for one suite run, and
// the directory its files are in ("" when it keeps them elsewhere: the
// checks that look at the directory are then skipped).
type MediaStoreFactory func(t *testing.T) (ports.MediaStore, string)

// MediaStore checks the semantics of [ports.MediaStore]: content
// addressing, type detection by content (never by a name or a claimed
// type), the size, dimension and completeness checks with nothing left
// behind when a file is refused, one file for the same bytes with its
// write time renewed, listing by write time and deletion guarded by it.
func MediaStore(t *testing.T, newStore MediaStoreFactory) {
	st, dir := newStore(t)
	require.NotNil(t, st, "factory returned nil")
	files := func(t *testing.T) []string {
		t.Helper()
		if dir == "" {
			return nil
		}
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	put := func(t *testing.T, b []byte) (ecolaura.MediaBlob, error) {
		t.Helper()
		return st.Put(ctx(t), bytes.NewReader(b))
	}

	t.Run("StoresValidImagesByContent", func(t *testing.T) {
		for _, tc := range []struct {
			name, ct, ext string
			data          []byte
			w, h          int
		}{
			{"png", ecolaura.ImagePNG, "png", PNG(40, 30), 40, 30},
			{"jpeg", ecolaura.ImageJPEG, "jpg", JPEG(33, 17), 33, 17},
			{"webp", ecolaura.ImageWebP, "webp", WebP(), 1, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				blob, err := put(t, tc.data)
				require.NoError(t, err)
				sum := sha256.Sum256(tc.data)
				assert.Equal(t, ecolaura.MediaBlob{Key: hex.EncodeToString(sum[:]) + "." + tc.ext, ContentType: tc.ct,
					Width: tc.w, Height: tc.h, Bytes: int64(len(tc.data))}, blob)
				require.NoError(t, blob.Validate())
				rc, size, err := st.Open(ctx(t), blob.Key)
				require.NoError(t, err)
				defer rc.Close()
				got, err := io.ReadAll(rc)
				require.NoError(t, err)
				assert.Equal(t, tc.data, got, "the bytes read back")
				assert.Equal(t, int64(len(tc.data)), size)
			})
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		before := files(t)
		png := PNG(64, 64)
		big := make([]byte, ecolaura.MaxImageBytes+1)
		copy(big, PNG(16, 16))
		for _, tc := range []struct {
			name string
			data []byte
		}{
			{"empty", nil},
			{"text named .png", []byte("this is not an image, whatever its name says")},
			{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")},
			{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
			{"truncated png", png[:len(png)-20]},
			{"png without its end", png[:len(png)-12]},
			{"png with data after its end (a polyglot)", append(slices.Clone(png), "<html><script>alert(1)</script>"...)},
			{"truncated jpeg", func() []byte { j := JPEG(64, 64); return j[:len(j)-40] }()},
			{"truncated webp", WebP()[:30]},
			{"png bomb 100000x100000", PNGBomb(100000, 100000)},
			{"png 8001 wide", PNGBomb(ecolaura.MaxImageSide+1, 10)},
			{"jpeg bomb 65000x65000", JPEGBomb(65000, 65000)},
			{"webp bomb 100000x100000", WebPBomb(100000, 100000)},
			{"over 10 MiB", big},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := put(t, tc.data)
				var ve *ecolaura.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Len(t, ve.Fields, 1)
				assert.Equal(t, "file", ve.Fields[0].Field)
				assert.NotEmpty(t, ve.Fields[0].Message)
			})
		}
		assert.Equal(t, before, files(t), "a refused file leaves nothing behind")
	})

	t.Run("StopsReadingPastTheLimit", func(t *testing.T) {
		r := &countingReader{limit: 64 << 20}
		_, err := st.Put(ctx(t), r)
		require.ErrorIs(t, err, ecolaura.ErrInvalid)
		assert.LessOrEqual(t, r.n, int64(ecolaura.MaxImageBytes+64<<10), "at most the limit (and a read buffer) is read of a larger stream")
	})

	t.Run("SameBytesOneFileRenewed", func(t *testing.T) {
		data := PNG(21, 21)
		a, err := put(t, data)
		require.NoError(t, err)
		time.Sleep(20 * time.Millisecond)
		mark := time.Now()
		keys, err := st.List(ctx(t), mark)
		require.NoError(t, err)
		assert.Contains(t, keys, a.Key, "written before the mark")
		b, err := put(t, data)
		require.NoError(t, err)
		assert.Equal(t, a, b)
		keys, err = st.List(ctx(t), mark)
		require.NoError(t, err)
		assert.NotContains(t, keys, a.Key, "writing the same bytes again renews the file")
		if dir != "" {
			n := 0
			for _, f := range files(t) {
				if f == a.Key {
					n++
				}
			}
			assert.Equal(t, 1, n)
		}
	})

	t.Run("DeleteGuardedByWriteTime", func(t *testing.T) {
		blob, err := put(t, PNG(22, 22))
		require.NoError(t, err)
		old := time.Now().Add(-time.Hour)
		deleted, err := st.Delete(ctx(t), blob.Key, old)
		require.NoError(t, err)
		assert.False(t, deleted, "a file written after the time is kept")
		_, _, err = st.Open(ctx(t), blob.Key)
		require.NoError(t, err)
		deleted, err = st.Delete(ctx(t), blob.Key, time.Now().Add(time.Second))
		require.NoError(t, err)
		assert.True(t, deleted)
		_, _, err = st.Open(ctx(t), blob.Key)
		require.ErrorIs(t, err, ecolaura.ErrNotFound)
		deleted, err = st.Delete(ctx(t), blob.Key, time.Now().Add(time.Second))
		require.NoError(t, err, "deleting a missing file is not an error")
		assert.False(t, deleted)
	})

	t.Run("OpenRefusesNonKeys", func(t *testing.T) {
		for _, key := range []string{"", "..", "../media.go", "/etc/passwd", NewMediaKey("gif"), NewMediaKey("png"), filepath.Join("a", NewMediaKey("png"))} {
			_, _, err := st.Open(ctx(t), key)
			require.ErrorIs(t, err, ecolaura.ErrNotFound, key)
		}
	})
}

// countingReader yields zero bytes up to limit, counting what was read.
type countingReader struct {
	n, limit int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n >= r.limit {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > r.limit-r.n {
		n = r.limit - r.n
	}
	clear(p[:n])
	r.n += n
	return int(n), nil
}
