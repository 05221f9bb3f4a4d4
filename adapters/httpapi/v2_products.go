package httpapi

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
	"github.com/ecolaura/ecolaura/ecolaura/sustainability"
)

// v2Money is an exact amount as a decimal string with its currency.
type v2Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

func toV2Money(m ecolaura.Money) v2Money {
	return v2Money{Amount: m.Decimal(), Currency: string(m.Currency)}
}

type v2Metrics struct {
	CarbonFootprintKg json.Number `json:"carbon_footprint_kg"`
	Recyclable        bool        `json:"recyclable"`
	Biodegradable     bool        `json:"biodegradable"`
	RecycledContent   *int        `json:"recycled_content"`
	Certifications    []string    `json:"certifications"`
}

type v2Sustainability struct {
	Score          int                       `json:"score"`
	Computed       bool                      `json:"computed"`
	FormulaVersion *string                   `json:"formula_version"`
	Components     []ecolaura.ScoreComponent `json:"components"`
	Metrics        *v2Metrics                `json:"metrics"`
}

type v2Product struct {
	ID             ecolaura.ID      `json:"id"`
	Name           string           `json:"name"`
	Description    string           `json:"description"`
	Category       string           `json:"category"`
	Status         string           `json:"status"`
	Options        []v2Option       `json:"options"`
	Variants       []v2Variant      `json:"variants"`
	Price          v2Money          `json:"price"`
	Stock          int              `json:"stock"`
	InStock        bool             `json:"in_stock"`
	Sustainability v2Sustainability `json:"sustainability"`
	Version        int64            `json:"version"`
	CreatedAt      string           `json:"created_at"`
	UpdatedAt      string           `json:"updated_at"`
	Images         []v2Image        `json:"images"`
}

func toV2Product(p ecolaura.Product) v2Product {
	sc := p.ScoreBreakdown()
	sus := v2Sustainability{Score: p.Score, Computed: sc.Computed, Components: sc.Components}
	if sus.Components == nil {
		sus.Components = []ecolaura.ScoreComponent{}
	}
	if sc.FormulaVersion != "" {
		v := sc.FormulaVersion
		sus.FormulaVersion = &v
	}
	if m := p.Metrics; m != nil {
		certs := make([]string, 0, len(m.Certifications))
		for _, c := range m.Certifications {
			certs = append(certs, string(c))
		}
		sus.Metrics = &v2Metrics{CarbonFootprintKg: kgNumber(m.CarbonFootprint), Recyclable: m.Recyclable,
			Biodegradable: m.Biodegradable, RecycledContent: m.RecycledContent, Certifications: certs}
	}
	out := v2Product{ID: p.ID, Name: p.Name, Description: p.Description, Category: p.Category,
		Status: string(p.Status), Options: toV2Options(p.Options), Variants: make([]v2Variant, 0, len(p.Variants)),
		Price: toV2Money(p.Price), Stock: p.Stock, InStock: p.Stock > 0, Sustainability: sus,
		Version: p.Version, CreatedAt: rfc3339(p.CreatedAt), UpdatedAt: rfc3339(p.UpdatedAt), Images: []v2Image{}}
	for _, v := range p.Variants {
		out.Variants = append(out.Variants, toV2Variant(v))
	}
	return out
}

type v2ProductPage struct {
	Items      []v2Product `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// noQueryParams refuses a request with any query parameter (400 naming
// it), after the v2 query rules of v2Query.
func noQueryParams(c *fiber.Ctx) error {
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	return onlyParams(q)
}

// onlyParams refuses query parameters outside allowed (v2 is strict).
func onlyParams(q url.Values, allowed ...string) error {
	var v ecolaura.Validator
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.Check(slices.Contains(allowed, k), k, "is not a known query parameter (known: %s)", strings.Join(allowed, ", "))
	}
	return v.Err()
}

func intParam(q url.Values, name string, def int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, ecolaura.Invalid(name, "must be an integer")
	}
	return n, nil
}

// limitParam reads the page size "limit": absent means the default (0),
// anything else must be an integer between 1 and most (0 is not a size).
func limitParam(q url.Values, most int) (int, error) {
	if !q.Has("limit") {
		return 0, nil
	}
	n, err := intParam(q, "limit", 0)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > most {
		return 0, ecolaura.Invalid("limit", "must be between 1 and %d", most)
	}
	return n, nil
}

func boolParam(q url.Values, name string) (*bool, error) {
	switch strings.ToLower(q.Get(name)) {
	case "":
		return nil, nil
	case "true", "1":
		b := true
		return &b, nil
	case "false", "0":
		b := false
		return &b, nil
	}
	return nil, ecolaura.Invalid(name, "must be true or false")
}

var v2ProductParams = []string{"status", "category", "q", "min_score", "max_footprint_kg", "recyclable", "biodegradable",
	"min_price", "max_price", "in_stock", "sort", "limit", "cursor"}

// parseV2ProductQuery turns the v2 list query into catalog parameters.
func parseV2ProductQuery(q url.Values, cur ecolaura.Currency) (catalog.ListParams, error) {
	var v ecolaura.Validator
	v.Merge("", onlyParams(q, v2ProductParams...))
	var p catalog.ListParams
	if st := q.Get("status"); st != "" {
		p.Filter.Status = ecolaura.ProductStatus(st)
		v.Check(p.Filter.Status.Valid(), "status", "must be draft, active or archived")
	}
	p.Filter.Category = q.Get("category")
	p.Filter.Query = strings.TrimSpace(q.Get("q"))
	if s := q.Get("min_score"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			v.Add("min_score", "must be an integer")
		} else {
			p.Filter.MinScore = &n
		}
	}
	if s := q.Get("max_footprint_kg"); s != "" {
		g, err := ecolaura.ParseFootprintKg(s)
		v.Merge("", renameField(err, "carbon_footprint", "max_footprint_kg"))
		if err == nil {
			p.Filter.MaxFootprint = &g
		}
	}
	var err error
	p.Filter.Recyclable, err = boolParam(q, "recyclable")
	v.Merge("", err)
	p.Filter.Biodegradable, err = boolParam(q, "biodegradable")
	v.Merge("", err)
	inStock, err := boolParam(q, "in_stock")
	v.Merge("", err)
	p.Filter.InStock = inStock != nil && *inStock
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"min_price", &p.Filter.MinPrice}, {"max_price", &p.Filter.MaxPrice}} {
		if s := q.Get(f.name); s != "" {
			// The one decimal rule and its messages, as for price.amount.
			m, err := ecolaura.ParsePrice(s, cur)
			if err != nil {
				v.Merge("", renameField(err, "amount", f.name))
			} else {
				a := m.Amount
				*f.dst = &a
			}
		}
	}
	p.Sort = ecolaura.ProductSort(q.Get("sort"))
	p.PageSize, err = limitParam(q, MaxPageSize)
	v.Merge("", err)
	p.Cursor = q.Get("cursor")
	return p, v.Err()
}

// renameField renames a field of a *ValidationError (service names to
// transport names).
func renameField(err error, from, to string) error {
	ve, ok := asValidation(err)
	if !ok {
		return err
	}
	out := &ecolaura.ValidationError{Fields: slices.Clone(ve.Fields)}
	for i := range out.Fields {
		if out.Fields[i].Field == from {
			out.Fields[i].Field = to
		}
	}
	return out
}

// renameFields renames the fields of a *ValidationError with rename (a
// service's names to the request's); other errors are returned unchanged.
func renameFields(err error, rename func(string) string) error {
	ve, ok := asValidation(err)
	if !ok {
		return err
	}
	var v ecolaura.Validator
	for _, f := range ve.Fields {
		v.Add(rename(f.Field), "%s", f.Message)
	}
	return v.Err()
}

func asValidation(err error) (*ecolaura.ValidationError, bool) {
	var ve *ecolaura.ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}

func (s *Server) v2ListProducts(c *fiber.Ctx) error {
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	params, err := parseV2ProductQuery(q, s.cfg.Currency)
	if err != nil {
		return err
	}
	if st := params.Filter.Status; st != "" && st != ecolaura.ProductActive && !principal(c).IsStaff() {
		return fmt.Errorf("only staff can list %s products: %w", st, ecolaura.ErrForbidden)
	}
	if params.Filter.Query != "" {
		if err := params.Filter.Validate(); err != nil {
			return renameField(err, "max_footprint", "max_footprint_kg") // refused before it costs anything
		}
		if err := s.expensiveRead(c); err != nil {
			return err
		}
	}
	return s.sendProducts(c, "v2:products", v2ListCacheParams(params), func() ([]ecolaura.ID, any, error) {
		res, err := s.svc.Catalog.List(c.UserContext(), principal(c), params)
		if err != nil {
			return nil, nil, renameField(renameField(err, "page_size", "limit"), "max_footprint", "max_footprint_kg")
		}
		out := v2ProductPage{Items: make([]v2Product, 0, len(res.Items))}
		ids := make([]ecolaura.ID, 0, len(res.Items))
		for _, p := range res.Items {
			out.Items = append(out.Items, toV2Product(p))
			ids = append(ids, p.ID)
		}
		items := make([]*v2Product, len(out.Items))
		for i := range out.Items {
			items[i] = &out.Items[i]
		}
		if err := s.withImages(c, items...); err != nil {
			return nil, nil, err
		}
		if res.NextCursor != "" {
			out.NextCursor = &res.NextCursor
		}
		return ids, out, nil
	}, nil)
}

// v2ListCacheParams is the canonical text of a list request's parameters,
// or "" (not cached) for a search, numeric bounds (prices, footprint) or a
// page after a cursor: their values are free-form, so caching them would
// let anyone fill the cache.
func v2ListCacheParams(p catalog.ListParams) string {
	f := p.Filter
	if f.Query != "" || p.Cursor != "" || f.MinPrice != nil || f.MaxPrice != nil || f.MaxFootprint != nil {
		return ""
	}
	p.PageSize = cmp.Or(p.PageSize, catalog.DefaultPageSize)
	p.Sort = cmp.Or(p.Sort, ecolaura.SortNewest)
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	return string(b)
}

func (s *Server) v2GetProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return s.sendProducts(c, "v2:product", cacheParams("id", string(id)), func() ([]ecolaura.ID, any, error) {
		p, err := s.svc.Catalog.Get(c.UserContext(), principal(c), id)
		if err != nil {
			return nil, nil, err
		}
		out := toV2Product(p)
		if err := s.withImages(c, &out); err != nil {
			return nil, nil, err
		}
		return []ecolaura.ID{p.ID}, out, nil
	}, nil)
}

type v2Alternative struct {
	Product           v2Product    `json:"product"`
	ScoreGain         int          `json:"score_gain"`
	FootprintSavingKg *json.Number `json:"footprint_saving_kg"`
}

func (s *Server) v2Alternatives(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	if err := onlyParams(q, "limit"); err != nil {
		return err
	}
	limit, err := limitParam(q, sustainability.MaxAlternatives)
	if err != nil {
		return err
	}
	return s.sendProducts(c, "v2:alternatives", cacheParams("id", string(id), "limit", strconv.Itoa(limit)), func() ([]ecolaura.ID, any, error) {
		alts, err := s.svc.Sustainability.Alternatives(c.UserContext(), principal(c), id, limit)
		if err != nil {
			return nil, nil, err
		}
		out := struct {
			Items []v2Alternative `json:"items"`
		}{Items: make([]v2Alternative, 0, len(alts))}
		ids := []ecolaura.ID{id}
		for _, a := range alts {
			item := v2Alternative{Product: toV2Product(a.Product), ScoreGain: a.ScoreGain}
			if a.FootprintKnown {
				n := kgNumber(a.FootprintSaving)
				item.FootprintSavingKg = &n
			}
			out.Items = append(out.Items, item)
			ids = append(ids, a.Product.ID)
		}
		items := make([]*v2Product, len(out.Items))
		for i := range out.Items {
			items[i] = &out.Items[i].Product
		}
		if err := s.withImages(c, items...); err != nil {
			return nil, nil, err
		}
		return ids, out, nil
	}, nil)
}

type v2Category struct {
	Category           string      `json:"category"`
	Products           int         `json:"products"`
	WithMetrics        int         `json:"with_metrics"`
	AverageScore       json.Number `json:"average_score"`
	AverageFootprintKg json.Number `json:"average_footprint_kg"`
}

func (s *Server) v2Categories(c *fiber.Ctx) error {
	if err := noQueryParams(c); err != nil {
		return err
	}
	stats, err := s.svc.Sustainability.CategoryAverages(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := struct {
		Items []v2Category `json:"items"`
	}{Items: make([]v2Category, 0, len(stats))}
	for _, st := range stats {
		out.Items = append(out.Items, v2Category{Category: st.Category, Products: st.Products, WithMetrics: st.WithMetrics,
			AverageScore:       json.Number(strconv.FormatFloat(st.AverageScore, 'f', 1, 64)),
			AverageFootprintKg: kgNumber(st.AverageFootprint)})
	}
	return sendCacheable(c, out)
}

// ---- staff writes ----

type v2MoneyInput struct {
	Amount   *decimalValue `json:"amount"`
	Currency *string       `json:"currency"`
}

type v2MetricsInput struct {
	CarbonFootprintKg *decimalValue `json:"carbon_footprint_kg"`
	Recyclable        *bool         `json:"recyclable"`
	Biodegradable     *bool         `json:"biodegradable"`
	RecycledContent   *int          `json:"recycled_content" decode:"nullable"`
	Certifications    []string      `json:"certifications"`
}

type v2ProductInput struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Category    *string         `json:"category"`
	Price       *v2MoneyInput   `json:"price"`
	Stock       *int            `json:"stock"`
	Score       *int            `json:"score"`
	Metrics     json.RawMessage `json:"metrics"`
	Status      *string         `json:"status"`
	// Options and Variants: on POST only (variants change through their
	// own endpoints).
	Options  []v2OptionInput  `json:"options"`
	Variants []v2VariantInput `json:"variants"`
	// Version makes a PATCH conditional on the stored version.
	Version *int64 `json:"version"`
}

// v2MetricsPatchInput is the metrics member of a v2 PATCH, a JSON Merge
// Patch (RFC 7396) of the stored metrics: an absent member is kept, null
// removes it (recycled_content becomes unknown, certifications empty).
type v2MetricsPatchInput struct {
	CarbonFootprintKg *decimalValue   `json:"carbon_footprint_kg"`
	Recyclable        *bool           `json:"recyclable"`
	Biodegradable     *bool           `json:"biodegradable"`
	RecycledContent   json.RawMessage `json:"recycled_content"`
	Certifications    json.RawMessage `json:"certifications"`
}

// v2ProductChange is a decoded v2 product write.
type v2ProductChange struct {
	in           v2ProductInput
	price        *ecolaura.Money
	metricSet    bool
	metrics      *ecolaura.SustainabilityMetrics // POST: the whole object
	metricsPatch *catalog.MetricsPatch           // PATCH: a merge patch
	status       ecolaura.ProductStatus
	options      []ecolaura.ProductOption
	variants     []catalog.VariantInput
}

// decodeV2Product decodes a v2 product body strictly and records every
// field error in errs. With required (POST) name, category and price must
// be present. An amount is parsed in the currency given with it (the
// service then refuses any but the shop's), else in the shop's currency
// cur. It returns only a malformed-JSON error.
func decodeV2Product(body []byte, cur ecolaura.Currency, required bool, errs *fieldErrors) (v2ProductChange, error) {
	var ch v2ProductChange
	if err := decodeBody(body, &ch.in, true, v2Dialect, errs); err != nil {
		return ch, err
	}
	if required {
		errs.require(ch.in.Name != nil, "name", v2Dialect)
		errs.require(ch.in.Category != nil, "category", v2Dialect)
		// With variants that all have a price, the product's price is the
		// first variant's.
		priced := len(ch.in.Variants) > 0
		for _, v := range ch.in.Variants {
			priced = priced && v.Price != nil
		}
		errs.require(ch.in.Price != nil || priced, "price", v2Dialect)
	}
	if pr := ch.in.Price; pr != nil {
		if m := decodeV2Price(pr, "price", cur, errs); m != nil {
			ch.price = m
		} else if pr.Amount != nil && !errs.covers("price.currency") {
			m := ecolaura.Money{} // the currency is still checked by the service's rules
			if pr.Currency != nil {
				m.Currency, _ = ecolaura.ParseCurrency(*pr.Currency)
			}
			ch.price = &m
		}
	}
	if st := ch.in.Status; st != nil {
		ch.status = ecolaura.ProductStatus(*st)
		if !ch.status.Valid() {
			errs.add("status", "must be draft, active or archived")
		}
	}
	if !required {
		if ch.in.Variants != nil {
			errs.add("variants", "change variants through /api/v2/products/{id}/variants")
		}
	}
	for i, o := range ch.in.Options {
		f := "options[" + strconv.Itoa(i) + "]"
		errs.require(o.Name != nil, f+".name", v2Dialect)
		errs.require(o.Values != nil, f+".values", v2Dialect)
		ch.options = append(ch.options, ecolaura.ProductOption{Name: deref(o.Name), Values: o.Values})
	}
	if len(ch.in.Variants) > 0 && ch.in.Stock != nil {
		errs.add("stock", "give each variant's stock (variants[].stock) instead")
	}
	if required && len(ch.in.Options) > 0 && len(ch.in.Variants) == 0 {
		errs.add("variants", "are required with options: one per combination of option values to sell")
	}
	for i, v := range ch.in.Variants {
		ch.variants = append(ch.variants, v.variantInput("variants["+strconv.Itoa(i)+"]", cur, errs))
	}
	if raw := ch.in.Metrics; raw != nil {
		ch.metricSet = true
		switch {
		case jsonKind(raw) == "null":
		case required:
			ch.metrics = decodeV2Metrics(raw, errs)
		default:
			ch.metricsPatch = decodeV2MetricsPatch(raw, errs)
		}
	}
	return ch, nil
}

// decodeV2Metrics decodes the metrics of a POST: a whole object, with
// carbon_footprint_kg required.
func decodeV2Metrics(raw json.RawMessage, errs *fieldErrors) *ecolaura.SustainabilityMetrics {
	var mi v2MetricsInput
	decodeInto(raw, &mi, "metrics", true, v2Dialect, errs)
	errs.require(mi.CarbonFootprintKg != nil, "metrics.carbon_footprint_kg", v2Dialect)
	var m ecolaura.SustainabilityMetrics
	if mi.CarbonFootprintKg != nil {
		g, err := ecolaura.ParseFootprintKg(mi.CarbonFootprintKg.text)
		_ = errs.mergeDomain(err, v2ProductField)
		m.CarbonFootprint = g
	}
	m.Recyclable, m.Biodegradable, m.RecycledContent = deref(mi.Recyclable), deref(mi.Biodegradable), mi.RecycledContent
	for _, c := range mi.Certifications {
		m.Certifications = append(m.Certifications, ecolaura.Certification(c))
	}
	return &m
}

// decodeV2MetricsPatch decodes the metrics of a PATCH as a JSON Merge
// Patch of the stored metrics (RFC 7396).
func decodeV2MetricsPatch(raw json.RawMessage, errs *fieldErrors) *catalog.MetricsPatch {
	var mi v2MetricsPatchInput
	decodeInto(raw, &mi, "metrics", true, v2Dialect, errs)
	mp := &catalog.MetricsPatch{Recyclable: mi.Recyclable, Biodegradable: mi.Biodegradable}
	if mi.CarbonFootprintKg != nil {
		g, err := ecolaura.ParseFootprintKg(mi.CarbonFootprintKg.text)
		_ = errs.mergeDomain(err, v2ProductField)
		mp.CarbonFootprint = &g
	}
	if r := mi.RecycledContent; r != nil {
		if jsonKind(r) == "null" {
			mp.ClearRecycledContent = true
		} else {
			var n *int
			decodeValue(r, reflect.ValueOf(&n).Elem(), "metrics.recycled_content", false, true, v2Dialect, errs)
			mp.RecycledContent = n
		}
	}
	if r := mi.Certifications; r != nil {
		certs := []ecolaura.Certification{}
		if jsonKind(r) != "null" {
			var names []string
			decodeValue(r, reflect.ValueOf(&names).Elem(), "metrics.certifications", false, true, v2Dialect, errs)
			for _, c := range names {
				certs = append(certs, ecolaura.Certification(c))
			}
		}
		mp.Certifications = &certs
	}
	return mp
}

// input is the change as a new product.
func (ch v2ProductChange) input() catalog.ProductInput {
	in := catalog.ProductInput{Name: deref(ch.in.Name), Description: deref(ch.in.Description), Category: deref(ch.in.Category),
		Stock: deref(ch.in.Stock), Score: deref(ch.in.Score), Metrics: ch.metrics,
		Status: ch.status, Options: ch.options, Variants: ch.variants}
	if ch.price != nil {
		in.Price = *ch.price
	}
	return in
}

// patch is the change of an existing product: absent fields are kept.
func (ch v2ProductChange) patch() catalog.Patch {
	pt := catalog.Patch{Name: ch.in.Name, Description: ch.in.Description, Category: ch.in.Category, Price: ch.price,
		Stock: ch.in.Stock, Score: ch.in.Score, ExpectedVersion: ch.in.Version}
	if ch.status != "" {
		st := ch.status
		pt.Status = &st
	}
	if ch.in.Options != nil {
		opts := append([]ecolaura.ProductOption{}, ch.options...)
		pt.Options = &opts
	}
	if ch.metricSet {
		pt.MetricsPatch, pt.ClearMetrics = ch.metricsPatch, ch.metricsPatch == nil
	}
	return pt
}

// v2ProductField names a catalog field error by the v2 request's field.
func v2ProductField(f string) string {
	switch {
	case f == "sustainability_score":
		return "score"
	case f == "carbon_footprint":
		return "metrics.carbon_footprint_kg"
	case f == "recycled_content", strings.HasPrefix(f, "certifications"):
		return "metrics." + f
	case strings.HasPrefix(f, "variants[") && strings.HasSuffix(f, "].footprint"):
		return f + "_kg"
	}
	return f
}

func (s *Server) v2CreateProduct(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	var errs fieldErrors
	ch, err := decodeV2Product(c.Body(), s.cfg.Currency, true, &errs)
	if err != nil {
		return err
	}
	in := ch.input()
	if len(errs.list) > 0 {
		if err := errs.mergeDomain(s.svc.Catalog.ValidateInput(in), v2ProductField); err != nil {
			return err
		}
		return errs.err()
	}
	p, err := s.svc.Catalog.Create(c.UserContext(), actor, in)
	if err != nil {
		return renameFields(err, v2ProductField)
	}
	c.Location(s.absURL(c, "/api/v2/products/"+string(p.ID)))
	out := toV2Product(p)
	if err := s.withImages(c, &out); err != nil {
		return err
	}
	return sendJSON(c, http.StatusCreated, out)
}

func (s *Server) v2UpdateProduct(c *fiber.Ctx) error {
	actor, id, err := staffPathID(c, "id")
	if err != nil {
		return err
	}
	var errs fieldErrors
	ch, err := decodeV2Product(c.Body(), s.cfg.Currency, false, &errs)
	if err != nil {
		return err
	}
	if len(errs.list) > 0 {
		if err := errs.mergeDomain(s.svc.Catalog.ValidatePatch(ch.patch()), v2ProductField); err != nil {
			return err
		}
		return errs.err()
	}
	p, err := s.svc.Catalog.Update(c.UserContext(), actor, id, ch.patch())
	if err != nil {
		return renameFields(err, v2ProductField)
	}
	out := toV2Product(p)
	if err := s.withImages(c, &out); err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, out)
}

func (s *Server) v2DeleteProduct(c *fiber.Ctx) error {
	return s.v1DeleteProduct(c)
}
