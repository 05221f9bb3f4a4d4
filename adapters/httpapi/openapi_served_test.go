package httpapi_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestServesItsOpenAPIDocument: /openapi.yaml is docs/openapi.yaml, byte
// for byte, as YAML with a validator.
func TestServesItsOpenAPIDocument(t *testing.T) {
	h := newHarness(t)
	want, err := os.ReadFile(specPath)
	require.NoError(t, err)

	r := h.do(req{Path: "/openapi.yaml"})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "application/yaml", r.Header.Get("Content-Type"))
	assert.Equal(t, string(want), string(r.Body), "the served document is docs/openapi.yaml")
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(r.Body, &doc))
	assert.Equal(t, "3.1.0", doc["openapi"])

	etag := r.Header.Get("ETag")
	require.NotEmpty(t, etag)
	assert.Equal(t, http.StatusNotModified, h.do(req{Path: "/openapi.yaml", Headers: map[string]string{"If-None-Match": etag}}).Status)
	assert.Equal(t, http.StatusNotModified, h.do(req{Path: "/openapi.yaml", Headers: map[string]string{"If-None-Match": "W/" + etag}}).Status,
		"a weak validator from a compressing proxy matches too")

	head := h.do(req{Method: http.MethodHead, Path: "/openapi.yaml"})
	assert.Equal(t, http.StatusOK, head.Status)
	assert.Empty(t, head.Body)
}
