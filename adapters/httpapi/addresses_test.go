package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddressBookOverHTTP(t *testing.T) {
	h := newHarness(t)
	const book = "/api/v2/users/me/addresses"
	assert.Equal(t, http.StatusUnauthorized, h.do(req{Path: book}).Status)
	assert.Equal(t, http.StatusUnauthorized, h.do(req{Method: "POST", Path: book, Body: map[string]any{"name": "x"}}).Status)

	r := h.do(req{Method: "POST", Path: book, Token: h.alice, Body: map[string]any{
		"name": "Alice Liddell", "line1": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin", "country": "de", "phone": "030 1234567",
	}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	home := r.JSON(t)
	id := home["id"].(string)
	assert.Equal(t, book+"/"+id, r.Header.Get("Location"))
	assert.Equal(t, "DE", home["country"])
	assert.Equal(t, "+49301234567", home["phone"])
	assert.Equal(t, "", home["company"])
	assert.Equal(t, true, home["default_shipping"])
	assert.Equal(t, true, home["default_billing"])

	r = h.do(req{Method: "POST", Path: book, Token: h.alice, Body: map[string]any{"name": "Alice", "line1": "1 High St", "city": "Oxford", "country": "GB", "default_billing": true}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	work := r.JSON(t)["id"].(string)

	r = h.do(req{Method: "POST", Path: book, Token: h.alice, Body: map[string]any{"name": "", "line1": "x", "city": "y", "country": "UK", "phone": "12"}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	fields := map[string]bool{}
	for _, e := range r.JSON(t)["errors"].([]any) {
		fields[e.(map[string]any)["field"].(string)] = true
	}
	assert.Equal(t, map[string]bool{"name": true, "country": true, "phone": true}, fields)
	assert.Equal(t, http.StatusBadRequest, h.do(req{Method: "POST", Path: book, Token: h.alice, Body: map[string]any{"name": "A", "line1": "x", "city": "y", "country": "FR", "floor": 3}}).Status, "unknown field")

	r = h.do(req{Path: book, Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status)
	items := r.JSON(t)["items"].([]any)
	require.Len(t, items, 2)
	assert.Equal(t, false, items[0].(map[string]any)["default_billing"], "the billing mark moved to the second entry")

	r = h.do(req{Method: "PATCH", Path: book + "/" + work, Token: h.alice, Body: map[string]any{"city": "Cambridge", "default_shipping": true}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "Cambridge", r.JSON(t)["city"])
	assert.Equal(t, true, r.JSON(t)["default_shipping"])
	assert.Equal(t, http.StatusBadRequest, h.do(req{Method: "PATCH", Path: book + "/" + work, Token: h.alice, Body: map[string]any{"default_shipping": false}}).Status)

	// Bob sees none of it.
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: book + "/" + id, Token: h.bob}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Method: "PATCH", Path: book + "/" + id, Token: h.bob, Body: map[string]any{"city": "x"}}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Method: "DELETE", Path: book + "/" + id, Token: h.bob}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: book + "/not-a-uuid", Token: h.alice}).Status)

	r = h.do(req{Path: "/api/v2/users/me/export", Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Len(t, r.JSON(t)["addresses"], 2, "the export holds the address book")

	require.Equal(t, http.StatusNoContent, h.do(req{Method: "DELETE", Path: book + "/" + id, Token: h.alice}).Status)
	assert.Equal(t, http.StatusNotFound, h.do(req{Path: book + "/" + id, Token: h.alice}).Status)
	r = h.do(req{Path: book + "/" + work, Token: h.alice})
	require.Equal(t, http.StatusOK, r.Status)
}
