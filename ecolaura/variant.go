package ecolaura

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ProductStatus is where a product stands in its life cycle.
type ProductStatus string

// The product statuses. Customers and anonymous callers see and can buy only
// active products; staff see all. A product created without a status is
// active (so v1 clients, which know no status, keep working).
const (
	ProductDraft    ProductStatus = "draft"
	ProductActive   ProductStatus = "active"
	ProductArchived ProductStatus = "archived"
)

// Valid reports whether s is a known status.
func (s ProductStatus) Valid() bool {
	return s == ProductDraft || s == ProductActive || s == ProductArchived
}

// Limits of options and variants.
const (
	MaxProductOptions   = 3
	MaxOptionValues     = 100
	MaxOptionNameLength = 50
	MaxVariants         = 100
	MaxSKULength        = 64
	MaxWeightG          = 10_000_000 // 10 t
)

// ProductOption is one dimension in which a product's variants differ
// ("size": S, M, L). Names are unique within a product (case-insensitively),
// values within an option.
type ProductOption struct {
	Name   string
	Values []string
}

// Variant is one buyable version of a product (one size and colour): its
// own SKU, option values, price, GTIN, weight and stock.
type Variant struct {
	ID        ID
	ProductID ID
	// SKU is the stock-keeping unit, unique per shop case-insensitively; ""
	// when none. 1–64 characters: ASCII letters, digits and . _ / -,
	// starting with a letter or digit.
	SKU string
	// Options maps each of the product's option names to one of its values;
	// empty for a product without options. Each combination occurs at most
	// once per product.
	Options map[string]string
	// Price of one unit. Variants of one product share its currency.
	Price Money
	// GTIN is normalised to 14 digits (see [ParseGTIN]), "" when none.
	GTIN string
	// WeightG is the shipping weight in grams, 0–[MaxWeightG] (0: unknown).
	WeightG int
	// Footprint overrides the product's per-unit carbon footprint (grams
	// CO2e) when not nil.
	Footprint *CO2e
	// Position orders the variants of a product from 0; the variant at
	// position 0 is the default (what v1 shows and sells).
	Position int
	// Available is the stock to sell: the sum of the on-hand units over the
	// stock locations that ship. Stores fill it when they read; when a
	// variant is created it is the initial stock at the default location.
	Available int
}

// Clone returns a deep copy.
func (v Variant) Clone() Variant {
	v.Options = maps.Clone(v.Options)
	if v.Footprint != nil {
		f := *v.Footprint
		v.Footprint = &f
	}
	return v
}

// OptionsKey returns the variant's option combination in a canonical form
// (the values in the order of opts), used to check that each combination
// occurs once.
func (v Variant) OptionsKey(opts []ProductOption) string {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString(v.Options[o.Name])
		b.WriteByte(0)
	}
	return b.String()
}

// Title names the variant's options ("M / oat"), "" for a product without
// options.
func (v Variant) Title(opts []ProductOption) string {
	parts := make([]string, 0, len(opts))
	for _, o := range opts {
		parts = append(parts, v.Options[o.Name])
	}
	return strings.Join(parts, " / ")
}

// ValidSKU reports whether s is a valid SKU (see [Variant.SKU]); "" is valid
// (no SKU).
func ValidSKU(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > MaxSKULength || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '/' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Variant returns the product's variant with id.
func (p Product) Variant(id ID) (Variant, bool) {
	for _, v := range p.Variants {
		if v.ID == id {
			return v, true
		}
	}
	return Variant{}, false
}

// DefaultVariant returns the variant at position 0 (the zero Variant when
// the product has none, which no stored product lacks).
func (p Product) DefaultVariant() Variant {
	if len(p.Variants) == 0 {
		return Variant{}
	}
	return p.Variants[0]
}

// LowestPrice returns the lowest price among the product's variants (its
// Price when it has none): what the price filters and sorts of product
// lists use, so a product is found at the price it can be bought from.
func (p Product) LowestPrice() Money {
	low := p.Price
	for i, v := range p.Variants {
		if i == 0 || v.Price.Amount < low.Amount {
			low = v.Price
		}
	}
	return low
}

// VariantFootprint returns the per-unit footprint of one of the product's
// variants: its override, else the product's; ok is false when neither is
// known.
func (p Product) VariantFootprint(v Variant) (CO2e, bool) {
	if v.Footprint != nil {
		return *v.Footprint, true
	}
	return p.Footprint()
}

// Buyable reports whether customers may buy the product (it is active).
func (p Product) Buyable() bool { return p.Status == ProductActive }

// Complete fills what a product being stored may leave out, so that every
// stored product has the same shape: an empty Status becomes active; a
// product without variants gets its default variant (ID = the product's
// ID, Price = p.Price, Available = p.Stock); every variant gets ProductID
// and its Position (its index); the price of a variant without a currency
// is the product's; the default variant's price is p.Price (what v1 and
// callers that know no variants edit) unless p.Price has no currency, then
// p.Price is the default variant's; Stock is the sum of the variants'
// Available. Stores call it on the products they are
// given; it does not validate.
func (p *Product) Complete() {
	if p.Status == "" {
		p.Status = ProductActive
	}
	if len(p.Variants) == 0 {
		p.Variants = []Variant{{ID: p.ID, Price: p.Price, Available: p.Stock}}
	}
	if p.Price.Currency == "" {
		p.Price = p.Variants[0].Price
	}
	p.Variants[0].Price = p.Price
	stock := 0
	for i := range p.Variants {
		v := &p.Variants[i]
		v.ProductID, v.Position = p.ID, i
		if v.Price.Currency == "" {
			v.Price = p.Price
		}
		if v.Options == nil {
			v.Options = map[string]string{}
		}
		stock += v.Available
	}
	p.Stock = stock
}

// validateVariants checks options and variants (see [Product.Validate]).
func (p Product) validateVariants(v *Validator) {
	v.Check(p.Status.Valid(), "status", "must be draft, active or archived")
	v.Check(len(p.Options) <= MaxProductOptions, "options", "must have at most %d options", MaxProductOptions)
	names := map[string]bool{}
	for i, o := range p.Options {
		f := "options[" + strconv.Itoa(i) + "]"
		n := utf8.RuneCountInString(o.Name)
		v.Text(f+".name", o.Name, SingleLine)
		v.Check(n >= 1 && n <= MaxOptionNameLength && strings.TrimSpace(o.Name) == o.Name, f+".name",
			"must be 1-%d characters without surrounding spaces", MaxOptionNameLength)
		lk := strings.ToLower(o.Name)
		v.Check(!names[lk], f+".name", "duplicate option name %q", o.Name)
		names[lk] = true
		v.Check(len(o.Values) >= 1 && len(o.Values) <= MaxOptionValues, f+".values", "must have 1-%d values", MaxOptionValues)
		seen := map[string]bool{}
		for j, val := range o.Values {
			vf := f + ".values[" + strconv.Itoa(j) + "]"
			n := utf8.RuneCountInString(val)
			v.Text(vf, val, SingleLine)
			v.Check(n >= 1 && n <= MaxOptionNameLength && strings.TrimSpace(val) == val, vf,
				"must be 1-%d characters without surrounding spaces", MaxOptionNameLength)
			v.Check(!seen[val], vf, "duplicate value %q", val)
			seen[val] = true
		}
	}
	switch {
	case len(p.Variants) == 0:
		v.Add("variants", "must have at least one variant")
	case len(p.Variants) > MaxVariants:
		v.Add("variants", "must have at most %d variants", MaxVariants)
	case len(p.Options) == 0 && len(p.Variants) > 1:
		v.Add("variants", "a product without options has exactly one variant")
	}
	ids, skus, combos := map[ID]bool{}, map[string]int{}, map[string]int{}
	for i, vr := range p.Variants {
		f := "variants[" + strconv.Itoa(i) + "]"
		v.Check(isUUID(string(vr.ID)), f+".id", "must be a UUID")
		v.Check(!ids[vr.ID], f+".id", "duplicate variant ID")
		ids[vr.ID] = true
		v.Check(vr.ProductID == p.ID, f+".product_id", "must be the product's ID")
		v.Check(vr.Position == i, f+".position", "must be %d (the variant's index)", i)
		v.Check(ValidSKU(vr.SKU), f+".sku", "must be 1-%d ASCII letters, digits, '.', '_', '/' or '-', starting with a letter or digit", MaxSKULength)
		if vr.SKU != "" {
			k := strings.ToLower(vr.SKU)
			if j, dup := skus[k]; dup {
				v.Add(f+".sku", "duplicate of variants[%d].sku", j)
			} else {
				skus[k] = i
			}
		}
		if i > 0 { // the default variant's price is the product's, checked as "price"
			v.Merge(f+".price", vr.Price.ValidatePrice())
			v.Check(vr.Price.Currency == p.Price.Currency, f+".price.currency", "must be the product's currency %s", p.Price.Currency)
		}
		if vr.GTIN != "" {
			g, err := ParseGTIN(vr.GTIN)
			v.Check(err == nil && string(g) == vr.GTIN, f+".gtin", "must be a valid GTIN normalised to 14 digits")
		}
		v.Check(vr.WeightG >= 0 && vr.WeightG <= MaxWeightG, f+".weight_g", "must be between 0 and %d", MaxWeightG)
		if vr.Footprint != nil {
			v.Check(*vr.Footprint >= 0 && *vr.Footprint <= MaxFootprint, f+".footprint", "must be between 0 and %d g CO2e", MaxFootprint)
		}
		if len(p.Variants) > 1 || vr.Available != p.Stock { // a single variant's stock is the product's, checked as "stock"
			v.Check(vr.Available >= 0 && vr.Available <= MaxStock, f+".stock", "must be between 0 and %d", MaxStock)
		}
		okOpts := len(vr.Options) == len(p.Options)
		for _, o := range p.Options {
			val, ok := vr.Options[o.Name]
			if !ok || !slices.Contains(o.Values, val) {
				okOpts = false
			}
		}
		if !okOpts {
			v.Add(f+".options", "must give exactly one value of each product option")
			continue
		}
		k := vr.OptionsKey(p.Options)
		if j, dup := combos[k]; dup {
			v.Add(f+".options", "same option values as variants[%d]", j)
		} else {
			combos[k] = i
		}
	}
	if len(p.Variants) > 0 {
		v.Check(p.Price == p.Variants[0].Price, "price", "must be the default variant's price")
	}
}

// StockLocation is a place that holds stock (a warehouse, a shop). The
// location at position 0 is the default: it receives the stock of new
// variants and v1 stock writes.
type StockLocation struct {
	ID   ID
	Name string
	// Ships reports whether orders are shipped from the location: only such
	// locations count towards a variant's Available stock.
	Ships    bool
	Position int
}

// DefaultLocationID is the ID of the default stock location that every
// store has from the start (created by the migration in PostgreSQL).
const DefaultLocationID ID = "00000000-0000-0000-0000-000000000001"

// MaxLocationNameLength bounds a stock location's name.
const MaxLocationNameLength = 100

// Validate checks a location (name 1–100 characters, single line; position
// not negative) and returns a *ValidationError.
func (l StockLocation) Validate() error {
	var v Validator
	v.Check(isUUID(string(l.ID)), "id", "must be a UUID")
	n := utf8.RuneCountInString(l.Name)
	v.Text("name", l.Name, SingleLine)
	v.Check(n >= 1 && n <= MaxLocationNameLength, "name", "must be 1-%d characters", MaxLocationNameLength)
	v.Check(l.Position >= 0, "position", "must not be negative")
	return v.Err()
}

// InventoryLevel is the stock of one variant at one location.
type InventoryLevel struct {
	VariantID  ID
	LocationID ID
	// OnHand units, 0–[MaxStock].
	OnHand int
}

// MovementReason says why stock moved.
type MovementReason string

// The movement reasons.
const (
	// MoveInitial: the stock a variant was created (or migrated) with.
	MoveInitial MovementReason = "initial"
	// MoveSale: units taken by an order.
	MoveSale MovementReason = "sale"
	// MoveCancel: units of a cancelled order put back.
	MoveCancel MovementReason = "cancel"
	// MoveRestock: a delivery (staff, relative).
	MoveRestock MovementReason = "restock"
	// MoveAdjustment: a correction (staff, relative).
	MoveAdjustment MovementReason = "adjustment"
	// MoveSet: a count (staff, absolute).
	MoveSet MovementReason = "set"
)

// Valid reports whether r is a known reason.
func (r MovementReason) Valid() bool {
	switch r {
	case MoveInitial, MoveSale, MoveCancel, MoveRestock, MoveAdjustment, MoveSet:
		return true
	}
	return false
}

// MaxMovementNote bounds a movement's note.
const MaxMovementNote = 500

// InventoryMovement records one change of an inventory level: who changed
// it (ActorID; "" for the system), when, why (Reason, Note, OrderID for
// sales and cancellations) and by how much (Delta; OnHand is the level
// after it). The movements of a level add up to its on-hand units.
type InventoryMovement struct {
	ID         ID
	VariantID  ID
	LocationID ID
	Delta      int
	// OnHand is the level's units after the movement.
	OnHand  int
	Reason  MovementReason
	ActorID ID
	OrderID ID
	Note    string
	At      time.Time
}
