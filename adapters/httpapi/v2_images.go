package httpapi

import (
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
)

// MaxUploadBody is the body limit of an image upload (POST
// /api/v2/products/{id}/images): the largest image (10 MiB) and room for
// the multipart framing and the other parts. Every other request keeps
// Config.BodyLimit.
const MaxUploadBody = ecolaura.MaxImageBytes + 64<<10

// uploadPath matches the path of the image upload, relative to the API's
// root.
var uploadPath = regexp.MustCompile(`^/api/v2/products/[^/]+/images/?$`)

// isUpload reports whether method and path (relative to the API's root)
// are an image upload.
func isUpload(method, path string) bool {
	return method == fiber.MethodPost && uploadPath.MatchString(path)
}

// mediaCacheControl: a media file's URL names its content (a SHA-256), so
// it never changes and may be cached for good.
const mediaCacheControl = "public, max-age=31536000, immutable"

// v2Image is an image in a v2 product.
type v2Image struct {
	ID          ecolaura.ID  `json:"id"`
	URL         string       `json:"url"`
	Alt         string       `json:"alt"`
	Position    int          `json:"position"`
	VariantID   *ecolaura.ID `json:"variant_id"`
	ContentType string       `json:"content_type"`
	Width       int          `json:"width"`
	Height      int          `json:"height"`
	Bytes       int64        `json:"bytes"`
}

// mediaURL is the URL of a media file: under the public URL when one is
// configured, else relative to the origin the API is reached at. It does
// not depend on the request, so cached responses may hold it.
func (s *Server) mediaURL(key string) string {
	return s.publicURL + s.mountPath() + "/media/" + key
}

func (s *Server) toV2Image(img ecolaura.ProductImage) v2Image {
	out := v2Image{ID: img.ID, URL: s.mediaURL(img.Key), Alt: img.Alt, Position: img.Position,
		ContentType: img.ContentType, Width: img.Width, Height: img.Height, Bytes: img.Bytes}
	if img.VariantID != "" {
		v := img.VariantID
		out.VariantID = &v
	}
	return out
}

// withImages fills in the images of v2 products and of their variants
// (each variant shows the product's images tied to it).
func (s *Server) withImages(c *fiber.Ctx, items ...*v2Product) error {
	ids := make([]ecolaura.ID, 0, len(items))
	for _, p := range items {
		ids = append(ids, p.ID)
	}
	imgs, err := s.svc.Catalog.Images(c.UserContext(), principal(c), ids...)
	if err != nil {
		return err
	}
	for _, p := range items {
		p.Images = make([]v2Image, 0, len(imgs[p.ID]))
		byVariant := map[ecolaura.ID][]v2Image{}
		for _, img := range imgs[p.ID] {
			out := s.toV2Image(img)
			p.Images = append(p.Images, out)
			if img.VariantID != "" {
				byVariant[img.VariantID] = append(byVariant[img.VariantID], out)
			}
		}
		for i := range p.Variants {
			if vi := byVariant[p.Variants[i].ID]; vi != nil {
				p.Variants[i].Images = vi
			}
		}
	}
	return nil
}

// v2UploadImage takes a multipart/form-data body with the parts "file"
// (the image), and optionally "alt" and "variant_id".
func (s *Server) v2UploadImage(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	form, err := c.MultipartForm()
	if err != nil {
		return ecolaura.Invalid("file", "the body must be multipart/form-data with a part named file")
	}
	var v ecolaura.Validator
	for name, vals := range form.Value {
		switch name {
		case "alt", "variant_id":
			v.Check(len(vals) == 1, name, "must be given once")
		default:
			v.Add(name, "is not a known part (known: file, alt, variant_id)")
		}
	}
	for name := range form.File {
		if name != "file" {
			v.Add(name, "is not a known part (known: file, alt, variant_id)")
		}
	}
	files := form.File["file"]
	v.Check(len(files) == 1, "file", "exactly one file is required")
	if err := v.Err(); err != nil {
		return err
	}
	in := catalog.ImageUpload{}
	if a := form.Value["alt"]; len(a) == 1 {
		in.Alt = a[0]
	}
	if vid := form.Value["variant_id"]; len(vid) == 1 && vid[0] != "" {
		in.VariantID = ecolaura.ID(vid[0])
	}
	f, err := files[0].Open()
	if err != nil {
		return err
	}
	defer f.Close()
	in.File = f
	img, err := s.svc.Catalog.UploadImage(c.UserContext(), actor, id, in)
	if err != nil {
		return err
	}
	c.Location(s.absURL(c, "/api/v2/products/"+string(id)+"/images/"+string(img.ID)))
	return sendJSON(c, http.StatusCreated, s.toV2Image(img))
}

// v2UpdateImage changes an image: {"alt", "variant_id" (null unties it),
// "position"} (each optional).
func (s *Server) v2UpdateImage(c *fiber.Ctx) error {
	actor, pid, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	iid, err := pathID(c, "image_id")
	if err != nil {
		return err
	}
	var in struct {
		Alt       *string         `json:"alt"`
		VariantID json.RawMessage `json:"variant_id"`
		Position  *int            `json:"position"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	patch := catalog.ImagePatch{Alt: in.Alt, Position: in.Position}
	if in.VariantID != nil {
		var vid *string
		if err := json.Unmarshal(in.VariantID, &vid); err != nil {
			return ecolaura.Invalid("variant_id", "must be a UUID or null")
		}
		id := ecolaura.ID("")
		if vid != nil {
			id = ecolaura.ID(*vid)
		}
		patch.VariantID = &id
	}
	img, err := s.svc.Catalog.UpdateImage(c.UserContext(), actor, pid, iid, patch)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, s.toV2Image(img))
}

type v2ImageList struct {
	Items []v2Image `json:"items"`
}

// v2ReorderImages sets the order of a product's images: {"ids": [...]},
// each of its images exactly once.
func (s *Server) v2ReorderImages(c *fiber.Ctx) error {
	actor, pid, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	if in.IDs == nil {
		return ecolaura.Invalid("ids", "is required")
	}
	ids := make([]ecolaura.ID, len(in.IDs))
	for i, id := range in.IDs {
		ids[i] = ecolaura.ID(id)
	}
	imgs, err := s.svc.Catalog.ReorderImages(c.UserContext(), actor, pid, ids)
	if err != nil {
		return err
	}
	out := v2ImageList{Items: make([]v2Image, 0, len(imgs))}
	for _, img := range imgs {
		out.Items = append(out.Items, s.toV2Image(img))
	}
	return sendJSON(c, http.StatusOK, out)
}

func (s *Server) v2DeleteImage(c *fiber.Ctx) error {
	actor, pid, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	iid, err := pathID(c, "image_id")
	if err != nil {
		return err
	}
	if err := s.svc.Catalog.DeleteImage(c.UserContext(), actor, pid, iid); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// media serves a media file under /media/{key}: only keys that are
// content addresses (so no path is built from anything else: no
// traversal, no listing), with the type of the key's extension, nosniff
// (set for every response) and caching for good.
func (s *Server) media(c *fiber.Ctx) error {
	key := c.Params("key")
	ct, ok := ecolaura.MediaKeyType(key)
	if !ok || s.svc.Media == nil {
		return ecolaura.ErrNotFound
	}
	etag := `"` + strings.TrimSuffix(key, key[strings.IndexByte(key, '.'):]) + `"`
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderCacheControl, mediaCacheControl)
		return c.SendStatus(http.StatusNotModified)
	}
	rc, size, err := s.svc.Media.Open(c.UserContext(), strings.Clone(key))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, mediaCacheControl)
	c.Set(fiber.HeaderETag, etag)
	// An image needs no script or style; inline display only.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	if c.Method() == fiber.MethodHead {
		_ = rc.Close()
		c.Response().Header.SetContentLength(int(size))
		c.Response().SkipBody = true
		return nil
	}
	c.Response().SetBodyStream(rc, int(size)) // fasthttp closes rc when sent
	return nil
}

// checkUploadType is jsonOnly's rule for the image upload: a
// multipart/form-data body.
func checkUploadType(c *fiber.Ctx) error {
	ct := c.Get(fiber.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return newHTTPError(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"An image upload must be multipart/form-data (with a boundary), not "+strconv.Quote(ct)+".")
	}
	return nil
}
