package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// offlineLoader serves the one remote context the passport document names
// (schema.org's, whose essence is its default vocabulary) and refuses every
// other URL: the expansion never touches the network.
type offlineLoader struct{}

func (offlineLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	if u == "https://schema.org/" {
		return &ld.RemoteDocument{DocumentURL: u, Document: map[string]any{"@context": map[string]any{"@vocab": "https://schema.org/"}}}, nil
	}
	return nil, errors.New("offline: no document at " + u)
}

// expand expands a JSON-LD document with json-gold.
func expand(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal(body, &doc))
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = offlineLoader{}
	out, err := ld.NewJsonLdProcessor().Expand(doc, opts)
	require.NoError(t, err)
	require.Len(t, out, 1, "one node")
	return out[0].(map[string]any)
}

// ldValues returns the @value (or @id) of each object of term in node.
func ldValues(node map[string]any, term string) []any {
	var out []any
	items, _ := node[term].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		if v, ok := m["@value"]; ok {
			out = append(out, v)
		} else if id, ok := m["@id"]; ok {
			out = append(out, id)
		} else {
			out = append(out, m)
		}
	}
	return out
}

func TestDigitalLinkResolver(t *testing.T) {
	h := newHarness(t)
	p := h.product("Organic Tee", "clothing", 2500, 5, nil)
	path := "/api/v2/products/" + string(p.ID) + "/passport"
	body := passportBody()
	body["gtin"] = "4006381333931"
	require.Equal(t, http.StatusCreated, h.do(req{Method: http.MethodPut, Path: path, Body: body, Token: h.staff}).Status)
	body["care_instructions"] = "Hand wash."
	require.Equal(t, http.StatusOK, h.do(req{Method: http.MethodPut, Path: path, Body: body, Token: h.staff}).Status)
	const link = "http://example.com/01/04006381333931"
	const schema, untp, gs1 = "https://schema.org/", "https://test.uncefact.org/vocabulary/untp/dpp/0/", "https://gs1.org/voc/"

	t.Run("JSON-LD", func(t *testing.T) {
		for _, r := range []req{
			{Path: "/01/4006381333931", Headers: map[string]string{"Accept": "application/ld+json"}},
			{Path: "/01/04006381333931?linkType=gs1:sustainabilityInfo"},
			{Path: "/01/04006381333931/10/LOT-42?linkType=gs1:sustainabilityInfo"},
			{Path: "/01/04006381333931/21/SN0001", Headers: map[string]string{"Accept": "application/ld+json"}},
		} {
			resp := h.do(r)
			require.Equal(t, http.StatusOK, resp.Status, "%s: %s", r.Path, resp.Body)
			assert.Equal(t, "application/ld+json", resp.Header.Get("Content-Type"))
			node := expand(t, resp.Body)
			assert.Equal(t, link, node["@id"], "GTIN-13 and GTIN-14 resolve to the same product (%s)", r.Path)
			assert.ElementsMatch(t, []any{schema + "Product", untp + "Product"}, node["@type"])
			assert.Equal(t, []any{"04006381333931"}, ldValues(node, schema+"gtin"))
			assert.Equal(t, []any{"Organic Tee"}, ldValues(node, schema+"name"))
			assert.Equal(t, []any{"2"}, ldValues(node, schema+"version"), "the current version")
			mats := ldValues(node, untp+"materialsProvenance")
			require.Len(t, mats, 3)
			m1 := mats[1].(map[string]any)
			assert.Equal(t, []any{0.295}, ldValues(m1, untp+"massFraction"))
			assert.Equal(t, []any{1.0}, ldValues(m1, untp+"recycledMassFraction"))
			em := ldValues(node, untp+"emissionsScorecard")[0].(map[string]any)
			assert.Equal(t, []any{4.25}, ldValues(em, untp+"carbonFootprint"))
			assert.Equal(t, []any{"cradle-to-gate"}, ldValues(em, untp+"operationalScope"))
			certs := ldValues(node, schema+"hasCertification")
			require.Len(t, certs, 2)
			assert.Equal(t, []any{"CertificationInactive"}, ldValues(certs[1].(map[string]any), schema+"certificationStatus"), "the expired certificate")
			assert.Equal(t, []any{link + "?version=2"}, ldValues(node, gs1+"sustainabilityInfo"))
		}
		old := h.do(req{Path: "/01/04006381333931?version=1", Headers: map[string]string{"Accept": "application/ld+json"}})
		require.Equal(t, http.StatusOK, old.Status)
		assert.Equal(t, []any{"1"}, ldValues(expand(t, old.Body), schema+"version"), "an older version stays resolvable")
	})

	t.Run("Linkset", func(t *testing.T) {
		resp := h.do(req{Path: "/01/04006381333931", Headers: map[string]string{"Accept": "application/linkset+json"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		assert.Equal(t, "application/linkset+json", resp.Header.Get("Content-Type"))
		assert.Contains(t, resp.Header.Values("Vary"), "Accept")
		var ls struct {
			Linkset []map[string]json.RawMessage `json:"linkset"`
		}
		require.NoError(t, json.Unmarshal(resp.Body, &ls))
		require.Len(t, ls.Linkset, 1)
		var anchor string
		require.NoError(t, json.Unmarshal(ls.Linkset[0]["anchor"], &anchor))
		assert.Equal(t, link, anchor)
		var targets []struct{ Href, Type string }
		require.NoError(t, json.Unmarshal(ls.Linkset[0][gs1+"sustainabilityInfo"], &targets))
		assert.Equal(t, "application/ld+json", targets[0].Type)
		require.NoError(t, json.Unmarshal(ls.Linkset[0]["predecessor-version"], &targets))
		assert.Equal(t, link+"?version=1", targets[0].Href)
	})

	t.Run("HTML", func(t *testing.T) {
		resp := h.do(req{Path: "/01/4006381333931", Headers: map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "style-src 'sha256-", "only its own style sheet")
		doc, err := html.Parse(strings.NewReader(string(resp.Body)))
		require.NoError(t, err)
		text, links := htmlText(doc)
		assert.Contains(t, text, "Product passport: Organic Tee")
		assert.Contains(t, text, "Current version 2")
		assert.Contains(t, text, "Hand wash.")
		assert.Contains(t, text, "Expired", "an expired certificate says so in words")
		assert.Contains(t, links, link+"?version=1", "the page links the older version")
		old := h.do(req{Path: "/01/04006381333931?version=1"})
		require.Equal(t, http.StatusOK, old.Status)
		oldDoc, err := html.Parse(strings.NewReader(string(old.Body)))
		require.NoError(t, err)
		oldText, _ := htmlText(oldDoc)
		assert.Contains(t, oldText, "Version 1 (not the current one")
		assert.Contains(t, oldText, "Wash at 30 °C.")
	})

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name, path string
			status     int
			kind       string
		}{
			{name: "wrong check digit", path: "/01/4006381333932", status: http.StatusBadRequest, kind: "invalid"},
			{name: "not digits", path: "/01/40063813339x1", status: http.StatusBadRequest, kind: "invalid"},
			{name: "unknown GTIN", path: "/01/09506000134352", status: http.StatusNotFound, kind: "not-found"},
			{name: "bad batch", path: "/01/4006381333931/10/" + strings.Repeat("A", 21), status: http.StatusBadRequest, kind: "invalid"},
			{name: "bad serial", path: "/01/4006381333931/21/" + strings.Repeat("9", 21), status: http.StatusBadRequest, kind: "invalid"},
			{name: "unknown link type", path: "/01/4006381333931?linkType=gs1:recipeInfo", status: http.StatusNotFound, kind: "not-found"},
			{name: "no such version", path: "/01/4006381333931?version=9", status: http.StatusNotFound, kind: "not-found"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				problem(t, h.do(req{Path: tc.path, Headers: map[string]string{"Accept": "application/ld+json"}}), tc.status, tc.kind)
			})
		}
		problem(t, h.do(req{Path: "/01/4006381333931", Headers: map[string]string{"Accept": "image/png"}}), http.StatusNotAcceptable, "not-acceptable")
	})
}

// htmlText returns the text of an HTML document and the targets of its links.
func htmlText(n *html.Node) (string, []string) {
	var b strings.Builder
	var links []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && n.Data == "a":
			for _, a := range n.Attr {
				if a.Key == "href" {
					links = append(links, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String(), links
}

// TestDraftPassportHidden: next season's product (a draft) has its
// passport prepared by staff, but the resolver, the passport, its versions
// and its QR codes answer 404 to anonymous callers and customers until the
// product is activated; staff get it privately (never in a shared cache)
// through the API (the resolver takes no token: a QR scan carries none, so
// a draft resolves for nobody).
// An archived product's passport keeps resolving (goods already sold carry
// the code).
func TestDraftPassportHidden(t *testing.T) {
	h := newHarness(t)
	p := h.product("Winter Scarf", "clothing", 4000, 5, nil)
	base := "/api/v2/products/" + string(p.ID)
	body := passportBody()
	body["gtin"] = "96385074"
	require.Equal(t, http.StatusCreated, h.do(req{Method: http.MethodPut, Path: base + "/passport", Body: body, Token: h.staff}).Status)
	setStatus := func(status string) {
		t.Helper()
		resp := h.do(req{Method: http.MethodPatch, Path: base, Body: map[string]any{"status": status}, Token: h.staff})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	}
	paths := []string{"/01/96385074", "/01/00000096385074?linkType=linkset", "/01/96385074/21/SN1",
		base + "/passport", base + "/passport?version=1", base + "/passport/versions",
		base + "/passport/qr.png", base + "/passport/qr.svg"}

	setStatus("draft")
	for _, path := range paths {
		for who, token := range map[string]string{"anonymous": "", "customer": h.alice} {
			resp := h.do(req{Path: path, Token: token})
			assert.Equal(t, http.StatusNotFound, resp.Status, "draft, %s, %s: %s", who, path, resp.Body)
			assert.NotContains(t, string(resp.Body), "Winter Scarf", "%s, %s", who, path)
		}
		resp := h.do(req{Path: path, Token: h.staff})
		if strings.HasPrefix(path, "/01/") {
			assert.Equal(t, http.StatusNotFound, resp.Status, "draft, staff, %s: %s", path, resp.Body)
			continue
		}
		require.Equal(t, http.StatusOK, resp.Status, "draft, staff, %s: %s", path, resp.Body)
		assert.NotContains(t, resp.Header.Get("Cache-Control"), "public", "draft, staff, %s", path)
	}

	for _, status := range []string{"active", "archived"} {
		setStatus(status)
		for _, path := range paths {
			resp := h.do(req{Path: path})
			assert.Equal(t, http.StatusOK, resp.Status, "%s, anonymous, %s: %s", status, path, resp.Body)
		}
	}
	resp := h.do(req{Path: "/01/96385074"})
	assert.Equal(t, "public, max-age=60", resp.Header.Get("Cache-Control"))
	resp = h.do(req{Path: base + "/passport/qr.png"})
	assert.Equal(t, "public, max-age=300", resp.Header.Get("Cache-Control"))
}
