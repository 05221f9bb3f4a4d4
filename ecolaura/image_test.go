package ecolaura_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestValidMediaKey(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, key string
		want      bool
		ct        string
	}{
		{"png", sum + ".png", true, ecolaura.ImagePNG},
		{"jpg", sum + ".jpg", true, ecolaura.ImageJPEG},
		{"webp", sum + ".webp", true, ecolaura.ImageWebP},
		{"upper-case hex", strings.ToUpper(sum) + ".png", false, ""},
		{"unknown extension", sum + ".gif", false, ""},
		{"jpeg spelled out", sum + ".jpeg", false, ""},
		{"short", sum[2:] + ".png", false, ""},
		{"path", "../" + sum + ".png", false, ""},
		{"no extension", sum, false, ""},
		{"two extensions", sum + ".png.png", false, ""},
		{"empty", "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ecolaura.ValidMediaKey(tc.key))
			ct, ok := ecolaura.MediaKeyType(tc.key)
			assert.Equal(t, tc.want, ok)
			assert.Equal(t, tc.ct, ct)
		})
	}
	ext, ok := ecolaura.MediaExtension(ecolaura.ImageJPEG)
	assert.True(t, ok)
	assert.Equal(t, "jpg", ext)
	_, ok = ecolaura.MediaExtension("image/gif")
	assert.False(t, ok)
}

func TestProductImageValidate(t *testing.T) {
	valid := func() ecolaura.ProductImage {
		return ecolaura.ProductImage{
			ID: "0191f5e2-0000-7000-8000-000000000001", ProductID: "0191f5e2-0000-7000-8000-000000000002",
			Alt: "Oat T-shirt, front",
			MediaBlob: ecolaura.MediaBlob{Key: strings.Repeat("0", 64) + ".webp", ContentType: ecolaura.ImageWebP,
				Width: 800, Height: 600, Bytes: 5000},
			CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		}
	}
	require.NoError(t, valid().Validate())
	for _, tc := range []struct {
		name  string
		field string
		edit  func(*ecolaura.ProductImage)
	}{
		{"bad id", "id", func(i *ecolaura.ProductImage) { i.ID = "x" }},
		{"bad variant", "variant_id", func(i *ecolaura.ProductImage) { i.VariantID = "x" }},
		{"position 20", "position", func(i *ecolaura.ProductImage) { i.Position = ecolaura.MaxImagesPerProduct }},
		{"negative position", "position", func(i *ecolaura.ProductImage) { i.Position = -1 }},
		{"control in alt", "alt", func(i *ecolaura.ProductImage) { i.Alt = "line\nbreak" }},
		{"alt too long", "alt", func(i *ecolaura.ProductImage) { i.Alt = strings.Repeat("é", ecolaura.MaxAltLength+1) }},
		{"type not the key's", "content_type", func(i *ecolaura.ProductImage) { i.ContentType = ecolaura.ImagePNG }},
		{"too high", "height", func(i *ecolaura.ProductImage) { i.Height = ecolaura.MaxImageSide + 1 }},
		{"too big", "bytes", func(i *ecolaura.ProductImage) { i.Bytes = ecolaura.MaxImageBytes + 1 }},
		{"no time", "created_at", func(i *ecolaura.ProductImage) { i.CreatedAt = time.Time{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := valid()
			tc.edit(&img)
			var ve *ecolaura.ValidationError
			require.ErrorAs(t, img.Validate(), &ve)
			assert.Equal(t, tc.field, ve.Fields[0].Field)
		})
	}
	img := valid()
	img.Alt = strings.Repeat("é", ecolaura.MaxAltLength)
	assert.NoError(t, img.Validate(), "the limit counts characters, not bytes")
	img.Alt = "  padded  "
	img.Normalize()
	assert.Equal(t, "padded", img.Alt)
}
