package ecolaura

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of product images.
const (
	// MaxImagesPerProduct is how many images one product may have.
	MaxImagesPerProduct = 20
	// MaxImageBytes is the largest image file accepted: 10 MiB.
	MaxImageBytes = 10 << 20
	// MaxImageSide is the largest width or height of an image, in pixels.
	MaxImageSide = 8000
	// MaxAltLength is the longest alt text, in characters.
	MaxAltLength = 500
)

// The image types the shop accepts, detected from a file's content (never
// from its name or the type a client claims).
const (
	ImageJPEG = "image/jpeg"
	ImagePNG  = "image/png"
	ImageWebP = "image/webp"
)

// mediaExts maps the extension of a media key to its content type.
var mediaExts = map[string]string{"jpg": ImageJPEG, "png": ImagePNG, "webp": ImageWebP}

// MediaExtension returns the extension (without dot) media keys of
// contentType end with, and false for a type the shop does not store.
func MediaExtension(contentType string) (string, bool) {
	for ext, ct := range mediaExts {
		if ct == contentType {
			return ext, true
		}
	}
	return "", false
}

// MediaKeyType returns the content type of a media key ("…​.png" is
// image/png), and false when key is not a valid media key (see
// [ValidMediaKey]).
func MediaKeyType(key string) (string, bool) {
	if !ValidMediaKey(key) {
		return "", false
	}
	_, ext, _ := strings.Cut(key, ".")
	return mediaExts[ext], true
}

// ValidMediaKey reports whether key names a stored media file: the
// lower-case hexadecimal SHA-256 of the file's bytes (64 characters), a dot
// and the extension of its detected type ("jpg", "png" or "webp"). Such a
// key is a plain file name: no path separator, no "..", nothing a client
// chose.
func ValidMediaKey(key string) bool {
	sum, ext, ok := strings.Cut(key, ".")
	if !ok || len(sum) != 64 {
		return false
	}
	if _, known := mediaExts[ext]; !known {
		return false
	}
	for i := 0; i < len(sum); i++ {
		c := sum[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// MediaBlob describes an image file held by a media store (ports.MediaStore).
type MediaBlob struct {
	// Key is the file's content address (see [ValidMediaKey]).
	Key string
	// ContentType is ImageJPEG, ImagePNG or ImageWebP, detected from the
	// content.
	ContentType string
	// Width and Height in pixels (1–MaxImageSide).
	Width, Height int
	// Bytes is the file's size (1–MaxImageBytes).
	Bytes int64
}

// Validate checks the blob's fields. Errors: *ValidationError (ErrInvalid).
func (b MediaBlob) Validate() error {
	var v Validator
	ct, ok := MediaKeyType(b.Key)
	v.Check(ok, "key", "must be a SHA-256 in hexadecimal and the extension of the image type")
	v.Check(ok && ct == b.ContentType, "content_type", "must be the type of the key's extension")
	v.Check(b.Width >= 1 && b.Width <= MaxImageSide, "width", "must be between 1 and %d pixels", MaxImageSide)
	v.Check(b.Height >= 1 && b.Height <= MaxImageSide, "height", "must be between 1 and %d pixels", MaxImageSide)
	v.Check(b.Bytes >= 1 && b.Bytes <= MaxImageBytes, "bytes", "must be between 1 and %d", MaxImageBytes)
	return v.Err()
}

// ProductImage is one image of a product: a stored media file with its
// place in the product's gallery and its alt text.
type ProductImage struct {
	ID        ID
	ProductID ID
	// VariantID ties the image to one variant of the product; "" when it
	// shows the product as a whole.
	VariantID ID
	// Position is the image's place among the product's images, from 0;
	// the positions of a product's images are 0, 1, 2, … without gaps.
	Position int
	// Alt is the text alternative (single-line text, at most MaxAltLength
	// characters; "" for a decorative image).
	Alt string
	// MediaBlob is the file: its key (the URL's last segment), type,
	// dimensions and size.
	MediaBlob
	CreatedAt time.Time
}

// Normalize trims the alt text. It does not validate.
func (img *ProductImage) Normalize() { img.Alt = strings.TrimSpace(img.Alt) }

// ValidateAlt checks an alt text with the text rules (single line) and its
// length. Errors: *ValidationError (ErrInvalid) on "alt".
func ValidateAlt(alt string) error {
	var v Validator
	v.Text("alt", alt, SingleLine)
	v.Check(utf8.RuneCountInString(alt) <= MaxAltLength, "alt", "must be at most %d characters", MaxAltLength)
	return v.Err()
}

// Validate checks every field. Errors: *ValidationError (ErrInvalid).
func (img ProductImage) Validate() error {
	var v Validator
	_, err := ParseID(string(img.ID))
	v.Check(err == nil, "id", "must be a UUID")
	_, err = ParseID(string(img.ProductID))
	v.Check(err == nil, "product_id", "must be a UUID")
	if img.VariantID != "" {
		_, err = ParseID(string(img.VariantID))
		v.Check(err == nil, "variant_id", "must be a UUID")
	}
	v.Check(img.Position >= 0 && img.Position < MaxImagesPerProduct, "position", "must be between 0 and %d", MaxImagesPerProduct-1)
	v.Merge("", ValidateAlt(img.Alt))
	v.Merge("", img.MediaBlob.Validate())
	v.Check(!img.CreatedAt.IsZero(), "created_at", "is required")
	return v.Err()
}
