package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/catalog"
)

// v1Product is a product in the original DRF serializer's shape.
type v1Product struct {
	ID                   ecolaura.ID `json:"id"`
	Name                 string      `json:"name"`
	Description          string      `json:"description"`
	Category             string      `json:"category"`
	Price                string      `json:"price"`
	Stock                int         `json:"stock"`
	SustainabilityScore  int         `json:"sustainability_score"`
	SustainabilityMetric *v1Metric   `json:"sustainability_metric"`
	CreatedAt            string      `json:"created_at"`
	UpdatedAt            string      `json:"updated_at"`
}

type v1Metric struct {
	CarbonFootprint json.Number `json:"carbon_footprint"`
	Recyclable      bool        `json:"recyclable"`
	Biodegradable   bool        `json:"biodegradable"`
}

func toV1Product(p ecolaura.Product) v1Product {
	out := v1Product{
		ID: p.ID, Name: p.Name, Description: p.Description, Category: p.Category,
		Price: p.Price.Decimal(), Stock: p.Stock, SustainabilityScore: p.Score,
		CreatedAt: rfc3339(p.CreatedAt), UpdatedAt: rfc3339(p.UpdatedAt),
	}
	if m := p.Metrics; m != nil {
		out.SustainabilityMetric = &v1Metric{CarbonFootprint: kgNumber(m.CarbonFootprint), Recyclable: m.Recyclable, Biodegradable: m.Biodegradable}
	}
	return out
}

// v1Page is DRF's PageNumberPagination envelope.
type v1Page[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// v1PageParams reads DRF's page and page_size parameters: a missing or
// malformed page_size means the default, a larger one the maximum; a
// malformed page is "Invalid page." (404).
func v1PageParams(q url.Values) (page, size int, err error) {
	page, size = 1, DefaultPageSize
	if s := v1Param(q, "page_size"); s != "" {
		if n, perr := strconv.Atoi(s); perr == nil && n > 0 {
			size = min(n, MaxPageSize)
		}
	}
	if s := v1Param(q, "page"); s != "" && s != "last" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 {
			return 0, 0, invalidPage()
		}
		page = n
	}
	return page, size, nil
}

func invalidPage() *httpError { return newHTTPError(http.StatusNotFound, "not-found", "Invalid page.") }

// pageLink builds DRF's absolute link to page p of the current request:
// every query parameter kept, page set (dropped for page 1, as DRF does).
func (s *Server) pageLink(c *fiber.Ctx, q url.Values, p int) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	if p <= 1 {
		v.Del("page")
	} else {
		v.Set("page", strconv.Itoa(p))
	}
	link := s.requestURL(c)
	if enc := v.Encode(); enc != "" {
		link += "?" + enc
	}
	return link
}

// pageLinks builds DRF's next/previous links of page.
func (s *Server) pageLinks(c *fiber.Ctx, q url.Values, page int, hasNext bool) (next, prev *string) {
	if hasNext {
		l := s.pageLink(c, q, page+1)
		next = &l
	}
	if page > 1 {
		l := s.pageLink(c, q, page-1)
		prev = &l
	}
	return next, prev
}

// linkPlaceholder stands for the link to page p in a rendered v1 page: the
// links depend on the request (its base URL and its parameters, unknown
// ones included, as DRF keeps them), so the cached body holds placeholders
// that fillPageLinks replaces for each request.
func linkPlaceholder(p int) *string {
	s := linkPlaceholderPrefix + strconv.Itoa(p)
	return &s
}

const linkPlaceholderPrefix = "ecolaura:page:"

// fillPageLinks replaces the placeholders of a rendered v1 page (they come
// before "results", so product text is never touched) by the request's
// links.
func (s *Server) fillPageLinks(c *fiber.Ctx, q url.Values) finishFunc {
	return func(body []byte) ([]byte, []byte) {
		end := bytes.Index(body, []byte(`"results":`))
		if end < 0 {
			return body, nil
		}
		head, rest := body[:end], body[end:]
		out := make([]byte, 0, len(body)+256)
		var added []byte
		marker := []byte(`"` + linkPlaceholderPrefix)
		for {
			i := bytes.Index(head, marker)
			if i < 0 {
				break
			}
			j := bytes.IndexByte(head[i+len(marker):], '"')
			if j < 0 {
				break
			}
			p, err := strconv.Atoi(string(head[i+len(marker) : i+len(marker)+j]))
			if err != nil {
				break
			}
			link, _ := json.Marshal(s.pageLink(c, q, p)) // a string: cannot fail
			out = append(append(out, head[:i]...), link...)
			added = append(added, link...)
			head = head[i+len(marker)+j+1:]
		}
		return append(append(out, head...), rest...), added
	}
}

func (s *Server) v1ListProducts(c *fiber.Ctx) error {
	q := queryValues(c)
	page, size, err := v1PageParams(q)
	if err != nil {
		return err
	}
	var f ecolaura.ProductFilter
	if cat := v1Param(q, "category"); cat != "" {
		f.Category = cat
		if !ecolaura.ValidCategory(cat) {
			// DRF's filter would simply match nothing.
			return sendCacheable(c, v1Page[v1Product]{Results: []v1Product{}})
		}
	}
	if v1Param(q, "page") == "last" || (page-1)*size >= DeepPageOffset {
		if err := s.expensiveRead(c); err != nil {
			return err
		}
	}
	ctx, actor := c.UserContext(), principal(c)
	pageParam := strconv.Itoa(page)
	if v1Param(q, "page") == "last" {
		pageParam = "last"
	}
	params := cacheParams("category", f.Category, "page", pageParam, "page_size", strconv.Itoa(size))
	return s.sendProducts(c, "v1:products", params, func() ([]ecolaura.ID, any, error) {
		page := page
		if v1Param(q, "page") == "last" {
			first, err := s.svc.Catalog.List(ctx, actor, catalog.ListParams{Filter: f, PageSize: size, Page: 1})
			if err != nil {
				return nil, nil, err
			}
			page = max(first.Page.Pages, 1)
		}
		res, err := s.svc.Catalog.List(ctx, actor, catalog.ListParams{Filter: f, PageSize: size, Page: page})
		if err != nil {
			return nil, nil, err
		}
		if page > 1 && len(res.Items) == 0 {
			return nil, nil, invalidPage()
		}
		out := v1Page[v1Product]{Count: res.Total, Results: make([]v1Product, 0, len(res.Items))}
		ids := make([]ecolaura.ID, 0, len(res.Items))
		for _, p := range res.Items {
			out.Results = append(out.Results, toV1Product(p))
			ids = append(ids, p.ID)
		}
		if res.Page.HasMore {
			out.Next = linkPlaceholder(page + 1)
		}
		if page > 1 {
			out.Previous = linkPlaceholder(page - 1)
		}
		return ids, out, nil
	}, s.fillPageLinks(c, q))
}

func (s *Server) v1GetProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return s.sendProducts(c, "v1:product", cacheParams("id", string(id)), func() ([]ecolaura.ID, any, error) {
		p, err := s.svc.Catalog.Get(c.UserContext(), principal(c), id)
		if err != nil {
			return nil, nil, err
		}
		return []ecolaura.ID{p.ID}, toV1Product(p), nil
	}, nil)
}

// v1ProductInput is the writable part of a v1 product. Every field is a
// pointer so that an absent field can be told from a zero one; the
// read-only fields (id, created_at, updated_at) are ignored like every other
// field v1 does not know, as DRF does.
type v1ProductInput struct {
	Name                 *string         `json:"name"`
	Description          *string         `json:"description"`
	Category             *string         `json:"category"`
	Price                *decimalValue   `json:"price"`
	Stock                *drfInteger     `json:"stock"`
	SustainabilityScore  *drfInteger     `json:"sustainability_score"`
	SustainabilityMetric json.RawMessage `json:"sustainability_metric"`
}

type v1MetricInput struct {
	CarbonFootprint *decimalValue `json:"carbon_footprint"`
	Recyclable      *bool         `json:"recyclable"`
	Biodegradable   *bool         `json:"biodegradable"`
}

// The v1 number fields, as the original DRF serializer declared them:
// price DecimalField(max_digits=10, decimal_places=2), the footprint in kg
// with 3 decimal places (whole grams), stock and score IntegerFields with
// the model's bounds.
var (
	v1PriceField     = drfDecimalField{maxDigits: 10, places: 2, lo: 0, hi: ecolaura.MaxPriceMinor}
	v1FootprintField = drfDecimalField{places: ecolaura.FootprintPlaces, lo: 0, hi: int64(ecolaura.MaxFootprint)}
)

// v1ProductChange is a decoded v1 product write.
type v1ProductChange struct {
	in v1ProductInput
	// stock and score are the decoded integers (nil: absent or invalid).
	stock, score *int
	// metricSet: the field was present; metric nil with metricSet means null.
	metricSet bool
	metric    *v1MetricInput
	footprint ecolaura.CO2e
	price     *ecolaura.Money
}

// decodeV1Product decodes a v1 product body and records every field error
// in errs, with DRF's messages. With required (POST, and PUT, which DRF
// validates with partial=False) name, category and price must be present;
// the other fields are optional. It returns only a malformed-JSON error.
func decodeV1Product(body []byte, cur ecolaura.Currency, required bool, errs *fieldErrors) (v1ProductChange, error) {
	var ch v1ProductChange
	if err := decodeBody(body, &ch.in, false, v1Dialect, errs); err != nil {
		return ch, err
	}
	if required {
		errs.require(ch.in.Name != nil, "name", v1Dialect)
		errs.require(ch.in.Category != nil, "category", v1Dialect)
		errs.require(ch.in.Price != nil, "price", v1Dialect)
	}
	if ch.in.Price != nil {
		field := v1PriceField
		field.places = cur.Exponent() // 10 digits in all: MaxPriceMinor in any currency
		if n, msg := field.parse(*ch.in.Price); msg != "" {
			errs.add("price", msg)
		} else {
			m := ecolaura.NewMoney(n, cur)
			ch.price = &m
		}
	}
	ch.stock = v1IntegerField(ch.in.Stock, "stock", 0, ecolaura.MaxStock, errs)
	ch.score = v1IntegerField(ch.in.SustainabilityScore, "sustainability_score", 0, 100, errs)
	if raw := ch.in.SustainabilityMetric; raw != nil {
		ch.metricSet = true
		if jsonKind(raw) != "null" {
			var m v1MetricInput
			before := len(errs.list)
			decodeInto(raw, &m, "sustainability_metric", false, v1Dialect, errs)
			errs.require(m.CarbonFootprint != nil, "sustainability_metric.carbon_footprint", v1Dialect)
			if m.CarbonFootprint != nil {
				if g, msg := v1FootprintField.parse(*m.CarbonFootprint); msg != "" {
					errs.add("sustainability_metric.carbon_footprint", msg)
				} else {
					ch.footprint = ecolaura.CO2e(g)
				}
			}
			if len(errs.list) == before {
				ch.metric = &m
			}
		}
	}
	return ch, nil
}

// v1IntegerField checks a decoded DRF integer against its bounds, records
// DRF's message, and returns the value (nil when absent or invalid).
func v1IntegerField(v *drfInteger, field string, lo, hi int64, errs *fieldErrors) *int {
	if v == nil {
		return nil
	}
	if msg := drfIntegerProblem(v.n, lo, hi); msg != "" {
		errs.add(field, msg)
		return nil
	}
	n := int(v.n)
	return &n
}

// decimalText formats n units of 10^-places as a decimal ("99999999.99").
func decimalText(n int64, places int) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	if places > 0 {
		s = strings.Repeat("0", max(0, places+1-len(s))) + s
		s = s[:len(s)-places] + "." + s[len(s)-places:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// metrics is the v1 metric as a whole new metrics object (a POST).
func (ch v1ProductChange) metrics() *ecolaura.SustainabilityMetrics {
	if ch.metric == nil {
		return nil
	}
	return &ecolaura.SustainabilityMetrics{CarbonFootprint: ch.footprint,
		Recyclable: deref(ch.metric.Recyclable), Biodegradable: deref(ch.metric.Biodegradable)}
}

// metricsPatch is the v1 metric as a change of the stored metrics: the
// fields it sends, applied by the catalog to the stored product inside the
// write's transaction; what v1 cannot express (recycled content,
// certifications) and the flags it omits are kept.
func (ch v1ProductChange) metricsPatch() *catalog.MetricsPatch {
	if ch.metric == nil {
		return nil
	}
	fp := ch.footprint
	return &catalog.MetricsPatch{CarbonFootprint: &fp, Recyclable: ch.metric.Recyclable, Biodegradable: ch.metric.Biodegradable}
}

// input is the change as a new product: absent optional fields get their
// defaults (empty description, no stock, score 0, no metrics).
func (ch v1ProductChange) input() catalog.ProductInput {
	in := catalog.ProductInput{Name: deref(ch.in.Name), Description: deref(ch.in.Description), Category: deref(ch.in.Category),
		Stock: deref(ch.stock), Score: deref(ch.score), Metrics: ch.metrics()}
	if ch.price != nil {
		in.Price = *ch.price
	}
	return in
}

// patch is the change of an existing product: absent fields are kept.
func (ch v1ProductChange) patch() catalog.Patch {
	pt := catalog.Patch{Name: ch.in.Name, Description: ch.in.Description, Category: ch.in.Category, Price: ch.price,
		Stock: ch.stock, Score: ch.score}
	if ch.metricSet {
		pt.MetricsPatch = ch.metricsPatch()
		pt.ClearMetrics = ch.metric == nil
	}
	return pt
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// v1ProductField names a catalog field error by the v1 request's field.
func v1ProductField(f string) string {
	switch {
	case f == "carbon_footprint":
		return "sustainability_metric.carbon_footprint"
	case f == "recycled_content", strings.HasPrefix(f, "certifications"):
		return "sustainability_metric"
	case strings.HasPrefix(f, "price."):
		return "price"
	}
	return f
}

func (s *Server) v1CreateProduct(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	var errs fieldErrors
	ch, err := decodeV1Product(c.Body(), s.cfg.Currency, true, &errs)
	if err != nil {
		return err
	}
	in := ch.input()
	if len(errs.list) > 0 {
		if err := errs.mergeDomain(s.svc.Catalog.ValidateInput(in), v1ProductField); err != nil {
			return err
		}
		return errs.err()
	}
	p, err := s.svc.Catalog.Create(c.UserContext(), actor, in)
	if err != nil {
		return renameFields(err, v1ProductField)
	}
	c.Location(s.absURL(c, "/api/v1/products/"+string(p.ID)+"/"))
	return sendJSON(c, http.StatusCreated, toV1Product(p))
}

// v1WriteProduct serves PUT and PATCH with DRF's semantics: both change
// only the fields they send and keep the others; PUT (partial=False)
// requires the required fields (name, category, price), PATCH none.
func (s *Server) v1WriteProduct(partial bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		actor := principal(c)
		if err := actor.RequireStaff(); err != nil {
			return err
		}
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var errs fieldErrors
		ch, err := decodeV1Product(c.Body(), s.cfg.Currency, !partial, &errs)
		if err != nil {
			return err
		}
		if len(errs.list) > 0 {
			if err := errs.mergeDomain(s.svc.Catalog.ValidatePatch(ch.patch()), v1ProductField); err != nil {
				return err
			}
			return errs.err()
		}
		p, err := s.svc.Catalog.Update(c.UserContext(), actor, id, ch.patch())
		if err != nil {
			return renameFields(err, v1ProductField)
		}
		return sendJSON(c, http.StatusOK, toV1Product(p))
	}
}

func (s *Server) v1DeleteProduct(c *fiber.Ctx) error {
	if err := principal(c).RequireStaff(); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Catalog.Delete(c.UserContext(), principal(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
