package httpapi

import (
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
	if s := q.Get("page_size"); s != "" {
		if n, perr := strconv.Atoi(s); perr == nil && n > 0 {
			size = min(n, MaxPageSize)
		}
	}
	if s := q.Get("page"); s != "" && s != "last" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 {
			return 0, 0, invalidPage()
		}
		page = n
	}
	return page, size, nil
}

func invalidPage() *httpError { return newHTTPError(http.StatusNotFound, "not-found", "Invalid page.") }

// pageLinks builds DRF's absolute next/previous links: previous of page 2
// drops the page parameter, as DRF does.
func (s *Server) pageLinks(c *fiber.Ctx, q url.Values, page int, hasNext bool) (next, prev *string) {
	base := s.requestURL(c)
	link := func(p int) *string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		if p <= 1 {
			v.Del("page")
		} else {
			v.Set("page", strconv.Itoa(p))
		}
		s := base
		if enc := v.Encode(); enc != "" {
			s += "?" + enc
		}
		return &s
	}
	if hasNext {
		next = link(page + 1)
	}
	if page > 1 {
		prev = link(page - 1)
	}
	return next, prev
}

func (s *Server) v1ListProducts(c *fiber.Ctx) error {
	q := queryValues(c)
	page, size, err := v1PageParams(q)
	if err != nil {
		return err
	}
	var f ecolaura.ProductFilter
	if cat := q.Get("category"); cat != "" {
		f.Category = cat
		if !ecolaura.ValidCategory(cat) {
			// DRF's filter would simply match nothing.
			return sendCacheable(c, v1Page[v1Product]{Results: []v1Product{}})
		}
	}
	ctx, actor := c.UserContext(), principal(c)
	return s.sendProducts(c, "v1:products", func() ([]ecolaura.ID, any, error) {
		page := page
		if q.Get("page") == "last" {
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
		out.Next, out.Previous = s.pageLinks(c, q, page, res.Page.HasMore)
		return ids, out, nil
	})
}

func (s *Server) v1GetProduct(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return s.sendProducts(c, "v1:product", func() ([]ecolaura.ID, any, error) {
		p, err := s.svc.Catalog.Get(c.UserContext(), principal(c), id)
		if err != nil {
			return nil, nil, err
		}
		return []ecolaura.ID{p.ID}, toV1Product(p), nil
	})
}

// v1ProductInput is the writable part of a v1 product. Every field is a
// pointer so that PATCH can tell "absent" from "zero".
type v1ProductInput struct {
	Name                 *string         `json:"name"`
	Description          *string         `json:"description"`
	Category             *string         `json:"category"`
	Price                *decimalValue   `json:"price"`
	Stock                *int            `json:"stock"`
	SustainabilityScore  *int            `json:"sustainability_score"`
	SustainabilityMetric json.RawMessage `json:"sustainability_metric"`
	// Read-only fields DRF ignores on input.
	ID        json.RawMessage `json:"id"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

type v1MetricInput struct {
	CarbonFootprint *decimalValue `json:"carbon_footprint"`
	Recyclable      *bool         `json:"recyclable"`
	Biodegradable   *bool         `json:"biodegradable"`
}

// v1ProductChange is a decoded v1 product write.
type v1ProductChange struct {
	in v1ProductInput
	// metricSet: the field was present; metric nil with metricSet means null.
	metricSet bool
	metric    *v1MetricInput
	price     *ecolaura.Money
}

// decodeV1Product decodes and checks a v1 product body. With partial (PATCH)
// absent fields are allowed; otherwise name, category and price are required.
func decodeV1Product(body []byte, cur ecolaura.Currency, partial bool) (v1ProductChange, error) {
	var ch v1ProductChange
	if err := decodeJSON(body, &ch.in, false); err != nil {
		return ch, err
	}
	var v ecolaura.Validator
	if !partial {
		v.Check(ch.in.Name != nil, "name", "This field is required.")
		v.Check(ch.in.Category != nil, "category", "This field is required.")
		v.Check(ch.in.Price != nil, "price", "This field is required.")
	}
	if ch.in.Price != nil {
		m, err := ecolaura.ParsePrice(string(*ch.in.Price), cur)
		if err != nil {
			v.Add("price", "A valid price is required: a decimal number between 0 and %s with at most %d decimal places.",
				ecolaura.Money{Amount: ecolaura.MaxPriceMinor, Currency: cur}.Decimal(), cur.Exponent())
		} else {
			ch.price = &m
		}
	}
	if len(ch.in.SustainabilityMetric) > 0 {
		ch.metricSet = true
		if string(ch.in.SustainabilityMetric) != "null" {
			var m v1MetricInput
			if err := decodeJSON(ch.in.SustainabilityMetric, &m, false); err != nil {
				v.Merge("sustainability_metric", err)
			} else {
				ch.metric = &m
				if m.CarbonFootprint == nil {
					v.Add("sustainability_metric.carbon_footprint", "This field is required.")
				} else if _, err := parseKg("carbon_footprint", string(*m.CarbonFootprint)); err != nil {
					v.Merge("sustainability_metric", err)
				}
			}
		}
	}
	return ch, v.Err()
}

// metrics merges the v1 metric into the product's existing metrics (v1 has
// no recycled content nor certifications; they are kept).
func (ch v1ProductChange) metrics(existing *ecolaura.SustainabilityMetrics) *ecolaura.SustainabilityMetrics {
	if ch.metric == nil {
		return nil
	}
	var m ecolaura.SustainabilityMetrics
	if existing != nil {
		m = existing.Clone()
	}
	m.CarbonFootprint, _ = parseKg("carbon_footprint", string(*ch.metric.CarbonFootprint))
	if ch.metric.Recyclable != nil {
		m.Recyclable = *ch.metric.Recyclable
	}
	if ch.metric.Biodegradable != nil {
		m.Biodegradable = *ch.metric.Biodegradable
	}
	return &m
}

func (ch v1ProductChange) input() catalog.ProductInput {
	in := catalog.ProductInput{Name: deref(ch.in.Name), Description: deref(ch.in.Description), Category: deref(ch.in.Category), Stock: deref(ch.in.Stock), Score: deref(ch.in.SustainabilityScore)}
	if ch.price != nil {
		in.Price = *ch.price
	}
	return in
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (s *Server) v1CreateProduct(c *fiber.Ctx) error {
	if err := principal(c).RequireStaff(); err != nil {
		return err
	}
	ch, err := decodeV1Product(c.Body(), s.cfg.Currency, false)
	if err != nil {
		return withProductRules(err, ch.input(), s.cfg.Currency)
	}
	in := ch.input()
	in.Metrics = ch.metrics(nil)
	p, err := s.svc.Catalog.Create(c.UserContext(), principal(c), in)
	if err != nil {
		return err
	}
	c.Location(s.absURL(c, "/api/v1/products/"+string(p.ID)+"/"))
	return sendJSON(c, http.StatusCreated, toV1Product(p))
}

// v1WriteProduct serves PUT (full) and PATCH (partial).
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
		ch, err := decodeV1Product(c.Body(), s.cfg.Currency, partial)
		if err != nil {
			if !partial {
				return withProductRules(err, ch.input(), s.cfg.Currency)
			}
			return err
		}
		ctx := c.UserContext()
		var expected *int64
		var existing *ecolaura.SustainabilityMetrics
		if ch.metric != nil || (!partial && !ch.metricSet) {
			// Merge the v1 metric with what v1 cannot express (or keep the
			// metrics a PUT did not mention), on the version it was read at.
			cur, err := s.svc.Catalog.Get(ctx, actor, id)
			if err != nil {
				return err
			}
			existing, expected = cur.Metrics, &cur.Version
		}
		var p ecolaura.Product
		if partial {
			patch := catalog.Patch{Name: ch.in.Name, Description: ch.in.Description, Category: ch.in.Category, Price: ch.price,
				Stock: ch.in.Stock, Score: ch.in.SustainabilityScore, ExpectedVersion: expected}
			if ch.metricSet {
				patch.Metrics = ch.metrics(existing)
				patch.ClearMetrics = ch.metric == nil
			}
			p, err = s.svc.Catalog.Update(ctx, actor, id, patch)
		} else {
			in := ch.input()
			in.Metrics = ch.metrics(existing)
			if !ch.metricSet && existing != nil {
				m := existing.Clone()
				in.Metrics = &m
			}
			p, err = s.svc.Catalog.Replace(ctx, actor, id, catalog.Replacement{ProductInput: in, ExpectedVersion: expected})
		}
		if err != nil {
			return err
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

// withProductRules adds the domain's validation of the other fields to a
// decoding *ValidationError, so a client sees every problem at once, as a
// DRF serializer reports them.
func withProductRules(err error, in catalog.ProductInput, cur ecolaura.Currency) error {
	ve, ok := asValidation(err)
	if !ok {
		return err
	}
	p := ecolaura.Product{Name: in.Name, Description: in.Description, Category: in.Category, Price: ecolaura.Money{Currency: cur}, Stock: in.Stock, Score: in.Score}
	p.Normalize()
	var v ecolaura.Validator
	v.Merge("", ve)
	seen := map[string]bool{}
	for _, f := range ve.Fields {
		seen[f.Field] = true
	}
	if perr, ok := asValidation(p.Validate()); ok {
		for _, f := range perr.Fields {
			if !seen[f.Field] && !strings.HasPrefix(f.Field, "price") {
				v.Add(f.Field, "%s", f.Message)
			}
		}
	}
	return v.Err()
}
