package httpapi_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	_ "image/png" // decodes the QR code PNG
	"net/http"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqrcode "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// passportBody is a complete PUT body: every field of the contract.
func passportBody() map[string]any {
	return map[string]any{
		"manufacturer":      map[string]any{"name": "Tecelagem Verde, Lda.", "address": "Rua 1\n4800 Guimarães", "contact": "info@example.pt"},
		"country_of_origin": "PT",
		"materials": []any{
			map[string]any{"material": "organic cotton", "share_pct": 70, "recycled_pct": 0, "renewable_pct": 100},
			map[string]any{"material": "recycled polyester", "share_pct": "29.5", "recycled_pct": 100, "renewable_pct": 0},
			map[string]any{"material": "elastane", "share_pct": 0.5},
		},
		"recycled_content_pct":    30,
		"expected_lifetime_years": 8,
		"repairability":           map[string]any{"score": 7.4, "spare_parts_years": 5},
		"substances_of_concern":   []any{map[string]any{"name": "Antimony trioxide", "cas_number": "1309-64-4", "concentration_pct": 0.02}},
		"certifications": []any{
			map[string]any{"scheme": "GOTS", "issuer": "Control Union", "number": "CU-1", "valid_from": "2024-01-01", "valid_until": "2099-12-31", "verification_url": "https://example.org/v/CU-1"},
			map[string]any{"scheme": "OEKO-TEX", "issuer": "Hohenstein", "number": "OT-9", "valid_from": "2020-01-01", "valid_until": "2021-12-31"},
		},
		"carbon_footprint":  map[string]any{"kg_co2e": "4.25", "method": "ISO 14067", "boundary": "cradle-to-gate"},
		"care_instructions": "Wash at 30 °C.",
		"end_of_life":       "Textile collection point.",
	}
}

func TestV2PassportPublishAndVersions(t *testing.T) {
	h := newHarness(t)
	p := h.product("Organic Tee", "clothing", 2500, 5, nil)
	path := "/api/v2/products/" + string(p.ID) + "/passport"

	r := h.do(req{Method: http.MethodGet, Path: path})
	problem(t, r, http.StatusNotFound, "not-found")

	r = h.do(req{Method: http.MethodPut, Path: path, Body: passportBody(), Token: h.staff})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.Equal(t, "http://example.com"+path, r.Header.Get("Location"))
	v1 := r.JSON(t)
	assert.EqualValues(t, 1, v1["version"])
	assert.Equal(t, true, v1["current"])
	pp := v1["passport"].(map[string]any)
	assert.EqualValues(t, 29.5, pp["materials"].([]any)[1].(map[string]any)["share_pct"])
	assert.EqualValues(t, 4.25, pp["carbon_footprint"].(map[string]any)["kg_co2e"])
	certs := pp["certifications"].([]any)
	assert.Equal(t, "valid", certs[0].(map[string]any)["status"])
	assert.Equal(t, "expired", certs[1].(map[string]any)["status"], "an expired certificate is shown as expired")

	changed := passportBody()
	changed["care_instructions"] = "Hand wash."
	r = h.do(req{Method: http.MethodPut, Path: path, Body: changed, Token: h.staff})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.EqualValues(t, 2, r.JSON(t)["version"])

	cur := h.do(req{Path: path}).JSON(t)
	assert.EqualValues(t, 2, cur["version"], "the current version by default")
	assert.Equal(t, "Hand wash.", cur["passport"].(map[string]any)["care_instructions"])
	old := h.do(req{Path: path + "?version=1"}).JSON(t)
	assert.EqualValues(t, 1, old["version"])
	assert.Equal(t, false, old["current"])
	assert.EqualValues(t, 2, old["latest_version"])
	assert.Equal(t, "Wash at 30 °C.", old["passport"].(map[string]any)["care_instructions"], "the old version is unchanged")

	list := h.do(req{Path: path + "/versions"}).JSON(t)
	items := list["items"].([]any)
	require.Len(t, items, 2)
	assert.EqualValues(t, 2, items[0].(map[string]any)["version"], "newest first")
	assert.Equal(t, "http://example.com"+path+"?version=1", items[1].(map[string]any)["url"])

	problem(t, h.do(req{Path: path + "?version=3"}), http.StatusNotFound, "not-found")
	problem(t, h.do(req{Path: path + "?version=0"}), http.StatusBadRequest, "invalid")
	problem(t, h.do(req{Path: path + "?colour=red"}), http.StatusBadRequest, "invalid")

	events, err := h.db.Audit().List(context.Background(), ports.AuditQuery{Entity: ecolaura.EntityPassport, EntityID: p.ID, Limit: 10})
	require.NoError(t, err)
	assert.Len(t, events.Items, 2, "every publication is audited")
}

func TestV2PassportRefused(t *testing.T) {
	h := newHarness(t)
	p := h.product("Organic Tee", "clothing", 2500, 5, nil)
	path := "/api/v2/products/" + string(p.ID) + "/passport"
	tests := []struct {
		name   string
		token  string
		body   any
		path   string
		status int
		kind   string
		fields []string
	}{
		{name: "anonymous", body: passportBody(), status: http.StatusUnauthorized, kind: "unauthenticated"},
		{name: "customer", token: h.alice, body: passportBody(), status: http.StatusForbidden, kind: "forbidden"},
		{name: "unknown product", token: h.staff, body: passportBody(), path: "/api/v2/products/01890000-0000-7000-8000-000000000000/passport", status: http.StatusNotFound, kind: "not-found"},
		{name: "every field at once", token: h.staff, status: http.StatusBadRequest, kind: "invalid",
			body: map[string]any{
				"manufacturer":      map[string]any{"address": 3},
				"country_of_origin": "XX",
				"materials":         []any{map[string]any{"material": "cotton", "share_pct": "12.345"}, map[string]any{"share_pct": 50}},
				"certifications":    []any{map[string]any{"scheme": "GOTS", "issuer": "CU", "number": "1", "valid_from": "2024-02-30"}},
				"carbon_footprint":  map[string]any{"kg_co2e": "1.0001", "method": "ISO 14067", "boundary": "moon"},
				"colour":            "red",
			},
			fields: []string{"manufacturer.name", "manufacturer.address", "country_of_origin", "materials[0].share_pct", "materials[1].material",
				"certifications[0].valid_from", "carbon_footprint.kg_co2e", "carbon_footprint.boundary", "colour", "materials"}},
		{name: "shares", token: h.staff, status: http.StatusBadRequest, kind: "invalid",
			body:   map[string]any{"manufacturer": map[string]any{"name": "A"}, "materials": []any{map[string]any{"material": "cotton", "share_pct": 99.5}}},
			fields: []string{"materials"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pth := path
			if tc.path != "" {
				pth = tc.path
			}
			r := h.do(req{Method: http.MethodPut, Path: pth, Body: tc.body, Token: tc.token})
			pr := problem(t, r, tc.status, tc.kind)
			if tc.fields != nil {
				assert.ElementsMatch(t, tc.fields, fieldsOf(pr))
			}
		})
	}
	problem(t, h.do(req{Path: path}), http.StatusNotFound, "not-found")
}

// decodeQR reads a PNG QR code back to its text with gozxing (a port of
// ZXing), as a phone's scanner would.
func decodeQR(t *testing.T, png []byte) (text string, level string) {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(png))
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := zxqrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	require.NoError(t, err)
	lvl, _ := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	return res.GetText(), lvl
}

func TestV2PassportQRCode(t *testing.T) {
	h := newHarness(t)
	p := h.product("Organic Tee", "clothing", 2500, 5, nil)
	path := "/api/v2/products/" + string(p.ID) + "/passport"
	problem(t, h.do(req{Path: path + "/qr.png"}), http.StatusNotFound, "not-found")

	body := passportBody()
	r := h.do(req{Method: http.MethodPut, Path: path, Body: body, Token: h.staff})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	pr := problem(t, h.do(req{Path: path + "/qr.png"}), http.StatusNotFound, "not-found")
	assert.Contains(t, pr["detail"], "no GTIN")

	body["gtin"] = "4006381333931"
	r = h.do(req{Method: http.MethodPut, Path: path, Body: body, Token: h.staff})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	const link = "http://example.com/01/04006381333931"
	out := r.JSON(t)
	assert.Equal(t, "04006381333931", out["passport"].(map[string]any)["gtin"], "stored as GTIN-14")
	assert.Equal(t, link, out["links"].(map[string]any)["digital_link"])

	png := h.do(req{Path: path + "/qr.png"})
	require.Equal(t, http.StatusOK, png.Status, "%s", png.Body)
	assert.Equal(t, "image/png", png.Header.Get("Content-Type"))
	text, level := decodeQR(t, png.Body)
	assert.Equal(t, link, text, "the QR code decodes to the GS1 Digital Link")
	assert.Equal(t, "Q", level, "error correction for print")

	svg := h.do(req{Path: path + "/qr.svg"})
	require.Equal(t, http.StatusOK, svg.Status)
	assert.Equal(t, "image/svg+xml", svg.Header.Get("Content-Type"))
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		Title   string   `xml:"title"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	require.NoError(t, xml.Unmarshal(svg.Body, &doc), "the SVG is well-formed XML")
	assert.Equal(t, "QR code: "+link, doc.Title)
	assert.Greater(t, strings.Count(doc.Path.D, "z"), 100, "one square per dark module")

	other := h.product("Other Tee", "clothing", 2500, 5, nil)
	r = h.do(req{Method: http.MethodPut, Path: "/api/v2/products/" + string(other.ID) + "/passport", Body: body, Token: h.staff})
	problem(t, r, http.StatusConflict, "conflict")
	r = h.do(req{Method: http.MethodPut, Path: path, Body: map[string]any{"manufacturer": map[string]any{"name": "A"}, "gtin": "4006381333932"}, Token: h.staff})
	assert.Equal(t, []string{"gtin"}, fieldsOf(problem(t, r, http.StatusBadRequest, "invalid")), "a wrong check digit")
}
