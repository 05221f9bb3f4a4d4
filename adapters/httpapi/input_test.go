package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// The tests of this file are issue 10's "Input handling" faults, each with
// the other places where the same kind of fault could happen. cmd/ecolaura
// sends the text cases to a server on PostgreSQL and one in memory and
// expects the same answers.

// TestTextRulesOnEveryInput: a NUL (and any other control character, or
// text that is not UTF-8) in a product name or description, a user name or
// email, the search parameter or the idempotency key is a 400 naming the
// field, in both API versions, never a 500 (PostgreSQL cannot store it) nor
// a silent success (the memory store stored it).
func TestTextRulesOnEveryInput(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 10, nil)
	pid := "/api/v1/products/" + string(soap.ID) + "/"
	v1Product := func(name, description string) map[string]any {
		return map[string]any{"name": name, "description": description, "category": "kitchen", "price": "1.00"}
	}
	v2Product := func(name, description string) map[string]any {
		return map[string]any{"name": name, "description": description, "category": "kitchen", "price": map[string]any{"amount": "1.00"}}
	}
	tests := []struct {
		name  string
		req   req
		field string
	}{
		{"v1 product name with NUL", req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: v1Product("Soap\x00", "")}, "name"},
		{"v1 product description with NUL", req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: v1Product("Soap", "Nice\x00")}, "description"},
		{"v1 product name with escape", req{Method: http.MethodPatch, Path: pid, Token: h.staff, Body: map[string]any{"name": "Soap\x1b[31m"}}, "name"},
		{"v1 product name with C1 control", req{Method: http.MethodPut, Path: pid, Token: h.staff, Body: v1Product("So\u0085ap", "")}, "name"},
		{"v2 product name with NUL", req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: v2Product("Soap\x00", "")}, "name"},
		{"v2 product description with NUL", req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: v2Product("Soap", "\x00")}, "description"},
		{"v2 product name with newline", req{Method: http.MethodPatch, Path: "/api/v2/products/" + string(soap.ID), Token: h.staff, Body: map[string]any{"name": "Olive\nsoap"}}, "name"},
		{"v1 user name with NUL", req{Method: http.MethodPost, Path: "/api/v1/users/", Body: map[string]any{"email": "nul1@example.org", "password": "long-enough-pw", "name": "Nul\x00"}}, "name"},
		{"v2 user name with NUL", req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: map[string]any{"email": "nul2@example.org", "password": "long-enough-pw", "name": "Nul\x00"}}, "name"},
		{"v1 email with NUL", req{Method: http.MethodPost, Path: "/api/v1/users/", Body: map[string]any{"email": "nul\x00@example.org", "password": "long-enough-pw", "name": "Nul"}}, "email"},
		{"v2 email with C1 control", req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: map[string]any{"email": "n\u0085ul@example.org", "password": "long-enough-pw", "name": "Nul"}}, "email"},
		{"v2 search with NUL", req{Path: "/api/v2/products?q=soap%00"}, "q"},
		{"v2 search with escape", req{Path: "/api/v2/products?q=%1B%5B2J"}, "q"},
		{"v2 search that is not UTF-8", req{Path: "/api/v2/products?q=%FF%FE"}, "q"},
		{"v2 search not percent-encoded", req{Path: "/api/v2/products?q=%zz"}, "q"},
		{"v2 category with NUL", req{Path: "/api/v2/products?category=kitchen%00"}, "category"},
		{"v2 order list user_id with NUL", req{Path: "/api/v2/orders?user_id=%00", Token: h.staff}, "user_id"},
		{"v1 idempotency key that is not ASCII", req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.alice, Headers: map[string]string{"Idempotency-Key": "cl\xc3\xa9"},
			Body: map[string]any{"items": []any{map[string]any{"product": soap.ID, "quantity": 1}}}}, "Idempotency-Key"},
		{"v2 idempotency key that is not ASCII", req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Headers: map[string]string{"Idempotency-Key": "cl\xc3\xa9"},
			Body: map[string]any{"lines": []any{map[string]any{"product_id": soap.ID, "quantity": 1}}}}, "Idempotency-Key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.req)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			if r.Header.Get("Content-Type") == "application/problem+json" {
				assert.Equal(t, []string{tc.field}, fieldsOf(r.JSON(t)))
				return
			}
			assert.Contains(t, r.JSON(t), tc.field)
			assert.Len(t, r.JSON(t), 1, "only the bad field: %s", r.Body)
		})
	}
	got, err := h.catalog.Get(context.Background(), ecolaura.Anonymous, soap.ID)
	require.NoError(t, err)
	assert.Equal(t, soap, got, "no refused write changed the product")

	// A v1 category that cannot be a slug matches nothing, as DRF's filter.
	r := h.do(req{Path: "/api/v1/products/?category=kitchen%00"})
	require.Equal(t, http.StatusOK, r.Status)
	assert.EqualValues(t, 0, r.JSON(t)["count"])

	// Descriptions keep their layout; names, scripts and emoji are fine.
	r = h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: v2Product("Zahnbürste 👨\u200d👩\u200d👧", "Line one\r\n\tLine two")})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.Equal(t, "Line one\r\n\tLine two", r.JSON(t)["description"])
}

// TestJSONBodiesMustBeUTF8: Go's JSON decoder replaces bytes that are not
// UTF-8, and escaped lone UTF-16 surrogates, with U+FFFD silently, so the
// shop would store another text than the client sent. Such a body is
// refused as a whole, like malformed JSON (DRF does the same for bytes that
// are not UTF-8); a valid surrogate pair is an ordinary character.
func TestJSONBodiesMustBeUTF8(t *testing.T) {
	h := newHarness(t)
	bodies := []struct {
		name string
		body string
	}{
		{"invalid byte", "{\"name\":\"Soap \xff\",\"category\":\"home\",\"price\":\"1.00\"}"},
		{"truncated sequence", "{\"name\":\"Soap \xc3\",\"category\":\"home\",\"price\":\"1.00\"}"},
		{"encoded surrogate", "{\"name\":\"Soap \xed\xa0\x80\",\"category\":\"home\",\"price\":\"1.00\"}"},
		{"lone high surrogate escape", `{"name":"Soap \ud83d","category":"home","price":"1.00"}`},
		{"lone low surrogate escape", `{"name":"Soap \ude00","category":"home","price":"1.00"}`},
		{"reversed pair", `{"name":"Soap \ude00\ud83d","category":"home","price":"1.00"}`},
		{"in a key", "{\"na\xffme\":\"Soap\",\"category\":\"home\",\"price\":\"1.00\"}"},
	}
	for _, tc := range bodies {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: []byte(tc.body)})
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			assert.Contains(t, r.JSON(t)["detail"], "JSON parse error")
			v2body := []byte(tc.body)
			r = h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: v2body})
			problem(t, r, http.StatusBadRequest, "malformed-json")
		})
	}
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: []byte(`{"name":"Soap \ud83d\ude00","category":"home","price":"1.00"}`)})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	assert.Equal(t, "Soap 😀", r.JSON(t)["name"])
}

// TestDecimalsAreExact is issue 10's example: 4.0005 kg was stored as
// 4.000 kg and 8.0005 kg as 8.001 kg (parsed through float64). Every
// decimal the API accepts is parsed exactly, and excess precision is
// refused, as DRF's DecimalField does, the same way in both versions and
// for strings and JSON numbers alike.
func TestDecimalsAreExact(t *testing.T) {
	h := newHarness(t)
	v1 := func(fp string) response {
		return h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff,
			Body: `{"name":"Cup","category":"kitchen","price":"2.00","sustainability_metric":{"carbon_footprint":` + fp + `}}`})
	}
	v2 := func(fp string) response {
		return h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
			Body: `{"name":"Cup","category":"kitchen","price":{"amount":"2.00"},"metrics":{"carbon_footprint_kg":` + fp + `}}`})
	}
	for _, fp := range []string{`4.0005`, `8.0005`, `"4.0005"`, `"8.0005"`, `0.0001`} {
		t.Run("footprint "+fp, func(t *testing.T) {
			r := v1(fp)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			assert.Equal(t, map[string]any{"sustainability_metric": map[string]any{"carbon_footprint": []any{"Ensure that there are no more than 3 decimal places."}}}, r.JSON(t))
			p := problem(t, v2(fp), http.StatusBadRequest, "invalid")
			assert.Equal(t, []string{"metrics.carbon_footprint_kg"}, fieldsOf(p))
		})
	}
	for fp, want := range map[string]float64{`4.001`: 4.001, `8.001`: 8.001, `"8.0010"`: 8.001, `0.1`: 0.1} {
		r := v1(fp)
		if fp == `"8.0010"` {
			// DRF's DecimalField counts the places of Decimal("8.0010"): 4.
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		} else {
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			assert.Equal(t, want, r.JSON(t)["sustainability_metric"].(map[string]any)["carbon_footprint"], fp)
		}
		r = v2(fp)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		assert.Equal(t, want, r.JSON(t)["sustainability"].(map[string]any)["metrics"].(map[string]any)["carbon_footprint_kg"], fp)
	}

	// Prices and the decimal filters follow the same rule.
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff, Body: `{"name":"Cup","category":"kitchen","price":1.999}`})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, map[string]any{"price": []any{"Ensure that there are no more than 2 decimal places."}}, r.JSON(t))
	p := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff, Body: `{"name":"Cup","category":"kitchen","price":{"amount":1.999}}`}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"price.amount"}, fieldsOf(p))
	for _, q := range []string{"max_footprint_kg=8.0005", "max_footprint_kg=1e3", "min_price=1.999", "max_price=0.001"} {
		p := problem(t, h.do(req{Path: "/api/v2/products?" + q}), http.StatusBadRequest, "invalid")
		assert.Len(t, fieldsOf(p), 1, q)
	}
	h.product("Exact", "exact", 100, 1, metrics(8001, true, true))
	count := func(q string) int {
		r := h.do(req{Path: "/api/v2/products?category=exact&" + q})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		return len(r.JSON(t)["items"].([]any))
	}
	assert.Equal(t, 1, count("max_footprint_kg=8.001"))
	assert.Equal(t, 0, count("max_footprint_kg=8.000"))
}

// TestPricesOnlyInTheShopCurrency is issue 10's example at the API: a v2
// catalog write in another currency than the shop's is a 400 on
// price.currency (v1 has no currency: its prices are the shop's).
func TestPricesOnlyInTheShopCurrency(t *testing.T) {
	h := newHarness(t)
	p := h.product("Cup", "kitchen", 1200, 1, nil)
	for _, c := range []string{"JPY", "USD", "usd"} {
		r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
			Body: map[string]any{"name": "Cup", "category": "kitchen", "price": map[string]any{"amount": "1200", "currency": c}}})
		pr := problem(t, r, http.StatusBadRequest, "invalid")
		assert.Equal(t, []string{"price.currency"}, fieldsOf(pr), c)
		r = h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + string(p.ID), Token: h.staff,
			Body: map[string]any{"price": map[string]any{"amount": "12", "currency": c}}})
		pr = problem(t, r, http.StatusBadRequest, "invalid")
		assert.Equal(t, []string{"price.currency"}, fieldsOf(pr), c)
	}
	r := h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
		Body: map[string]any{"name": "Cup", "category": "kitchen", "price": map[string]any{"amount": "12.5", "currency": "JPY"}}})
	pr := problem(t, r, http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"price.amount", "price.currency"}, fieldsOf(pr), "both problems at once")
	r = h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + string(p.ID), Token: h.staff,
		Body: map[string]any{"price": map[string]any{"amount": "13.50", "currency": "EUR"}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, map[string]any{"amount": "13.50", "currency": "EUR"}, r.JSON(t)["price"])
}

// TestV1PutKeepsOmittedFields is issue 10's example: a v1 PUT with only
// name, category and price set the stock to 0 and cleared the description
// and the score. DRF validates a PUT with partial=False: the required
// fields must be there, the optional ones are kept when omitted.
func TestV1PutKeepsOmittedFields(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff,
		Body: map[string]any{"name": "Soap", "description": "Olive oil soap", "category": "home", "price": "3.50", "stock": 30, "sustainability_score": 70}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	path := "/api/v1/products/" + r.JSON(t)["id"].(string) + "/"

	r = h.do(req{Method: http.MethodPut, Path: path, Token: h.staff, Body: map[string]any{"name": "Soap bar", "category": "personal-care", "price": "3.90"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	m := r.JSON(t)
	assert.Equal(t, "Soap bar", m["name"])
	assert.Equal(t, "personal-care", m["category"])
	assert.Equal(t, "3.90", m["price"])
	assert.Equal(t, "Olive oil soap", m["description"], "kept")
	assert.EqualValues(t, 30, m["stock"], "kept")
	assert.EqualValues(t, 70, m["sustainability_score"], "kept")
	assert.Nil(t, m["sustainability_metric"])

	r = h.do(req{Method: http.MethodPut, Path: path, Token: h.staff, Body: map[string]any{"description": "only this", "stock": 1}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	req1 := []any{"This field is required."}
	assert.Equal(t, map[string]any{"name": req1, "category": req1, "price": req1}, r.JSON(t), "PUT requires the required fields")
	r = h.do(req{Method: http.MethodPut, Path: path, Token: h.staff, Body: map[string]any{"name": "Soap", "category": "home", "price": "3.50", "stock": nil}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, map[string]any{"stock": []any{"This field may not be null."}}, r.JSON(t))
	r = h.do(req{Method: http.MethodPatch, Path: path, Token: h.staff, Body: map[string]any{"stock": 31}})
	require.Equal(t, http.StatusOK, r.Status, "PATCH requires nothing")
	assert.Equal(t, "Soap bar", r.JSON(t)["name"])
	assert.EqualValues(t, 31, r.JSON(t)["stock"])

	// The stock maximum is a field error, not a stuck product.
	r = h.do(req{Method: http.MethodPatch, Path: path, Token: h.staff, Body: map[string]any{"stock": ecolaura.MaxStock + 1}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.JSON(t), "stock")
}

// TestListItemErrorsCarryTheIndex is issue 10's example: a mistyped
// quantity ("3" or 1.5) gave {"items":{"quantity":[...]}} in v1 and the
// field "lines.quantity" in v2, while range errors named the item. Every
// error about a list item now names it, in v1 as DRF's list of per-item
// objects, in v2 as lines[i].field, as the OpenAPI document describes.
func TestListItemErrorsCarryTheIndex(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 10, nil)
	brush := h.product("Bamboo brush", "personal-care", 450, 10, nil)
	intMsg := []any{"A valid integer is required."}
	v1 := []struct {
		name  string
		items string
		want  map[string]any
	}{
		// "3" is an integer for DRF's IntegerField; "3x" is not.
		{"quantity as a string that is no integer", `[{"product":"` + string(soap.ID) + `","quantity":"3x"}]`,
			map[string]any{"items": []any{map[string]any{"quantity": intMsg}}}},
		{"fractional quantity", `[{"product":"` + string(soap.ID) + `","quantity":1.5}]`,
			map[string]any{"items": []any{map[string]any{"quantity": intMsg}}}},
		{"second item mistyped", `[{"product":"` + string(soap.ID) + `","quantity":1},{"product":"` + string(brush.ID) + `","quantity":"2.5"}]`,
			map[string]any{"items": []any{map[string]any{}, map[string]any{"quantity": intMsg}}}},
		{"type and range errors together", `[{"product":"` + string(soap.ID) + `","quantity":0},{"product":7,"quantity":"x"}]`,
			map[string]any{"items": []any{map[string]any{"quantity": []any{"Ensure this value is greater than or equal to 1."}},
				map[string]any{"product": []any{"Not a valid string."}, "quantity": intMsg}}}},
		{"item that is not an object", `["` + string(soap.ID) + `"]`,
			map[string]any{"items": []any{map[string]any{"non_field_errors": []any{"Invalid data. Expected a dictionary, but got str."}}}}},
		{"items that are not a list", `{"product":"` + string(soap.ID) + `"}`,
			map[string]any{"items": []any{`Expected a list of items but got type "dict".`}}},
		{"missing fields of an item", `[{}]`,
			map[string]any{"items": []any{map[string]any{"product": []any{"This field is required."}, "quantity": []any{"This field is required."}}}}},
	}
	for _, tc := range v1 {
		t.Run("v1 "+tc.name, func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v1/orders/", Token: h.alice, Body: `{"items":` + tc.items + `}`})
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			assert.Equal(t, tc.want, r.JSON(t))
		})
	}
	v2 := []struct {
		name   string
		lines  string
		fields []string
	}{
		{"quantity as a string", `[{"product_id":"` + string(soap.ID) + `","quantity":"3"}]`, []string{"lines[0].quantity"}},
		{"fractional quantity", `[{"product_id":"` + string(soap.ID) + `","quantity":1.5}]`, []string{"lines[0].quantity"}},
		{"range error", `[{"product_id":"` + string(soap.ID) + `","quantity":1001}]`, []string{"lines[0].quantity"}},
		{"second line mistyped, first out of range", `[{"product_id":"` + string(soap.ID) + `","quantity":0},{"product_id":true,"quantity":2}]`,
			[]string{"lines[0].quantity", "lines[1].product_id"}},
		{"unknown field in a line", `[{"product_id":"` + string(soap.ID) + `","quantity":1,"qty":1}]`, []string{"lines[0].qty"}},
		{"line that is not an object", `[3]`, []string{"lines[0]"}},
	}
	for i, tc := range v2 {
		t.Run("v2 "+tc.name, func(t *testing.T) {
			r := h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice, Headers: map[string]string{"Idempotency-Key": "idx-" + string(rune('a'+i))},
				Body: `{"lines":` + tc.lines + `}`})
			p := problem(t, r, http.StatusBadRequest, "invalid")
			assert.Equal(t, tc.fields, fieldsOf(p))
		})
	}
	// Other lists: the certifications of a product's metrics.
	p := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/products", Token: h.staff,
		Body: `{"name":"Cup","category":"kitchen","price":{"amount":"1"},"metrics":{"carbon_footprint_kg":1,"certifications":["fsc",5,"green-ish"]}}`}),
		http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"metrics.certifications[1]", "metrics.certifications[2]"}, fieldsOf(p))
}

// TestAllFieldErrorsAtOnce is issue 10's example: registering with
// {"email":"bad","password":"short"} answered only that name is required;
// the other errors came on the next try. Every write now reports every
// problem in one response, as a DRF serializer does.
func TestAllFieldErrorsAtOnce(t *testing.T) {
	h := newHarness(t)
	soap := h.product("Olive soap", "personal-care", 350, 10, nil)
	r := h.do(req{Method: http.MethodPost, Path: "/api/v1/users/", Body: map[string]any{"email": "bad", "password": "short"}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	m := r.JSON(t)
	assert.Equal(t, []any{"This field is required."}, m["name"])
	assert.Contains(t, m, "email")
	assert.Contains(t, m, "password")
	assert.Len(t, m, 3)
	p := problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: map[string]any{"email": "bad", "password": "short"}}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"email", "name", "password"}, fieldsOf(p))
	p = problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/auth/register", Body: map[string]any{"email": 5, "password": "short", "name": "Ada\x00"}}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"email", "name", "password"}, fieldsOf(p), "a mistyped field and the domain's errors on the others")

	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/products/", Token: h.staff,
		Body: map[string]any{"name": "", "category": "Bad Cat", "price": "x", "stock": "many", "sustainability_score": 101}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.ElementsMatch(t, []string{"name", "category", "price", "stock", "sustainability_score"}, keys(r.JSON(t)))
	p = problem(t, h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + string(soap.ID), Token: h.staff,
		Body: map[string]any{"name": "", "stock": "many", "score": 101}}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"name", "score", "stock"}, fieldsOf(p))
	p = problem(t, h.do(req{Method: http.MethodPatch, Path: "/api/v2/products/" + string(soap.ID), Token: h.staff,
		Body: map[string]any{"metrics": map[string]any{"carbon_footprint_kg": "x", "recycled_content": 101, "certifications": []string{"fsc", "bogus"}}}}),
		http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"metrics.carbon_footprint_kg", "metrics.certifications[1]", "metrics.recycled_content"}, fieldsOf(p))

	p = problem(t, h.do(req{Method: http.MethodPost, Path: "/api/v2/orders", Token: h.alice,
		Body: `{"lines":[{"product_id":"nope","quantity":"3"}],"carbon_offset":"yes"}`}), http.StatusBadRequest, "invalid")
	assert.Equal(t, []string{"Idempotency-Key", "carbon_offset", "lines[0].product_id", "lines[0].quantity"}, fieldsOf(p))
	r = h.do(req{Method: http.MethodPost, Path: "/api/v1/token/", Body: map[string]any{}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.ElementsMatch(t, []string{"username", "password"}, keys(r.JSON(t)))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
