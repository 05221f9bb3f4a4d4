package httpapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// The fuzz targets feed arbitrary bytes to every request decoder: none may
// panic, and each must either succeed or fail with a 400-class error (a
// *ValidationError or a malformed-JSON httpError), never anything that
// would become a 500.

func checkDecodeErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	r1 := v1Response(err)
	r2 := v2Response(err, "", "")
	if r1.status != 400 || r2.status != 400 {
		t.Fatalf("decoder error maps to %d/%d, want 400: %v", r1.status, r2.status, err)
	}
}

var jsonSeeds = []string{
	``, `{}`, `[]`, `null`, `"x"`, `{"name":"Soap","category":"home","price":"1.50"}`,
	`{"price":19.99,"stock":"3"}`, `{"sustainability_metric":{"carbon_footprint":"NaN"}}`,
	`{"sustainability_metric":null}`, `{"items":[{"product":"x","quantity":1e9}]}`,
	`{"lines":[{"product_id":"01234567-89ab-7def-8123-456789abcdef","quantity":2}],"carbon_offset":true}`,
	`{"price":{"amount":"1e3","currency":"eur"}}`, `{"metrics":{"carbon_footprint_kg":-1,"certifications":["x"]}}`,
	`{"a":1} {}`, `{"name":"\u0000"}`, `{"name":"\ud800"}`, `{"name":"\ud83d\ude00"}`, "{\"name\":\"\xff\"}",
	`{"items":[{"product":"x","quantity":"3"},{"quantity":1.5},7]}`, `{"lines":{"0":{}}}`, `{"email":"a@b.c","password":"p","name":"n"}`, `{"refresh_token":5}`,
}

func FuzzDecodeV1Product(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, required bool) {
		var errs fieldErrors
		ch, err := decodeV1Product(body, ecolaura.DefaultCurrency, required, &errs)
		checkDecodeErr(t, err)
		checkDecodeErr(t, errs.err())
		if err == nil {
			_ = ch.input()
			_ = ch.patch()
		}
	})
}

func FuzzDecodeV2Product(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, required bool) {
		var errs fieldErrors
		ch, err := decodeV2Product(body, ecolaura.DefaultCurrency, required, &errs)
		checkDecodeErr(t, err)
		checkDecodeErr(t, errs.err())
		if err == nil {
			_ = ch.input()
			_ = ch.patch()
		}
	})
}

func FuzzDecodeOrders(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := decodeV1Order(body, "")
		checkDecodeErr(t, err)
		_, err = decodeV2Order(body, "key")
		checkDecodeErr(t, err)
	})
}

func FuzzDecodeAuth(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := decodeV1Token(body)
		checkDecodeErr(t, err)
		_, err = decodeRegister(body, true, v2Dialect)
		checkDecodeErr(t, err)
		_, err = decodeRegister(body, false, v1Dialect)
		checkDecodeErr(t, err)
		_, err = decodeRefreshToken(body)
		checkDecodeErr(t, err)
	})
}

func FuzzParseV2ProductQuery(f *testing.F) {
	for _, s := range []string{"", "category=kitchen&sort=score&limit=5", "min_price=1.999", "max_footprint_kg=1e400",
		"min_score=-1&recyclable=yes", "cursor=%ff%fe", "q=" + string(make([]byte, 300)), "limit=-5&in_stock=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		_, err = parseV2ProductQuery(q, ecolaura.DefaultCurrency)
		checkDecodeErr(t, err)
		_, _, err = v1PageParams(q)
		if err != nil && v1Response(err).status != 404 {
			t.Fatalf("v1 page params: %v", err)
		}
	})
}

func FuzzDRFFieldErrors(f *testing.F) {
	for _, s := range []string{"", "price", "items[0].quantity", "items[2]", "a.b.c", "a[1][2].b", "[3]", "x[", "x[-1]", "x[99999999999]", "a..b", "items[0].q", "items"} {
		f.Add(s, "items[1].product")
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		var v ecolaura.Validator
		v.Add(first, "m1")
		v.Add(second, "m2")
		v.Add(first, "m3")
		body := drfFieldErrors(v.Err().(*ecolaura.ValidationError))
		raw, err := jsonMarshal(body)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		for _, m := range []string{"m1", "m2", "m3"} {
			if !strings.Contains(string(raw), `"`+m+`"`) {
				t.Fatalf("message %s lost: %s", m, raw)
			}
		}
	})
}
