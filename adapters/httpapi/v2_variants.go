package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
)

// v2Option is one dimension in which a product's variants differ.
type v2Option struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// v2Variant is a buyable version of a v2 product. SKU and GTIN are null
// when the variant has none; weight_g 0 means unknown; footprint_kg is
// the variant's override of the product's footprint (null: the product's).
type v2Variant struct {
	ID          ecolaura.ID       `json:"id"`
	SKU         *string           `json:"sku"`
	Options     map[string]string `json:"options"`
	Price       v2Money           `json:"price"`
	Available   int               `json:"available"`
	GTIN        *string           `json:"gtin"`
	WeightG     int               `json:"weight_g"`
	FootprintKg *json.Number      `json:"footprint_kg"`
	Position    int               `json:"position"`
	Images      []v2Image         `json:"images"`
}

func toV2Variant(v ecolaura.Variant) v2Variant {
	out := v2Variant{ID: v.ID, Options: v.Options, Price: toV2Money(v.Price), Available: v.Available,
		WeightG: v.WeightG, Position: v.Position, Images: []v2Image{}}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	if v.SKU != "" {
		s := v.SKU
		out.SKU = &s
	}
	if v.GTIN != "" {
		g := v.GTIN
		out.GTIN = &g
	}
	if v.Footprint != nil {
		n := kgNumber(*v.Footprint)
		out.FootprintKg = &n
	}
	return out
}

func toV2Options(opts []ecolaura.ProductOption) []v2Option {
	out := make([]v2Option, 0, len(opts))
	for _, o := range opts {
		vals := o.Values
		if vals == nil {
			vals = []string{}
		}
		out = append(out, v2Option{Name: o.Name, Values: vals})
	}
	return out
}

// ---- inputs ----

type v2OptionInput struct {
	Name   *string  `json:"name"`
	Values []string `json:"values"`
}

// v2VariantInput is a new variant (in a product's POST, or on its own).
type v2VariantInput struct {
	SKU         *string         `json:"sku"`
	Options     json.RawMessage `json:"options"`
	Price       *v2MoneyInput   `json:"price"`
	Stock       *int            `json:"stock"`
	GTIN        *string         `json:"gtin"`
	WeightG     *int            `json:"weight_g"`
	FootprintKg *decimalValue   `json:"footprint_kg"`
}

// v2VariantPatchInput changes a variant; absent members are kept.
type v2VariantPatchInput struct {
	SKU         json.RawMessage `json:"sku"`
	Options     json.RawMessage `json:"options"`
	Price       *v2MoneyInput   `json:"price"`
	GTIN        json.RawMessage `json:"gtin"`
	WeightG     *int            `json:"weight_g"`
	FootprintKg json.RawMessage `json:"footprint_kg"`
	Position    *int            `json:"position"`
	Version     *int64          `json:"version"`
}

// decodeOptionValues decodes an object of option name to value (strings).
func decodeOptionValues(raw json.RawMessage, path string, errs *fieldErrors) map[string]string {
	if raw == nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &fields) != nil {
		errs.add(path, "must be an object of option names to values")
		return nil
	}
	out := make(map[string]string, len(fields))
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var s string
		if jsonKind(fields[k]) != "string" || json.Unmarshal(fields[k], &s) != nil {
			errs.add(path+"."+k, v2Dialect.str)
			continue
		}
		out[k] = s
	}
	return out
}

// decodeV2Price parses a price input under field (an amount in the
// currency given with it, else in cur). The currency of the result is the
// one given (empty: the shop's). It returns nil when pr is nil or an error
// was recorded.
func decodeV2Price(pr *v2MoneyInput, field string, cur ecolaura.Currency, errs *fieldErrors) *ecolaura.Money {
	if pr == nil {
		return nil
	}
	var given ecolaura.Currency
	parseIn := cur
	if pr.Currency != nil {
		c, err := ecolaura.ParseCurrency(*pr.Currency)
		if err != nil {
			errs.add(field+".currency", "unsupported currency "+strconv.Quote(*pr.Currency))
		} else {
			given, parseIn = c, c
		}
	}
	errs.require(pr.Amount != nil, field+".amount", v2Dialect)
	if pr.Amount == nil || errs.covers(field+".currency") {
		return nil
	}
	m, err := ecolaura.ParsePrice(pr.Amount.text, parseIn)
	if err != nil {
		_ = errs.mergeDomain(err, func(f string) string { return field + "." + f })
		return nil
	}
	m.Currency = given // empty: the shop's
	return &m
}

// checkGTIN records a GTIN's error under field ("" is no GTIN).
func checkGTIN(s, field string, errs *fieldErrors) {
	if s == "" {
		return
	}
	if _, err := ecolaura.ParseGTIN(s); err != nil {
		_ = errs.mergeDomain(err, func(string) string { return field })
	}
}

// variantInput turns a decoded variant into the catalog's input, recording
// field errors under prefix ("variants[0]" or "" for the variant endpoint).
func (in v2VariantInput) variantInput(prefix string, cur ecolaura.Currency, errs *fieldErrors) catalog.VariantInput {
	out := catalog.VariantInput{SKU: deref(in.SKU), Stock: deref(in.Stock), GTIN: deref(in.GTIN), WeightG: deref(in.WeightG),
		Options: decodeOptionValues(in.Options, join(prefix, "options"), errs)}
	out.Price = decodeV2Price(in.Price, join(prefix, "price"), cur, errs)
	checkGTIN(out.GTIN, join(prefix, "gtin"), errs)
	if in.FootprintKg != nil {
		g, err := ecolaura.ParseFootprintKg(in.FootprintKg.text)
		if err != nil {
			_ = errs.mergeDomain(err, func(string) string { return join(prefix, "footprint_kg") })
		} else {
			out.Footprint = &g
		}
	}
	return out
}

// variantFieldRef matches a variant's place in a product's fields
// ("variants[3]." or "variants.").
var variantFieldRef = regexp.MustCompile(`^variants(\[\d+\])?\.`)

// v2VariantField names a catalog field error of a variant write by the
// variant request's field: the product's "variants[3].sku" is "sku".
func v2VariantField(f string) string {
	f = variantFieldRef.ReplaceAllString(f, "")
	if f == "footprint" {
		return "footprint_kg"
	}
	return f
}

// ---- handlers ----

// productVariant reads the variant of the product in the path, 404 when
// the variant is another product's.
func (s *Server) productVariant(c *fiber.Ctx) (ecolaura.Product, ecolaura.Variant, error) {
	pid, err := pathID(c, "id")
	if err != nil {
		return ecolaura.Product{}, ecolaura.Variant{}, err
	}
	vid, err := pathID(c, "variant_id")
	if err != nil {
		return ecolaura.Product{}, ecolaura.Variant{}, err
	}
	p, v, err := s.svc.Catalog.GetVariant(c.UserContext(), principal(c), vid)
	if err != nil {
		return ecolaura.Product{}, ecolaura.Variant{}, err
	}
	if p.ID != pid {
		return ecolaura.Product{}, ecolaura.Variant{}, ecolaura.ErrNotFound
	}
	return p, v, nil
}

// variantOut renders variant id of p with its images.
func (s *Server) variantOut(c *fiber.Ctx, p ecolaura.Product, id ecolaura.ID) (v2Variant, error) {
	out := toV2Product(p)
	if err := s.withImages(c, &out); err != nil {
		return v2Variant{}, err
	}
	for _, v := range out.Variants {
		if v.ID == id {
			return v, nil
		}
	}
	return v2Variant{}, ecolaura.ErrNotFound
}

type v2VariantList struct {
	Items []v2Variant `json:"items"`
}

// v2ListVariants lists a product's variants in position order (visibility
// of the product: anyone for an active product, staff for the others).
func (s *Server) v2ListVariants(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := noQueryParams(c); err != nil {
		return err
	}
	p, err := s.svc.Catalog.Get(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	out := toV2Product(p)
	if err := s.withImages(c, &out); err != nil {
		return err
	}
	if !principal(c).IsStaff() {
		c.Set(fiber.HeaderCacheControl, "public, no-cache")
	} else {
		c.Set(fiber.HeaderCacheControl, "private, no-cache")
	}
	return sendJSON(c, http.StatusOK, v2VariantList{Items: out.Variants})
}

func (s *Server) v2GetVariant(c *fiber.Ctx) error {
	p, v, err := s.productVariant(c)
	if err != nil {
		return err
	}
	out, err := s.variantOut(c, p, v.ID)
	if err != nil {
		return err
	}
	if principal(c).IsStaff() {
		c.Set(fiber.HeaderCacheControl, "private, no-cache")
	}
	return sendJSON(c, http.StatusOK, out)
}

// v2CreateVariant adds a variant to a product (staff): {sku, options,
// price, stock, gtin, weight_g, footprint_kg}, each optional but options
// (one value of each of the product's options).
func (s *Server) v2CreateVariant(c *fiber.Ctx) error {
	actor, pid, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	var in v2VariantInput
	var errs fieldErrors
	if err := decodeBody(c.Body(), &in, true, v2Dialect, &errs); err != nil {
		return err
	}
	vin := in.variantInput("", s.cfg.Currency, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	p, v, err := s.svc.Catalog.CreateVariant(c.UserContext(), actor, pid, vin)
	if err != nil {
		return renameFields(renameConflict(err, v2VariantField), v2VariantField)
	}
	out, err := s.variantOut(c, p, v.ID)
	if err != nil {
		return err
	}
	c.Location(s.absURL(c, "/api/v2/products/"+string(p.ID)+"/variants/"+string(v.ID)))
	return sendJSON(c, http.StatusCreated, out)
}

// v2UpdateVariant changes a variant (staff); absent members are kept,
// sku, gtin and footprint_kg null remove them.
func (s *Server) v2UpdateVariant(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	_, v, err := s.productVariant(c)
	if err != nil {
		return err
	}
	var in v2VariantPatchInput
	var errs fieldErrors
	if err := decodeBody(c.Body(), &in, true, v2Dialect, &errs); err != nil {
		return err
	}
	pt := catalog.VariantPatch{WeightG: in.WeightG, Position: in.Position, ExpectedVersion: in.Version,
		Options: decodeOptionValues(in.Options, "options", &errs)}
	pt.SKU = nullableString(in.SKU, "sku", &errs)
	pt.Price = decodeV2Price(in.Price, "price", s.cfg.Currency, &errs)
	if pt.GTIN = nullableString(in.GTIN, "gtin", &errs); pt.GTIN != nil {
		checkGTIN(*pt.GTIN, "gtin", &errs)
	}
	if raw := in.FootprintKg; raw != nil {
		if jsonKind(raw) == "null" {
			pt.ClearFootprint = true
		} else {
			var d decimalValue
			if err := json.Unmarshal(raw, &d); err != nil {
				errs.add("footprint_kg", v2Dialect.decimal)
			} else if g, err := ecolaura.ParseFootprintKg(d.text); err != nil {
				_ = errs.mergeDomain(err, func(string) string { return "footprint_kg" })
			} else {
				pt.Footprint = &g
			}
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	p, err := s.svc.Catalog.UpdateVariant(c.UserContext(), actor, v.ID, pt)
	if err != nil {
		return renameFields(renameConflict(err, v2VariantField), v2VariantField)
	}
	out, err := s.variantOut(c, p, v.ID)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, out)
}

func (s *Server) v2DeleteVariant(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	_, v, err := s.productVariant(c)
	if err != nil {
		return err
	}
	if _, err := s.svc.Catalog.DeleteVariant(c.UserContext(), actor, v.ID); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// nullableString decodes a member that is a string or null (null is "",
// none); nil when absent.
func nullableString(raw json.RawMessage, field string, errs *fieldErrors) *string {
	if raw == nil {
		return nil
	}
	var out string
	switch jsonKind(raw) {
	case "null":
	case "string":
		if json.Unmarshal(raw, &out) != nil {
			errs.add(field, v2Dialect.str)
		}
	default:
		errs.add(field, v2Dialect.str)
	}
	return &out
}

// asConflict finds an *ecolaura.ConflictError in err's chain.
func asConflict(err error) (*ecolaura.ConflictError, bool) {
	var ce *ecolaura.ConflictError
	ok := errors.As(err, &ce)
	return ce, ok
}

// renameConflict renames the field of an *ecolaura.ConflictError.
func renameConflict(err error, rename func(string) string) error {
	ce, ok := asConflict(err)
	if !ok {
		return err
	}
	return &ecolaura.ConflictError{Field: rename(ce.Field)}
}
