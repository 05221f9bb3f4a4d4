package productcache

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func sampleProducts() []ecolaura.Product {
	rc := 40
	at := time.Date(2026, 2, 3, 4, 5, 6, 789, time.UTC)
	return []ecolaura.Product{
		{ID: "00000000-0000-7000-8000-000000000001", Name: "Plain", Category: "home",
			Price: ecolaura.NewMoney(0, "EUR"), Score: 55, CreatedAt: at, UpdatedAt: at, Version: 1},
		{ID: "00000000-0000-7000-8000-000000000002", Name: "Ünïcode ✓", Description: "multi\nline",
			Category: "kitchen", Price: ecolaura.NewMoney(ecolaura.MaxPriceMinor, "JPY"), Stock: ecolaura.MaxStock,
			Metrics: &ecolaura.SustainabilityMetrics{CarbonFootprint: ecolaura.MaxFootprint, Recyclable: true,
				Biodegradable: true, RecycledContent: &rc,
				Certifications: []ecolaura.Certification{ecolaura.CertFSC, ecolaura.CertGOTS}},
			Score: 100, CreatedAt: at, UpdatedAt: at.Add(time.Hour).In(time.FixedZone("CET", 3600)), Version: 1 << 40},
		{ID: "00000000-0000-7000-8000-000000000003", Name: "No certs", Category: "garden",
			Metrics: &ecolaura.SustainabilityMetrics{}, Version: 2},
	}
}

func TestProductCodecRoundTrip(t *testing.T) {
	for _, p := range sampleProducts() {
		t.Run(p.Name, func(t *testing.T) {
			in := productEntry{Fence: -7, Product: p}
			out, ok := decodeProduct(encodeProduct(in))
			require.True(t, ok)
			assert.Equal(t, in.Fence, out.Fence)
			assert.True(t, p.CreatedAt.Equal(out.Product.CreatedAt))
			assert.True(t, p.UpdatedAt.Equal(out.Product.UpdatedAt))
			_, offIn := p.UpdatedAt.Zone()
			_, offOut := out.Product.UpdatedAt.Zone()
			assert.Equal(t, offIn, offOut)
			out.Product.CreatedAt, out.Product.UpdatedAt = p.CreatedAt, p.UpdatedAt
			assert.Equal(t, p, out.Product)
		})
	}
}

func TestListCodecRoundTrip(t *testing.T) {
	for _, e := range []listEntry{
		{IDs: []ecolaura.ID{}, Total: -1},
		{IDs: []ecolaura.ID{"a", "b"}, HasMore: true, Total: 1234},
	} {
		out, ok := decodeList(encodeList(e))
		require.True(t, ok)
		assert.Equal(t, e, out)
	}
}

func TestCodecRejectsMalformedInput(t *testing.T) {
	good := encodeProduct(productEntry{Fence: 3, Product: sampleProducts()[1]})
	for i := range good { // every truncation
		_, ok := decodeProduct(good[:i])
		assert.False(t, ok, "truncated at %d", i)
	}
	_, ok := decodeProduct(append(append([]byte(nil), good...), 0))
	assert.False(t, ok, "trailing bytes")
	_, ok = decodeProduct(append([]byte{99}, good[1:]...))
	assert.False(t, ok, "unknown format")
	_, ok = decodeProduct([]byte(`{"f":1,"p":{}}`))
	assert.False(t, ok, "an entry of the old JSON format is a miss")
	list := encodeList(listEntry{IDs: []ecolaura.ID{"x", "y"}})
	for i := range list {
		_, ok := decodeList(list[:i])
		assert.False(t, ok, "truncated list at %d", i)
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range sampleProducts() {
		f.Add(encodeProduct(productEntry{Fence: 1, Product: p}))
	}
	f.Add(encodeList(listEntry{IDs: []ecolaura.ID{"a"}, Total: 3}))
	f.Add([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, ok := decodeProduct(b); ok {
			again, ok := decodeProduct(encodeProduct(e))
			if !ok || again.Fence != e.Fence || again.Product.ID != e.Product.ID {
				t.Fatalf("re-encoding a decoded entry changed it")
			}
		}
		if e, ok := decodeList(b); ok {
			if _, ok := decodeList(encodeList(e)); !ok {
				t.Fatalf("re-encoding a decoded list failed")
			}
		}
	})
}
