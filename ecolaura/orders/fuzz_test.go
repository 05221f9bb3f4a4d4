package orders_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
)

// FuzzCheckoutRequest decodes arbitrary JSON into a checkout request and
// validates it: validation never panics, accepts only requests within the
// limits, rejects with field errors only, and the request hash is stable and
// independent of line order.
//
//	go test -run '^$' -fuzz FuzzCheckoutRequest -fuzztime 30s ./ecolaura/orders
func FuzzCheckoutRequest(f *testing.F) {
	seeds := []string{
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":1}]}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":2},{"product_id":"00000000-0000-7000-8000-000000000002","quantity":1000}],"idempotency_key":"abc-123","carbon_offset":true}`,
		`{"lines":[]}`,
		`{}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":0}]}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":1001}]}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":-1}]}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":1},{"product_id":"00000000-0000-7000-8000-000000000001","quantity":1}]}`,
		`{"lines":[{"product_id":"' OR 1=1 --","quantity":1}]}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":1}],"idempotency_key":"line\nbreak"}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":1}],"idempotency_key":"\u00e9\u0000"}`,
		`{"lines":[{"product_id":"00000000-0000-7000-8000-000000000001","quantity":9223372036854775807}]}`,
		`{"lines":null,"idempotency_key":null}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r orders.CheckoutRequest
		if json.Unmarshal(data, &r) != nil {
			return
		}
		err := r.Validate()
		if err != nil {
			var ve *ecolaura.ValidationError
			if !isValidation(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("Validate returned %T %v, want a *ValidationError with fields", err, err)
			}
			return
		}
		if n := len(r.Lines); n < 1 || n > ecolaura.MaxOrderLines {
			t.Fatalf("accepted %d lines", n)
		}
		seen := map[ecolaura.ID]bool{}
		for _, l := range r.Lines {
			if l.Quantity < 1 || l.Quantity > ecolaura.MaxLineQuantity {
				t.Fatalf("accepted quantity %d", l.Quantity)
			}
			if _, err := ecolaura.ParseID(string(l.ProductID)); err != nil {
				t.Fatalf("accepted product id %q", l.ProductID)
			}
			if seen[l.ProductID] {
				t.Fatalf("accepted duplicate product %q", l.ProductID)
			}
			seen[l.ProductID] = true
		}
		if len(r.IdempotencyKey) > ecolaura.MaxIdempotencyKey {
			t.Fatalf("accepted a key of %d bytes", len(r.IdempotencyKey))
		}
		for i := 0; i < len(r.IdempotencyKey); i++ {
			if c := r.IdempotencyKey[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("accepted key byte %#x", c)
			}
		}
		h := r.Hash()
		rev := r
		rev.Lines = slices.Clone(r.Lines)
		slices.Reverse(rev.Lines)
		if rev.Hash() != h || r.Hash() != h {
			t.Fatalf("hash depends on line order or is not deterministic")
		}
		flipped := r
		flipped.CarbonOffset = !r.CarbonOffset
		if flipped.Hash() == h {
			t.Fatalf("hash ignores the offset choice")
		}
	})
}

func isValidation(err error, target **ecolaura.ValidationError) bool {
	ve, ok := err.(*ecolaura.ValidationError)
	if ok {
		*target = ve
	}
	return ok
}
