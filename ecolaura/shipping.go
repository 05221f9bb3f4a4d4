package ecolaura

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a [ShippingMethod].
const (
	MaxShippingNameLength  = 100
	MaxCarrierLength       = 100
	MaxWeightBands         = 20
	MaxDeliveryDays        = 365
	MaxParcelWeightG       = 1_000_000 // 1 tonne
	MaxFootprintPerParcelG = 1_000_000 // 1 t CO2e
	MaxFootprintPerKgG     = 100_000   // 100 kg CO2e per kg shipped
)

// PriceRuleType names how a shipping method prices a parcel.
type PriceRuleType string

// The price rules.
const (
	// PriceFlat charges Amount for every parcel.
	PriceFlat PriceRuleType = "flat"
	// PriceFreeAbove charges Amount, or nothing when the order subtotal is
	// at least FreeAbove.
	PriceFreeAbove PriceRuleType = "free_above"
	// PriceWeightBands charges the price of the first band whose UpToG is
	// at least the parcel's weight; a heavier parcel cannot be delivered.
	PriceWeightBands PriceRuleType = "weight_bands"
)

// WeightBand is one band of a [PriceWeightBands] rule: parcels weighing up
// to UpToG grams (inclusive) cost Price.
type WeightBand struct {
	UpToG int
	Price Money
}

// PriceRule prices a parcel. Every amount is in the same currency,
// non-negative and at most [MaxPriceMinor]:
//
//   - flat: Amount;
//   - free_above: Amount, and nothing once the subtotal reaches FreeAbove;
//   - weight_bands: Bands, 1–20, ascending by UpToG (strictly), each
//     UpToG 1–1,000,000 g.
type PriceRule struct {
	Type      PriceRuleType
	Amount    Money
	FreeAbove Money
	Bands     []WeightBand
}

// Currency returns the currency of the rule's amounts.
func (r PriceRule) Currency() Currency {
	if r.Type == PriceWeightBands && len(r.Bands) > 0 {
		return r.Bands[0].Price.Currency
	}
	return r.Amount.Currency
}

// Price returns what the rule charges for a parcel of weightG grams in an
// order whose subtotal is subtotal, and false when the rule cannot price it
// (heavier than the last band, or a subtotal in another currency for
// free_above).
func (r PriceRule) Price(weightG int, subtotal Money) (Money, bool) {
	switch r.Type {
	case PriceFlat:
		return r.Amount, true
	case PriceFreeAbove:
		if subtotal.Currency != r.FreeAbove.Currency {
			return Money{}, false
		}
		if subtotal.Amount >= r.FreeAbove.Amount {
			return NewMoney(0, r.Amount.Currency), true
		}
		return r.Amount, true
	case PriceWeightBands:
		for _, b := range r.Bands {
			if weightG <= b.UpToG {
				return b.Price, true
			}
		}
	}
	return Money{}, false
}

func (r PriceRule) validate(v *Validator) {
	money := func(field string, m Money, cur Currency) {
		switch {
		case !m.Currency.Valid():
			v.Add(field+".currency", "unsupported currency %q", string(m.Currency))
		case m.Currency != cur:
			v.Add(field+".currency", "must be %s, the currency of the rule", cur)
		case m.Amount < 0 || m.Amount > MaxPriceMinor:
			v.Add(field, "must be between 0 and %d minor units", MaxPriceMinor)
		}
	}
	cur := r.Currency()
	switch r.Type {
	case PriceFlat:
		money("price.amount", r.Amount, cur)
		v.Check(len(r.Bands) == 0, "price.bands", "only a weight_bands rule has bands")
	case PriceFreeAbove:
		money("price.amount", r.Amount, cur)
		money("price.free_above", r.FreeAbove, cur)
		v.Check(len(r.Bands) == 0, "price.bands", "only a weight_bands rule has bands")
	case PriceWeightBands:
		v.Check(len(r.Bands) >= 1 && len(r.Bands) <= MaxWeightBands, "price.bands", "must have 1 to %d bands", MaxWeightBands)
		prev := 0
		for i, b := range r.Bands {
			f := "price.bands[" + itoa(i) + "]"
			money(f+".price", b.Price, cur)
			switch {
			case b.UpToG < 1 || b.UpToG > MaxParcelWeightG:
				v.Add(f+".up_to_g", "must be between 1 and %d", MaxParcelWeightG)
			case b.UpToG <= prev:
				v.Add(f+".up_to_g", "must be greater than the previous band's")
			}
			prev = b.UpToG
		}
	default:
		v.Add("price.type", "must be flat, free_above or weight_bands")
	}
}

// DeliveryDays is an estimate of the working days from dispatch to
// delivery: 0 ≤ Min ≤ Max ≤ 365.
type DeliveryDays struct {
	Min int
	Max int
}

// FootprintModel estimates the greenhouse-gas emissions of delivering one
// parcel, in grams CO2e: GramsPerParcel for every parcel (handling,
// sorting, the last mile) plus GramsPerKg for every kilogram shipped (the
// line haul). See [DefaultFootprints] for documented figures per mode.
type FootprintModel struct {
	GramsPerParcel int64
	GramsPerKg     int64
}

// Grams returns the footprint of one parcel of weightG grams:
// GramsPerParcel + GramsPerKg × weightG / 1000, the second term rounded
// half up to a whole gram.
func (f FootprintModel) Grams(weightG int) CO2e {
	return CO2e(f.GramsPerParcel + (f.GramsPerKg*int64(max(weightG, 0))+500)/1000)
}

// TransportMode names a mode of delivery with a documented default
// footprint model.
type TransportMode string

// The modes with default footprints.
const (
	ModeRoadParcel  TransportMode = "road_parcel"
	ModeBikeCourier TransportMode = "bike_courier"
	ModeRail        TransportMode = "rail"
	ModeAirExpress  TransportMode = "air_express"
)

// DefaultFootprints are the footprint models Ecolaura suggests when a
// carrier publishes no figures of its own (carrier-specific figures per ISO
// 14083 are better: use them when you have them). docs/sustainability.md
// derives each figure from its sources: the UK government's GHG conversion
// factors (DESNZ/DEFRA, "Freighting goods") and the GLEC Framework; in
// short:
//
//   - road_parcel: 180 g per parcel (sorting and a diesel-van last mile)
//     plus 55 g per kg (≈ 500 km of HGV line haul at ≈ 0.107 kg CO2e per
//     tonne-km);
//   - bike_courier: 20 g per parcel (an electrically assisted cargo bike
//     on a city round, depot included) plus 0 g per kg;
//   - rail: 180 g per parcel (the road last mile) plus 15 g per kg (≈ 500
//     km of rail freight at ≈ 0.028 kg CO2e per tonne-km);
//   - air_express: 250 g per parcel (road legs at both ends) plus 1,500 g
//     per kg (≈ 1,000 km of air freight at ≈ 1.5 kg CO2e per tonne-km with
//     radiative forcing).
var DefaultFootprints = map[TransportMode]FootprintModel{
	ModeRoadParcel:  {GramsPerParcel: 180, GramsPerKg: 55},
	ModeBikeCourier: {GramsPerParcel: 20, GramsPerKg: 0},
	ModeRail:        {GramsPerParcel: 180, GramsPerKg: 15},
	ModeAirExpress:  {GramsPerParcel: 250, GramsPerKg: 1500},
}

// ShippingMethod is a way the shop delivers parcels: who carries them,
// where to, at what price, how fast and with which footprint. Only active
// methods are offered to customers.
type ShippingMethod struct {
	ID      ID
	Name    string // 1–100 characters, single-line text
	Carrier string // 1–100 characters, single-line text
	// Countries served: 1–249 distinct ISO 3166-1 alpha-2 codes, sorted.
	Countries    []string
	Price        PriceRule
	DeliveryDays DeliveryDays
	Footprint    FootprintModel
	Active       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int
}

// Clone returns a deep copy.
func (m ShippingMethod) Clone() ShippingMethod {
	m.Countries = slices.Clone(m.Countries)
	m.Price.Bands = slices.Clone(m.Price.Bands)
	return m
}

// Normalize trims the name and carrier, upper-cases, sorts and
// de-duplicates the countries.
func (m ShippingMethod) Normalize() ShippingMethod {
	m = m.Clone()
	m.Name, m.Carrier = strings.TrimSpace(m.Name), strings.TrimSpace(m.Carrier)
	for i, c := range m.Countries {
		m.Countries[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	slices.Sort(m.Countries)
	m.Countries = slices.Compact(m.Countries)
	return m
}

// Validate checks the method's own rules (not its ID, times or version)
// and returns a *ValidationError naming every failing field ("name",
// "countries[2]", "price.bands[0].up_to_g", "delivery_days.max",
// "footprint.grams_per_kg", ...), or nil. Call it on a normalised method.
func (m ShippingMethod) Validate() error {
	var v Validator
	m.validate(&v)
	return v.Err()
}

func (m ShippingMethod) validate(v *Validator) {
	text := func(field, s string, max int) {
		v.Text(field, s, SingleLine)
		n := utf8.RuneCountInString(s)
		switch {
		case s != strings.TrimSpace(s):
			v.Add(field, "must not start or end with white space")
		case n == 0:
			v.Add(field, "must not be blank")
		case n > max:
			v.Add(field, "must be at most %d characters", max)
		}
	}
	text("name", m.Name, MaxShippingNameLength)
	text("carrier", m.Carrier, MaxCarrierLength)
	v.Check(len(m.Countries) >= 1, "countries", "must name at least one country")
	for i, c := range m.Countries {
		switch {
		case !ValidCountryCode(c):
			v.Add("countries["+itoa(i)+"]", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
		case i > 0 && c <= m.Countries[i-1]:
			v.Add("countries["+itoa(i)+"]", "must be sorted and appear once")
		}
	}
	m.Price.validate(v)
	d := m.DeliveryDays
	v.Check(d.Min >= 0 && d.Min <= MaxDeliveryDays, "delivery_days.min", "must be between 0 and %d", MaxDeliveryDays)
	v.Check(d.Max >= 0 && d.Max <= MaxDeliveryDays, "delivery_days.max", "must be between 0 and %d", MaxDeliveryDays)
	v.Check(d.Max >= d.Min, "delivery_days.max", "must be at least min")
	f := m.Footprint
	v.Check(f.GramsPerParcel >= 0 && f.GramsPerParcel <= MaxFootprintPerParcelG, "footprint.grams_per_parcel", "must be between 0 and %d", MaxFootprintPerParcelG)
	v.Check(f.GramsPerKg >= 0 && f.GramsPerKg <= MaxFootprintPerKgG, "footprint.grams_per_kg", "must be between 0 and %d", MaxFootprintPerKgG)
}

// ValidateStoredShippingMethod checks what every store refuses: an ID that
// is not a UUID, a method breaking [ShippingMethod.Validate], missing times
// or a version below 1. It returns a *ValidationError or nil.
func ValidateStoredShippingMethod(m ShippingMethod) error {
	var v Validator
	v.Check(isUUID(string(m.ID)), "id", "must be a UUID")
	m.validate(&v)
	v.Check(!m.CreatedAt.IsZero(), "created_at", "must be set")
	v.Check(!m.UpdatedAt.IsZero(), "updated_at", "must be set")
	v.Check(m.Version >= 1, "version", "must be at least 1")
	return v.Err()
}

// Serves reports whether the method delivers to country.
func (m ShippingMethod) Serves(country string) bool {
	_, ok := slices.BinarySearch(m.Countries, country)
	return ok
}

// Parcel is what a shipping method is asked to deliver: the total weight
// in grams, the order subtotal (for free_above) and the destination
// country.
type Parcel struct {
	WeightG  int
	Subtotal Money
	Country  string
}

// DeliveryOffer is what a method asks to deliver one parcel.
type DeliveryOffer struct {
	Price     Money
	Footprint CO2e
	Days      DeliveryDays
}

// Offer prices a parcel and estimates its delivery footprint. It returns
// false when the method cannot deliver it: inactive, not serving the
// country, the parcel heavier than its bands (or than MaxParcelWeightG),
// or a free_above threshold in another currency than the subtotal. It is a
// pure function of its inputs.
func (m ShippingMethod) Offer(p Parcel) (DeliveryOffer, bool) {
	if !m.Active || !m.Serves(p.Country) || p.WeightG < 0 || p.WeightG > MaxParcelWeightG {
		return DeliveryOffer{}, false
	}
	price, ok := m.Price.Price(p.WeightG, p.Subtotal)
	if !ok {
		return DeliveryOffer{}, false
	}
	return DeliveryOffer{Price: price, Footprint: m.Footprint.Grams(p.WeightG), Days: m.DeliveryDays}, true
}

func itoa(i int) string { return strconv.Itoa(i) }
