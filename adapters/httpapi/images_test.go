package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/httpapi"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/internal/storetest"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

// part is one part of a multipart/form-data body.
type part struct {
	name, filename, contentType string
	data                        []byte
}

func filePart(filename, contentType string, data []byte) part {
	return part{name: "file", filename: filename, contentType: contentType, data: data}
}

func field(name, value string) part { return part{name: name, data: []byte(value)} }

// multipartBody encodes parts and returns the body and its Content-Type.
func multipartBody(t *testing.T, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = pw.Write(p.data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

func (h *harness) upload(token, productID string, parts ...part) response {
	h.t.Helper()
	body, ct := multipartBody(h.t, parts...)
	return h.do(req{Method: http.MethodPost, Path: "/api/v2/products/" + productID + "/images", Body: body, Token: token,
		Headers: map[string]string{"Content-Type": ct}})
}

// mediaFiles lists the media directory.
func mediaFiles(t *testing.T, h *harness) []string {
	t.Helper()
	dir := h.svc.Media.(interface{ Dir() string }).Dir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func keyOf(data []byte, ext string) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) + "." + ext
}

func TestV2ImageUploadAndServe(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withMedia(t), withStore(st))
		p := h.product("Oat tee", "apparel", 2500, 5, nil)
		pid := string(p.ID)
		variant := string(p.Variants[0].ID)
		for _, tc := range []struct {
			name, filename, claimed, ct, ext string
			data                             []byte
			w, hgt                           float64
		}{
			{"png", "front.png", "image/png", "image/png", "png", porttest.PNG(120, 90), 120, 90},
			{"jpeg named .png", "back.png", "image/png", "image/jpeg", "jpg", porttest.JPEG(64, 48), 64, 48},
			{"webp sent as octets", "detail", "application/octet-stream", "image/webp", "webp", porttest.WebP(), 1, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.upload(h.staff, pid, filePart(tc.filename, tc.claimed, tc.data), field("alt", " "+tc.name+" "), field("variant_id", variant))
				require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
				img := r.JSON(t)
				key := keyOf(tc.data, tc.ext)
				assert.Equal(t, "/media/"+key, img["url"], "content-addressed, type from the content, never the client's name")
				assert.Equal(t, tc.name, img["alt"])
				assert.Equal(t, variant, img["variant_id"])
				assert.Equal(t, tc.ct, img["content_type"])
				assert.Equal(t, tc.w, img["width"])
				assert.Equal(t, tc.hgt, img["height"])
				assert.Equal(t, "http://example.com/api/v2/products/"+pid+"/images/"+img["id"].(string), r.Header.Get("Location"))

				f := h.do(req{Path: "/media/" + key})
				require.Equal(t, http.StatusOK, f.Status)
				assert.Equal(t, tc.data, f.Body)
				assert.Equal(t, tc.ct, f.Header.Get("Content-Type"))
				assert.Equal(t, "public, max-age=31536000, immutable", f.Header.Get("Cache-Control"))
				assert.Equal(t, "nosniff", f.Header.Get("X-Content-Type-Options"))
				etag := f.Header.Get("ETag")
				require.NotEmpty(t, etag)
				nm := h.do(req{Path: "/media/" + key, Headers: map[string]string{"If-None-Match": etag}})
				assert.Equal(t, http.StatusNotModified, nm.Status)
				head := h.do(req{Method: http.MethodHead, Path: "/media/" + key})
				assert.Equal(t, http.StatusOK, head.Status)
				assert.Equal(t, fmt.Sprint(len(tc.data)), head.Header.Get("Content-Length"))
				assert.Empty(t, head.Body)
			})
		}
		got := h.do(req{Path: "/api/v2/products/" + pid}).JSON(t)
		imgs := got["images"].([]any)
		require.Len(t, imgs, 3)
		for i, img := range imgs {
			assert.Equal(t, float64(i), img.(map[string]any)["position"])
		}
		list := h.do(req{Path: "/api/v2/products?category=apparel"}).JSON(t)
		assert.Len(t, list["items"].([]any)[0].(map[string]any)["images"], 3, "lists show the images too")

		for _, path := range []string{"/media/", "/media", "/media/..%2Fgo.mod", "/media/%2e%2e/go.mod", "/media/" + keyOf([]byte("x"), "gif"),
			"/media/" + keyOf([]byte("missing"), "png"), "/media/" + strings.ToUpper(keyOf(porttest.WebP(), "webp"))} {
			r := h.do(req{Path: path})
			assert.Equal(t, http.StatusNotFound, r.Status, path)
		}
	})
}

func TestV2ImageUploadRefusals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withMedia(t), withStore(st))
		pid := string(h.product("Oat tee", "apparel", 2500, 5, nil).ID)
		otherVariant := string(h.product("Tote", "bags", 900, 5, nil).Variants[0].ID)
		png := porttest.PNG(40, 40)
		// A file over 10 MiB is refused with 400 on "file" too: see
		// TestV2ImageUploadOverTheWire (10 MiB through app.Test is slow
		// under the race detector).
		tests := []struct {
			name   string
			token  string
			pid    string
			parts  []part
			status int
			fields []string
		}{
			{"truncated png", h.staff, pid, []part{filePart("a.png", "image/png", png[:len(png)-30])}, 400, []string{"file"}},
			{"text with a faked extension and type", h.staff, pid, []part{filePart("photo.jpg", "image/jpeg", []byte("<html><script>alert(1)</script></html>"))}, 400, []string{"file"}},
			{"svg", h.staff, pid, []part{filePart("logo.png", "image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))}, 400, []string{"file"}},
			{"png bomb 100000x100000", h.staff, pid, []part{filePart("bomb.png", "image/png", porttest.PNGBomb(100000, 100000))}, 400, []string{"file"}},
			{"webp bomb 100000x100000", h.staff, pid, []part{filePart("bomb.webp", "image/webp", porttest.WebPBomb(100000, 100000))}, 400, []string{"file"}},
			{"jpeg bomb 65000x65000", h.staff, pid, []part{filePart("bomb.jpg", "image/jpeg", porttest.JPEGBomb(65000, 65000))}, 400, []string{"file"}},
			{"no file", h.staff, pid, []part{field("alt", "x")}, 400, []string{"file"}},
			{"two files", h.staff, pid, []part{filePart("a.png", "", png), filePart("b.png", "", png)}, 400, []string{"file"}},
			{"unknown part", h.staff, pid, []part{filePart("a.png", "", png), field("caption", "x")}, 400, []string{"caption"}},
			{"alt with a control character", h.staff, pid, []part{filePart("a.png", "", png), field("alt", "a\x07b")}, 400, []string{"alt"}},
			{"alt too long", h.staff, pid, []part{filePart("a.png", "", png), field("alt", strings.Repeat("a", 501))}, 400, []string{"alt"}},
			{"variant not a UUID", h.staff, pid, []part{filePart("a.png", "", png), field("variant_id", "xl")}, 400, []string{"variant_id"}},
			{"unknown variant", h.staff, pid, []part{filePart("a.png", "", png), field("variant_id", string(porttest.NewID()))}, 400, []string{"variant_id"}},
			{"another product's variant", h.staff, pid, []part{filePart("a.png", "", png), field("variant_id", otherVariant)}, 400, []string{"variant_id"}},
			{"customer", h.alice, pid, []part{filePart("a.png", "", png)}, 403, nil},
			{"anonymous", "", pid, []part{filePart("a.png", "", png)}, 401, nil},
			{"unknown product", h.staff, string(porttest.NewID()), []part{filePart("a.png", "", png)}, 404, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.upload(tc.token, tc.pid, tc.parts...)
				require.Equal(t, tc.status, r.Status, "%s", r.Body)
				assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
				if tc.fields != nil {
					p := r.JSON(t)
					assert.Equal(t, tc.fields, fieldsOf(p))
					assert.NotEmpty(t, p["errors"].([]any)[0].(map[string]any)["message"])
				}
			})
		}
		t.Run("not multipart", func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products/" + pid + "/images", Body: map[string]string{"file": "x"}, Token: h.staff})
			assert.Equal(t, http.StatusUnsupportedMediaType, r.Status)
			body, _ := multipartBody(t, filePart("a.png", "", png))
			r = h.do(req{Method: http.MethodPost, Path: "/api/v2/products/" + pid + "/images", Body: body, Token: h.staff,
				Headers: map[string]string{"Content-Type": "multipart/form-data"}})
			assert.Equal(t, http.StatusUnsupportedMediaType, r.Status, "no boundary")
		})
		assert.Empty(t, mediaFiles(t, h), "no refused upload left a file behind")
		assert.Empty(t, h.do(req{Path: "/api/v2/products/" + pid}).JSON(t)["images"])
	})
}

// Over a real connection the server reads an upload up to MaxUploadBody
// and refuses a larger body while reading it; other requests keep 1 MiB.
func TestV2ImageUploadOverTheWire(t *testing.T) {
	h := newHarness(t, withMedia(t))
	base := h.listen()
	pid := string(h.product("Oat tee", "apparel", 2500, 5, nil).ID)
	post := func(path, ct string, body []byte) (*http.Response, []byte) {
		t.Helper()
		r, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Authorization", "Bearer "+h.staff)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, raw
	}
	// A real PNG of several MiB: noise does not compress.
	noisy := noisePNG(t, 1200, 1200)
	require.Greater(t, len(noisy), 1<<20, "bigger than the ordinary body limit")
	body, ct := multipartBody(t, filePart("big.png", "image/png", noisy))
	resp, raw := post("/api/v2/products/"+pid+"/images", ct, body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)

	big := make([]byte, ecolaura.MaxImageBytes+1)
	copy(big, noisy)
	body, ct = multipartBody(t, filePart("big.png", "image/png", big))
	resp, raw = post("/api/v2/products/"+pid+"/images", ct, body)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", raw)
	assert.Contains(t, string(raw), `"field":"file"`)

	body, ct = multipartBody(t, filePart("big.png", "image/png", make([]byte, httpapi.MaxUploadBody)))
	resp, _ = post("/api/v2/products/"+pid+"/images", ct, body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	resp, _ = post("/api/v2/products", "application/json", append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 2<<20)...))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "the 1 MiB limit holds elsewhere")
	assert.Len(t, mediaFiles(t, h), 1)
}

func noisePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	_, _ = rand.Read(img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func TestV2ImageEdits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st storetest.Store) {
		h := newHarness(t, withMedia(t), withStore(st))
		pid := string(h.product("Oat tee", "apparel", 2500, 5, nil).ID)
		other := string(h.product("Tote", "bags", 900, 5, nil).ID)
		var ids []string
		for i := range 3 {
			r := h.upload(h.staff, pid, filePart("x.png", "", porttest.PNG(10+i, 10)))
			require.Equal(t, http.StatusCreated, r.Status)
			ids = append(ids, r.JSON(t)["id"].(string))
		}
		foreign := h.upload(h.staff, other, filePart("x.png", "", porttest.PNG(99, 9))).JSON(t)["id"].(string)
		order := func() []string {
			var out []string
			for _, img := range h.do(req{Path: "/api/v2/products/" + pid}).JSON(t)["images"].([]any) {
				out = append(out, img.(map[string]any)["id"].(string))
			}
			return out
		}
		imgPath := func(id string) string { return "/api/v2/products/" + pid + "/images/" + id }
		variant := pid // the default variant of a product made without variants has its ID

		r := h.do(req{Method: http.MethodPatch, Path: imgPath(ids[2]), Token: h.staff, Body: map[string]any{"alt": "Back", "variant_id": variant, "position": 0}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		img := r.JSON(t)
		assert.Equal(t, "Back", img["alt"])
		assert.Equal(t, variant, img["variant_id"])
		assert.Equal(t, float64(0), img["position"])
		assert.Equal(t, []string{ids[2], ids[0], ids[1]}, order())
		r = h.do(req{Method: http.MethodPatch, Path: imgPath(ids[2]), Token: h.staff, Body: map[string]any{"variant_id": nil}})
		require.Equal(t, http.StatusOK, r.Status)
		assert.Nil(t, r.JSON(t)["variant_id"])
		assert.Equal(t, "Back", r.JSON(t)["alt"])

		for _, tc := range []struct {
			name   string
			method string
			path   string
			token  string
			body   any
			status int
			fields []string
		}{
			{"position past the end", http.MethodPatch, imgPath(ids[0]), h.staff, map[string]any{"position": 3}, 400, []string{"position"}},
			{"unknown field", http.MethodPatch, imgPath(ids[0]), h.staff, map[string]any{"url": "x"}, 400, []string{"url"}},
			{"variant_id a number", http.MethodPatch, imgPath(ids[0]), h.staff, map[string]any{"variant_id": 3}, 400, []string{"variant_id"}},
			{"variant_id of another product", http.MethodPatch, imgPath(ids[0]), h.staff, map[string]any{"variant_id": other}, 400, []string{"variant_id"}},
			{"variant_id unknown", http.MethodPatch, imgPath(ids[0]), h.staff, map[string]any{"variant_id": string(porttest.NewID())}, 400, []string{"variant_id"}},
			{"another product's image", http.MethodPatch, imgPath(foreign), h.staff, map[string]any{"alt": "x"}, 404, nil},
			{"customer", http.MethodPatch, imgPath(ids[0]), h.alice, map[string]any{"alt": "x"}, 403, nil},
			{"order missing one", http.MethodPut, "/api/v2/products/" + pid + "/images/order", h.staff, map[string]any{"ids": ids[:2]}, 400, []string{"ids"}},
			{"order without ids", http.MethodPut, "/api/v2/products/" + pid + "/images/order", h.staff, map[string]any{}, 400, []string{"ids"}},
			{"delete another product's", http.MethodDelete, imgPath(foreign), h.staff, nil, 404, nil},
			{"delete not a UUID", http.MethodDelete, imgPath("nope"), h.staff, nil, 404, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(req{Method: tc.method, Path: tc.path, Token: tc.token, Body: tc.body})
				require.Equal(t, tc.status, r.Status, "%s", r.Body)
				if tc.fields != nil {
					assert.Equal(t, tc.fields, fieldsOf(r.JSON(t)))
				}
			})
		}

		r = h.do(req{Method: http.MethodPut, Path: "/api/v2/products/" + pid + "/images/order", Token: h.staff, Body: map[string]any{"ids": []string{ids[1], ids[0], ids[2]}}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Len(t, r.JSON(t)["items"], 3)
		assert.Equal(t, []string{ids[1], ids[0], ids[2]}, order())

		r = h.do(req{Method: http.MethodDelete, Path: imgPath(ids[0]), Token: h.staff})
		require.Equal(t, http.StatusNoContent, r.Status)
		assert.Equal(t, []string{ids[1], ids[2]}, order())
		r = h.do(req{Method: http.MethodDelete, Path: imgPath(ids[0]), Token: h.staff})
		assert.Equal(t, http.StatusNotFound, r.Status)
	})
}

// A cached product response is dropped by an image write: the product's
// version changes with it.
func TestV2ImageWritesRefreshCachedProducts(t *testing.T) {
	h := newHarness(t, withMedia(t))
	pid := string(h.product("Oat tee", "apparel", 2500, 5, nil).ID)
	for range 3 { // the first misses store the IDs, then the body
		h.do(req{Path: "/api/v2/products/" + pid})
		h.do(req{Path: "/api/v2/products?category=apparel"})
	}
	r := h.upload(h.staff, pid, filePart("x.png", "", porttest.PNG(5, 5)))
	require.Equal(t, http.StatusCreated, r.Status)
	assert.Len(t, h.do(req{Path: "/api/v2/products/" + pid}).JSON(t)["images"], 1)
	assert.Len(t, h.do(req{Path: "/api/v2/products?category=apparel"}).JSON(t)["items"].([]any)[0].(map[string]any)["images"], 1)
}
