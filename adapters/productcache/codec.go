package productcache

import (
	"encoding/binary"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// Cached values use a compact binary encoding instead of JSON: a list hit
// decodes a whole page of products, and JSON made that slower than reading
// the in-memory store itself. Each value starts with a format byte, so an
// entry written by another version of this package is just a miss.
const (
	productFormat byte = 2 // 2: with status, options and variants (issue 12)
	listFormat    byte = 1
)

// maxDecodedItems bounds lengths read from a cached value.
const maxDecodedItems = 10_000

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	tb, err := t.MarshalBinary()
	if err != nil { // a zone offset that is not a whole minute: keep the instant in UTC
		tb, _ = t.UTC().MarshalBinary()
	}
	b = binary.AppendUvarint(b, uint64(len(tb)))
	return append(b, tb...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// encodeProduct encodes a product entry.
func encodeProduct(e productEntry) []byte {
	p := e.Product
	b := make([]byte, 0, 96+len(p.Name)+len(p.Description))
	b = append(b, productFormat)
	b = binary.AppendVarint(b, e.Fence)
	b = appendString(b, string(p.ID))
	b = appendString(b, p.Name)
	b = appendString(b, p.Description)
	b = appendString(b, p.Category)
	b = binary.AppendVarint(b, p.Price.Amount)
	b = appendString(b, string(p.Price.Currency))
	b = binary.AppendVarint(b, int64(p.Stock))
	b = binary.AppendVarint(b, int64(p.Score))
	b = appendTime(b, p.CreatedAt)
	b = appendTime(b, p.UpdatedAt)
	b = binary.AppendVarint(b, p.Version)
	b = appendBool(b, p.Metrics != nil)
	if m := p.Metrics; m != nil {
		b = binary.AppendVarint(b, int64(m.CarbonFootprint))
		b = appendBool(b, m.Recyclable)
		b = appendBool(b, m.Biodegradable)
		b = appendBool(b, m.RecycledContent != nil)
		if m.RecycledContent != nil {
			b = binary.AppendVarint(b, int64(*m.RecycledContent))
		}
		b = binary.AppendUvarint(b, uint64(len(m.Certifications)))
		for _, c := range m.Certifications {
			b = appendString(b, string(c))
		}
	}
	b = appendString(b, string(p.Status))
	b = binary.AppendUvarint(b, uint64(len(p.Options)))
	for _, o := range p.Options {
		b = appendString(b, o.Name)
		b = binary.AppendUvarint(b, uint64(len(o.Values)))
		for _, v := range o.Values {
			b = appendString(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.Variants)))
	for _, v := range p.Variants {
		b = appendString(b, string(v.ID))
		b = appendString(b, v.SKU)
		b = binary.AppendUvarint(b, uint64(len(p.Options)))
		for _, o := range p.Options { // values in option order
			b = appendString(b, v.Options[o.Name])
		}
		b = binary.AppendVarint(b, v.Price.Amount)
		b = appendString(b, string(v.Price.Currency))
		b = appendString(b, v.GTIN)
		b = binary.AppendVarint(b, int64(v.WeightG))
		b = appendBool(b, v.Footprint != nil)
		if v.Footprint != nil {
			b = binary.AppendVarint(b, int64(*v.Footprint))
		}
		b = binary.AppendVarint(b, int64(v.Available))
	}
	return b
}

// reader decodes; after the first error every read returns zero values.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) byte() byte {
	if r.bad || len(r.b) == 0 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.bad = true
	return false
}

func (r *reader) varint() int64 {
	if r.bad {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) length() int {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(len(r.b)-n) {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *reader) bytes() []byte {
	n := r.length()
	if r.bad {
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) int() int {
	v := r.varint()
	if int64(int(v)) != v {
		r.bad = true
		return 0
	}
	return int(v)
}

func (r *reader) time() time.Time {
	b := r.bytes()
	if r.bad {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(b); err != nil {
		r.bad = true
	}
	return t
}

// decodeProduct decodes a product entry; ok is false for anything malformed.
func decodeProduct(b []byte) (e productEntry, ok bool) {
	r := reader{b: b}
	if r.byte() != productFormat {
		return productEntry{}, false
	}
	e.Fence = r.varint()
	p := &e.Product
	p.ID = ecolaura.ID(r.string())
	p.Name = r.string()
	p.Description = r.string()
	p.Category = r.string()
	p.Price.Amount = r.varint()
	p.Price.Currency = ecolaura.Currency(r.string())
	p.Stock = r.int()
	p.Score = r.int()
	p.CreatedAt = r.time()
	p.UpdatedAt = r.time()
	p.Version = r.varint()
	if r.bool() {
		m := &ecolaura.SustainabilityMetrics{}
		m.CarbonFootprint = ecolaura.CO2e(r.varint())
		m.Recyclable = r.bool()
		m.Biodegradable = r.bool()
		if r.bool() {
			rc := r.int()
			m.RecycledContent = &rc
		}
		n := r.length()
		if n > maxDecodedItems {
			return productEntry{}, false
		}
		if n > 0 && !r.bad {
			m.Certifications = make([]ecolaura.Certification, n)
			for i := range n {
				m.Certifications[i] = ecolaura.Certification(r.string())
			}
		}
		p.Metrics = m
	}
	p.Status = ecolaura.ProductStatus(r.string())
	n := r.length()
	if n > maxDecodedItems {
		return productEntry{}, false
	}
	for range n {
		o := ecolaura.ProductOption{Name: r.string()}
		k := r.length()
		if k > maxDecodedItems || r.bad {
			return productEntry{}, false
		}
		for range k {
			o.Values = append(o.Values, r.string())
		}
		p.Options = append(p.Options, o)
	}
	n = r.length()
	if n > maxDecodedItems {
		return productEntry{}, false
	}
	for i := range n {
		v := ecolaura.Variant{ID: ecolaura.ID(r.string()), ProductID: p.ID, SKU: r.string(), Position: i, Options: map[string]string{}}
		if k := r.length(); k != len(p.Options) {
			return productEntry{}, false
		}
		for _, o := range p.Options {
			v.Options[o.Name] = r.string()
		}
		v.Price.Amount = r.varint()
		v.Price.Currency = ecolaura.Currency(r.string())
		v.GTIN = r.string()
		v.WeightG = r.int()
		if r.bool() {
			f := ecolaura.CO2e(r.varint())
			v.Footprint = &f
		}
		v.Available = r.int()
		if r.bad {
			return productEntry{}, false
		}
		p.Variants = append(p.Variants, v)
	}
	if r.bad || len(r.b) != 0 {
		return productEntry{}, false
	}
	return e, true
}

// encodeList encodes a list entry.
func encodeList(e listEntry) []byte {
	b := make([]byte, 0, 16+40*len(e.IDs))
	b = append(b, listFormat)
	b = appendBool(b, e.HasMore)
	b = binary.AppendVarint(b, int64(e.Total))
	b = binary.AppendUvarint(b, uint64(len(e.IDs)))
	for _, id := range e.IDs {
		b = appendString(b, string(id))
	}
	return b
}

// decodeList decodes a list entry; ok is false for anything malformed.
func decodeList(b []byte) (e listEntry, ok bool) {
	r := reader{b: b}
	if r.byte() != listFormat {
		return listEntry{}, false
	}
	e.HasMore = r.bool()
	e.Total = r.int()
	n := r.length()
	if r.bad || n > maxDecodedItems {
		return listEntry{}, false
	}
	e.IDs = make([]ecolaura.ID, n)
	for i := range n {
		e.IDs[i] = ecolaura.ID(r.string())
	}
	if r.bad || len(r.b) != 0 {
		return listEntry{}, false
	}
	return e, true
}
