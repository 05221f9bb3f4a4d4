package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/shipping"
)

// ---- shipping methods (v2) ----

type v2WeightBand struct {
	UpToG int     `json:"up_to_g"`
	Price v2Money `json:"price"`
}

type v2PriceRule struct {
	Type      string         `json:"type"`
	Amount    *v2Money       `json:"amount,omitempty"`
	FreeAbove *v2Money       `json:"free_above,omitempty"`
	Bands     []v2WeightBand `json:"bands,omitempty"`
}

type v2DeliveryDays struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

type v2Footprint struct {
	GramsPerParcel int64 `json:"grams_per_parcel"`
	GramsPerKg     int64 `json:"grams_per_kg"`
}

type v2ShippingMethod struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Carrier      string         `json:"carrier"`
	Countries    []string       `json:"countries"`
	Price        v2PriceRule    `json:"price"`
	DeliveryDays v2DeliveryDays `json:"delivery_days"`
	Footprint    v2Footprint    `json:"footprint"`
	Active       bool           `json:"active"`
	CreatedAt    string         `json:"created_at"`
	UpdatedAt    string         `json:"updated_at"`
	Version      int            `json:"version"`
}

func toV2ShippingMethod(m ecolaura.ShippingMethod) v2ShippingMethod {
	p := v2PriceRule{Type: string(m.Price.Type)}
	switch m.Price.Type {
	case ecolaura.PriceFlat:
		a := toV2Money(m.Price.Amount)
		p.Amount = &a
	case ecolaura.PriceFreeAbove:
		a, f := toV2Money(m.Price.Amount), toV2Money(m.Price.FreeAbove)
		p.Amount, p.FreeAbove = &a, &f
	case ecolaura.PriceWeightBands:
		for _, b := range m.Price.Bands {
			p.Bands = append(p.Bands, v2WeightBand{UpToG: b.UpToG, Price: toV2Money(b.Price)})
		}
	}
	return v2ShippingMethod{ID: string(m.ID), Name: m.Name, Carrier: m.Carrier, Countries: m.Countries, Price: p,
		DeliveryDays: v2DeliveryDays(m.DeliveryDays), Footprint: v2Footprint(m.Footprint), Active: m.Active,
		CreatedAt: rfc3339(m.CreatedAt), UpdatedAt: rfc3339(m.UpdatedAt), Version: m.Version}
}

type v2MoneyIn struct {
	Amount   *decimalValue `json:"amount"`
	Currency *string       `json:"currency"`
}

type v2PriceRuleIn struct {
	Type      *string     `json:"type"`
	Amount    *v2MoneyIn  `json:"amount"`
	FreeAbove *v2MoneyIn  `json:"free_above"`
	Bands     *[]v2BandIn `json:"bands"`
}

type v2BandIn struct {
	UpToG *int       `json:"up_to_g"`
	Price *v2MoneyIn `json:"price"`
}

type v2FootprintIn struct {
	GramsPerParcel *int64  `json:"grams_per_parcel"`
	GramsPerKg     *int64  `json:"grams_per_kg"`
	Preset         *string `json:"preset"`
}

type v2ShippingMethodIn struct {
	Name         *string         `json:"name"`
	Carrier      *string         `json:"carrier"`
	Countries    *[]string       `json:"countries"`
	Price        *v2PriceRuleIn  `json:"price"`
	DeliveryDays *v2DeliveryDays `json:"delivery_days"`
	Footprint    *v2FootprintIn  `json:"footprint"`
	Active       *bool           `json:"active"`
}

// money parses a money object, recording errors under field.
func (m *v2MoneyIn) money(field string, v *ecolaura.Validator) ecolaura.Money {
	if m == nil || m.Amount == nil || m.Currency == nil {
		v.Add(field, "must be an object with amount and currency")
		return ecolaura.Money{}
	}
	cur, err := ecolaura.ParseCurrency(*m.Currency)
	if err != nil {
		v.Add(field+".currency", "unsupported currency %q", *m.Currency)
		return ecolaura.Money{}
	}
	out, err := ecolaura.ParseMoney(m.Amount.String(), cur)
	if err != nil {
		v.Merge(field, err)
		return ecolaura.Money{}
	}
	return out
}

func (p *v2PriceRuleIn) rule(v *ecolaura.Validator) ecolaura.PriceRule {
	var r ecolaura.PriceRule
	if p.Type == nil {
		v.Add("price.type", "is required")
		return r
	}
	r.Type = ecolaura.PriceRuleType(*p.Type)
	switch r.Type {
	case ecolaura.PriceFlat:
		r.Amount = p.Amount.money("price.amount", v)
	case ecolaura.PriceFreeAbove:
		r.Amount = p.Amount.money("price.amount", v)
		r.FreeAbove = p.FreeAbove.money("price.free_above", v)
	case ecolaura.PriceWeightBands:
		if p.Bands == nil {
			v.Add("price.bands", "is required")
			break
		}
		for i, b := range *p.Bands {
			f := "price.bands[" + strconv.Itoa(i) + "]"
			band := ecolaura.WeightBand{Price: b.Price.money(f+".price", v)}
			if b.UpToG == nil {
				v.Add(f+".up_to_g", "is required")
			} else {
				band.UpToG = *b.UpToG
			}
			r.Bands = append(r.Bands, band)
		}
	}
	return r
}

func (f *v2FootprintIn) model(v *ecolaura.Validator) (*ecolaura.FootprintModel, ecolaura.TransportMode) {
	if f.Preset != nil {
		if f.GramsPerParcel != nil || f.GramsPerKg != nil {
			v.Add("footprint", "give grams_per_parcel and grams_per_kg, or a preset, not both")
		}
		return nil, ecolaura.TransportMode(*f.Preset)
	}
	if f.GramsPerParcel == nil || f.GramsPerKg == nil {
		v.Add("footprint", "give grams_per_parcel and grams_per_kg, or a preset")
		return nil, ""
	}
	return &ecolaura.FootprintModel{GramsPerParcel: *f.GramsPerParcel, GramsPerKg: *f.GramsPerKg}, ""
}

// v2ListShippingMethods: GET /api/v2/shipping-methods?country=&include_inactive=
// → {"items": [...]}: the active methods (staff may ask for inactive ones).
func (s *Server) v2ListShippingMethods(c *fiber.Ctx) error {
	q := queryValues(c)
	if err := onlyParams(q, "country", "include_inactive"); err != nil {
		return err
	}
	inactive, err := boolParam(q, "include_inactive")
	if err != nil {
		return err
	}
	list, err := s.svc.Shipping.ListMethods(c.UserContext(), principal(c), shipping.ListMethodsParams{
		Country: q.Get("country"), IncludeInactive: inactive != nil && *inactive})
	if err != nil {
		return err
	}
	out := struct {
		Items []v2ShippingMethod `json:"items"`
	}{Items: make([]v2ShippingMethod, 0, len(list))}
	for _, m := range list {
		out.Items = append(out.Items, toV2ShippingMethod(m))
	}
	return sendJSON(c, http.StatusOK, out)
}

// v2GetShippingMethod: GET /api/v2/shipping-methods/{id}.
func (s *Server) v2GetShippingMethod(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	m, err := s.svc.Shipping.GetMethod(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, toV2ShippingMethod(m))
}

// v2CreateShippingMethod: POST /api/v2/shipping-methods (staff) → 201.
func (s *Server) v2CreateShippingMethod(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	var in v2ShippingMethodIn
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	var v ecolaura.Validator
	mi := shipping.MethodInput{Name: deref(in.Name), Carrier: deref(in.Carrier), Active: in.Active == nil || *in.Active}
	v.Check(in.Name != nil, "name", "is required")
	v.Check(in.Carrier != nil, "carrier", "is required")
	if in.Countries != nil {
		mi.Countries = *in.Countries
	} else {
		v.Add("countries", "is required")
	}
	if in.Price != nil {
		mi.Price = in.Price.rule(&v)
	} else {
		v.Add("price", "is required")
	}
	if in.DeliveryDays != nil {
		mi.DeliveryDays = ecolaura.DeliveryDays(*in.DeliveryDays)
	} else {
		v.Add("delivery_days", "is required")
	}
	if in.Footprint != nil {
		mi.Footprint, mi.Preset = in.Footprint.model(&v)
	} else {
		v.Add("footprint", "is required")
	}
	if err := v.Err(); err != nil {
		return err
	}
	m, err := s.svc.Shipping.CreateMethod(c.UserContext(), actor, mi)
	if err != nil {
		return err
	}
	c.Location("/api/v2/shipping-methods/" + string(m.ID))
	return sendJSON(c, http.StatusCreated, toV2ShippingMethod(m))
}

// v2PatchShippingMethod: PATCH /api/v2/shipping-methods/{id} (staff): the
// members given replace the stored ones (price, delivery_days and footprint
// as a whole).
func (s *Server) v2PatchShippingMethod(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	var in v2ShippingMethodIn
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	var v ecolaura.Validator
	p := shipping.MethodPatch{Name: in.Name, Carrier: in.Carrier, Countries: in.Countries, Active: in.Active}
	if in.Price != nil {
		r := in.Price.rule(&v)
		p.Price = &r
	}
	if in.DeliveryDays != nil {
		d := ecolaura.DeliveryDays(*in.DeliveryDays)
		p.DeliveryDays = &d
	}
	if in.Footprint != nil {
		fp, preset := in.Footprint.model(&v)
		p.Footprint = fp
		if preset != "" {
			p.Preset = &preset
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	m, err := s.svc.Shipping.UpdateMethod(c.UserContext(), actor, id, p)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, toV2ShippingMethod(m))
}

// v2DeleteShippingMethod: DELETE /api/v2/shipping-methods/{id} (staff) → 204.
func (s *Server) v2DeleteShippingMethod(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Shipping.DeleteMethod(c.UserContext(), actor, id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// ---- tax rates (v2) ----

type v2TaxRate struct {
	ID        string `json:"id"`
	Country   string `json:"country"`
	Class     string `json:"class"`
	Rate      string `json:"rate"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Version   int    `json:"version"`
}

func toV2TaxRate(r ecolaura.TaxRate) v2TaxRate {
	return v2TaxRate{ID: string(r.ID), Country: r.Country, Class: string(r.Class), Rate: ecolaura.FormatPercent(r.Rate),
		CreatedAt: rfc3339(r.CreatedAt), UpdatedAt: rfc3339(r.UpdatedAt), Version: r.Version}
}

// v2ListTaxRates: GET /api/v2/tax-rates?country= → {"tax_mode", "items"}.
func (s *Server) v2ListTaxRates(c *fiber.Ctx) error {
	q := queryValues(c)
	if err := onlyParams(q, "country"); err != nil {
		return err
	}
	rates, err := s.svc.Shipping.TaxRates(c.UserContext(), q.Get("country"))
	if err != nil {
		return err
	}
	out := struct {
		TaxMode string      `json:"tax_mode"`
		Items   []v2TaxRate `json:"items"`
	}{TaxMode: string(s.svc.Shipping.TaxMode()), Items: make([]v2TaxRate, 0, len(rates))}
	for _, r := range rates {
		out.Items = append(out.Items, toV2TaxRate(r))
	}
	return sendJSON(c, http.StatusOK, out)
}

// v2GetTaxRate: GET /api/v2/tax-rates/{id}.
func (s *Server) v2GetTaxRate(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := s.svc.Shipping.TaxRate(c.UserContext(), id)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, toV2TaxRate(r))
}

// v2CreateTaxRate: POST /api/v2/tax-rates {"country", "class", "rate"}
// (staff) → 201; rate is a percentage ("19", "5.5").
func (s *Server) v2CreateTaxRate(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	var in struct {
		Country *string       `json:"country"`
		Class   *string       `json:"class"`
		Rate    *decimalValue `json:"rate"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	var v ecolaura.Validator
	v.Check(in.Country != nil, "country", "is required")
	v.Check(in.Class != nil, "class", "is required")
	var rate int64
	if in.Rate == nil {
		v.Add("rate", "is required")
	} else if r, err := ecolaura.ParsePercent(in.Rate.String(), "rate"); err != nil {
		v.Merge("", err)
	} else {
		rate = r
	}
	if err := v.Err(); err != nil {
		return err
	}
	r, err := s.svc.Shipping.CreateTaxRate(c.UserContext(), actor, shipping.TaxRateInput{Country: *in.Country, Class: ecolaura.TaxClass(*in.Class), Rate: rate})
	if err != nil {
		return err
	}
	c.Location("/api/v2/tax-rates/" + string(r.ID))
	return sendJSON(c, http.StatusCreated, toV2TaxRate(r))
}

// v2PatchTaxRate: PATCH /api/v2/tax-rates/{id} {"rate"} (staff).
func (s *Server) v2PatchTaxRate(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Rate *decimalValue `json:"rate"`
	}
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	if in.Rate == nil {
		return ecolaura.Invalid("rate", "is required")
	}
	rate, err := ecolaura.ParsePercent(in.Rate.String(), "rate")
	if err != nil {
		return err
	}
	r, err := s.svc.Shipping.UpdateTaxRate(c.UserContext(), actor, id, rate)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, toV2TaxRate(r))
}

// v2DeleteTaxRate: DELETE /api/v2/tax-rates/{id} (staff) → 204.
func (s *Server) v2DeleteTaxRate(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Shipping.DeleteTaxRate(c.UserContext(), actor, id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
