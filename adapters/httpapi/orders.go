package httpapi

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/orders"
)

// HeaderIdempotencyKey is the IETF Idempotency-Key request header.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotencyTTL is how long a v2 checkout response is kept for replays.
const idempotencyTTL = 24 * time.Hour

// ---- v1 (DRF) ----

type v1OrderItem struct {
	Product   ecolaura.ID `json:"product"`
	Name      string      `json:"name"`
	Quantity  int         `json:"quantity"`
	UnitPrice string      `json:"unit_price"`
	Total     string      `json:"total"`
}

type v1Order struct {
	ID              ecolaura.ID   `json:"id"`
	Status          string        `json:"status"`
	Items           []v1OrderItem `json:"items"`
	Subtotal        string        `json:"subtotal"`
	CarbonOffset    *string       `json:"carbon_offset"`
	Total           string        `json:"total"`
	CarbonFootprint json.Number   `json:"carbon_footprint"`
	CreatedAt       string        `json:"created_at"`
	UpdatedAt       string        `json:"updated_at"`
}

func toV1Order(o ecolaura.Order) v1Order {
	out := v1Order{ID: o.ID, Status: string(o.Status), Items: make([]v1OrderItem, 0, len(o.Lines)),
		Subtotal: o.Subtotal.Decimal(), Total: o.Total.Decimal(), CarbonFootprint: kgNumber(o.Footprint),
		CreatedAt: rfc3339(o.CreatedAt), UpdatedAt: rfc3339(o.UpdatedAt)}
	for _, l := range o.Lines {
		out.Items = append(out.Items, v1OrderItem{Product: l.ProductID, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice.Decimal(), Total: l.Total.Decimal()})
	}
	if o.Offset != nil {
		p := o.Offset.Price.Decimal()
		out.CarbonOffset = &p
	}
	return out
}

type v1OrderItemInput struct {
	Product  *string     `json:"product"`
	Quantity *drfInteger `json:"quantity"`
}

type v1OrderInput struct {
	Items        []v1OrderItemInput `json:"items"`
	CarbonOffset *bool              `json:"carbon_offset"`
}

// decodeV1Order decodes {"items": [{"product", "quantity"}], "carbon_offset"}
// with the Idempotency-Key header's key, and reports every problem at once,
// each list item's under its index ("items[1].quantity", rendered as DRF's
// list of per-item objects): missing and mistyped fields, and the checkout
// rules (orders.CheckoutRequest.Validate) for the fields that decoded.
func decodeV1Order(body []byte, key string) (orders.CheckoutRequest, error) {
	var in v1OrderInput
	var errs fieldErrors
	if err := decodeBody(body, &in, false, v1Dialect, &errs); err != nil {
		return orders.CheckoutRequest{}, err
	}
	errs.require(in.Items != nil, "items", v1Dialect)
	req := orders.CheckoutRequest{CarbonOffset: deref(in.CarbonOffset), IdempotencyKey: key, Lines: make([]orders.LineRequest, 0, len(in.Items))}
	for i, it := range in.Items {
		f := "items[" + strconv.Itoa(i) + "]"
		errs.require(it.Product != nil, f+".product", v1Dialect)
		errs.require(it.Quantity != nil, f+".quantity", v1Dialect)
		qty := v1IntegerField(it.Quantity, f+".quantity", 1, ecolaura.MaxLineQuantity, &errs)
		req.Lines = append(req.Lines, orders.LineRequest{ProductID: ecolaura.ID(deref(it.Product)), Quantity: deref(qty)})
	}
	if len(errs.list) > 0 {
		if err := errs.mergeDomain(v1OrderErrors(req.Validate()), nil); err != nil {
			return req, err
		}
	}
	return req, errs.err()
}

// v1OrderField names a checkout field error by the v1 request's field.
func v1OrderField(name string) string {
	if rest, ok := strings.CutPrefix(name, "lines"); ok {
		name = "items" + rest
	}
	name = strings.Replace(name, "].product_id", "].product", 1)
	return orderField(name)
}

// v1OrderErrors presents a checkout error in v1's terms: the fields and the
// fields its messages mention ("duplicate of lines[0]") by their v1 names
// (items[0], product). (Quantities are checked with DRF's words when the
// request is decoded.) Other errors are returned unchanged.
func v1OrderErrors(err error) error {
	ve, ok := asValidation(err)
	if !ok {
		return err
	}
	var v ecolaura.Validator
	for _, f := range ve.Fields {
		name, msg := v1OrderField(f.Field), f.Message
		msg = v1LineRef.ReplaceAllStringFunc(msg, v1OrderField)
		v.Add(name, "%s", msg)
	}
	return v.Err()
}

// v1LineRef matches a reference to a checkout line in a message.
var v1LineRef = regexp.MustCompile(`lines\[\d+\](\.product_id)?`)

// orderField names the idempotency key by its header (both versions).
func orderField(name string) string {
	if name == "idempotency_key" {
		return HeaderIdempotencyKey
	}
	return name
}

func (s *Server) v1ListOrders(c *fiber.Ctx) error {
	q := queryValues(c)
	page, size, err := v1PageParams(q)
	if err != nil {
		return err
	}
	res, err := s.svc.Orders.List(c.UserContext(), principal(c), orders.ListParams{Page: page, PageSize: size})
	if err != nil {
		return err
	}
	if page > 1 && len(res.Items) == 0 {
		return invalidPage()
	}
	out := v1Page[v1Order]{Count: res.Total, Results: make([]v1Order, 0, len(res.Items))}
	for _, o := range res.Items {
		out.Results = append(out.Results, toV1Order(o))
	}
	out.Next, out.Previous = s.pageLinks(c, q, page, res.HasMore)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

func (s *Server) v1CreateOrder(c *fiber.Ctx) error {
	if err := principal(c).RequireAuthenticated(); err != nil {
		return err
	}
	req, err := decodeV1Order(c.Body(), strings.Clone(c.Get(HeaderIdempotencyKey)))
	if err != nil {
		return err
	}
	res, err := s.svc.Orders.Checkout(c.UserContext(), principal(c), req)
	if err != nil {
		return v1OrderErrors(err)
	}
	if !res.Replayed {
		s.metrics.ordersPlaced.Inc()
	}
	c.Location(s.absURL(c, "/api/v1/orders/"+string(res.Order.ID)+"/"))
	return sendJSON(c, http.StatusCreated, toV1Order(res.Order))
}

func (s *Server) v1GetOrder(c *fiber.Ctx) error {
	if err := principal(c).RequireAuthenticated(); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	o, err := s.svc.Orders.Get(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, toV1Order(o))
}

func (s *Server) v1CancelOrder(c *fiber.Ctx) error {
	if err := principal(c).RequireAuthenticated(); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	o, err := s.svc.Orders.Cancel(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, toV1Order(o))
}

// ---- v2 ----

type v2OrderLine struct {
	ProductID       ecolaura.ID `json:"product_id"`
	VariantID       ecolaura.ID `json:"variant_id"`
	SKU             *string     `json:"sku"`
	Name            string      `json:"name"`
	Quantity        int         `json:"quantity"`
	UnitPrice       v2Money     `json:"unit_price"`
	Total           v2Money     `json:"total"`
	UnitFootprintKg json.Number `json:"unit_footprint_kg"`
}

type v2Offset struct {
	FootprintKg json.Number `json:"footprint_kg"`
	Price       v2Money     `json:"price"`
}

type v2Order struct {
	ID                 ecolaura.ID   `json:"id"`
	UserID             *ecolaura.ID  `json:"user_id"`
	Status             string        `json:"status"`
	Lines              []v2OrderLine `json:"lines"`
	Subtotal           v2Money       `json:"subtotal"`
	CarbonOffset       *v2Offset     `json:"carbon_offset"`
	Total              v2Money       `json:"total"`
	FootprintKg        json.Number   `json:"footprint_kg"`
	ConfirmationSentAt *string       `json:"confirmation_sent_at"`
	ShippingAddress    *v2Address    `json:"shipping_address"`
	BillingAddress     *v2Address    `json:"billing_address"`
	Shipping           *v2OrderShip  `json:"shipping"`
	Tax                *v2OrderTax   `json:"tax"`
	CreatedAt          string        `json:"created_at"`
	UpdatedAt          string        `json:"updated_at"`
	Version            int64         `json:"version"`
}

// v2OrderShip is the delivery an order was placed with.
type v2OrderShip struct {
	MethodID   string  `json:"method_id"`
	Method     string  `json:"method"`
	Carrier    string  `json:"carrier"`
	Price      v2Money `json:"price"`
	FootprintG int64   `json:"footprint_g"`
}

type v2OrderTax struct {
	Mode  string  `json:"mode"`
	Total v2Money `json:"total"`
}

func toV2Order(o ecolaura.Order) v2Order {
	out := v2Order{ID: o.ID, Status: string(o.Status), Lines: make([]v2OrderLine, 0, len(o.Lines)),
		Subtotal: toV2Money(o.Subtotal), Total: toV2Money(o.Total), FootprintKg: kgNumber(o.Footprint),
		CreatedAt: rfc3339(o.CreatedAt), UpdatedAt: rfc3339(o.UpdatedAt), Version: o.Version}
	for _, l := range o.Lines {
		line := v2OrderLine{ProductID: l.ProductID, VariantID: cmp.Or(l.VariantID, l.ProductID), Name: l.Name, Quantity: l.Quantity,
			UnitPrice: toV2Money(l.UnitPrice), Total: toV2Money(l.Total), UnitFootprintKg: kgNumber(l.UnitFootprint)}
		if l.SKU != "" {
			sku := l.SKU
			line.SKU = &sku
		}
		out.Lines = append(out.Lines, line)
	}
	if o.Offset != nil {
		out.CarbonOffset = &v2Offset{FootprintKg: kgNumber(o.Offset.Footprint), Price: toV2Money(o.Offset.Price)}
	}
	if o.ConfirmationSentAt != nil {
		t := rfc3339(*o.ConfirmationSentAt)
		out.ConfirmationSentAt = &t
	}
	if o.ShippingAddress != nil {
		a := toV2Address(*o.ShippingAddress)
		out.ShippingAddress = &a
	}
	if o.BillingAddress != nil {
		a := toV2Address(*o.BillingAddress)
		out.BillingAddress = &a
	}
	if sh := o.Shipping; sh != nil {
		out.Shipping = &v2OrderShip{MethodID: string(sh.MethodID), Method: sh.Method, Carrier: sh.Carrier, Price: toV2Money(sh.Price), FootprintG: int64(sh.Footprint)}
	}
	if tx := o.Tax; tx != nil {
		out.Tax = &v2OrderTax{Mode: string(tx.Mode), Total: toV2Money(tx.Total)}
	}
	if o.UserID != "" { // empty once the account was deleted
		u := o.UserID
		out.UserID = &u
	}
	return out
}

type v2OrderLineInput struct {
	VariantID *string `json:"variant_id"`
	ProductID *string `json:"product_id"`
	Quantity  *int    `json:"quantity"`
}

type v2OrderInput struct {
	Lines            []v2OrderLineInput `json:"lines"`
	CarbonOffset     *bool              `json:"carbon_offset"`
	ShippingAddress  *v2AddressFields   `json:"shipping_address"`
	BillingAddress   *v2AddressFields   `json:"billing_address"`
	ShippingMethodID *string            `json:"shipping_method_id"`
}

// decodeV2Order decodes {"lines": [{"variant_id" or "product_id",
// "quantity"}], "carbon_offset"} strictly (unknown fields are refused) with
// the Idempotency-Key header's key (required), and reports every problem at
// once, each line's under its index ("lines[0].quantity"). A line by
// product_id buys a product that has a single variant (a product with more
// is refused by the checkout on "lines[i].product_id").
func decodeV2Order(body []byte, key string) (orders.CheckoutRequest, error) {
	var in v2OrderInput
	var errs fieldErrors
	if err := decodeBody(body, &in, true, v2Dialect, &errs); err != nil {
		return orders.CheckoutRequest{}, err
	}
	if key == "" {
		errs.add(HeaderIdempotencyKey, "header is required: send a unique key (for example a UUID) per order and reuse it only to retry")
	}
	errs.require(in.Lines != nil, "lines", v2Dialect)
	req := orders.CheckoutRequest{CarbonOffset: deref(in.CarbonOffset), IdempotencyKey: key, Lines: make([]orders.LineRequest, 0, len(in.Lines)),
		SingleVariantProductLines: true, ShippingMethodID: ecolaura.ID(deref(in.ShippingMethodID))}
	if in.ShippingAddress != nil {
		a := in.ShippingAddress.address()
		req.ShippingAddress = &a
	}
	if in.BillingAddress != nil {
		a := in.BillingAddress.address()
		req.BillingAddress = &a
	}
	for i, l := range in.Lines {
		f := "lines[" + strconv.Itoa(i) + "]"
		if l.ProductID == nil && l.VariantID == nil && !errs.covers(f+".variant_id") && !errs.covers(f+".product_id") {
			errs.add(f+".variant_id", "is required (or product_id for a product with a single variant)")
		}
		errs.require(l.Quantity != nil, f+".quantity", v2Dialect)
		req.Lines = append(req.Lines, orders.LineRequest{ProductID: ecolaura.ID(deref(l.ProductID)), VariantID: ecolaura.ID(deref(l.VariantID)),
			Quantity: deref(l.Quantity)})
	}
	if len(errs.list) > 0 {
		// The checkout names a line without an ID by its product_id; a v2
		// line that gave no product_id asked by variant_id.
		byVariant := map[string]bool{}
		for i, l := range in.Lines {
			if f := "lines[" + strconv.Itoa(i) + "]"; l.ProductID == nil && !errs.covers(f+".product_id") {
				byVariant[f+".product_id"] = true
			}
		}
		rename := func(name string) string {
			if byVariant[name] {
				return strings.TrimSuffix(name, ".product_id") + ".variant_id"
			}
			return orderField(name)
		}
		if err := errs.mergeDomain(req.Validate(), rename); err != nil {
			return req, err
		}
	}
	return req, errs.err()
}

type v2OrderPage struct {
	Items      []v2Order `json:"items"`
	NextCursor *string   `json:"next_cursor"`
}

func (s *Server) v2ListOrders(c *fiber.Ctx) error {
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	if err := onlyParams(q, "cursor", "limit", "user_id"); err != nil {
		return err
	}
	size, err := limitParam(q, MaxPageSize)
	if err != nil {
		return err
	}
	res, err := s.svc.Orders.List(c.UserContext(), principal(c), orders.ListParams{Cursor: q.Get("cursor"), PageSize: size, UserID: ecolaura.ID(q.Get("user_id"))})
	if err != nil {
		return renameField(err, "page_size", "limit")
	}
	out := v2OrderPage{Items: make([]v2Order, 0, len(res.Items))}
	for _, o := range res.Items {
		out.Items = append(out.Items, toV2Order(o))
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

func (s *Server) idempotencyCacheKey(user ecolaura.ID, key string) string {
	sum := sha256.Sum256([]byte(key))
	return "http:idempotency:v2:" + string(user) + ":" + hex.EncodeToString(sum[:16])
}

func (s *Server) v2CreateOrder(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	key := strings.Clone(c.Get(HeaderIdempotencyKey))
	req, err := decodeV2Order(c.Body(), key)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	res, err := s.svc.Orders.Checkout(ctx, actor, req)
	if err != nil {
		return renameFields(err, orderField)
	}
	location := s.absURL(c, "/api/v2/orders/"+string(res.Order.ID))
	c.Location(location)
	ck := s.idempotencyCacheKey(actor.UserID, key)
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
		if s.svc.ResponseCache != nil {
			if body, ok, err := s.svc.ResponseCache.Get(ctx, ck); err == nil && ok {
				c.Status(http.StatusCreated)
				c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
				return c.Send(body)
			}
		}
		return sendJSON(c, http.StatusCreated, toV2Order(res.Order))
	}
	s.metrics.ordersPlaced.Inc()
	body, err := jsonMarshal(toV2Order(res.Order))
	if err != nil {
		return err
	}
	if s.svc.ResponseCache != nil {
		if err := s.svc.ResponseCache.Set(ctx, ck, body, idempotencyTTL); err != nil {
			s.log.Warn("store idempotent response", "err", err)
		}
	}
	c.Status(http.StatusCreated)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

func (s *Server) v2GetOrder(c *fiber.Ctx) error {
	if err := principal(c).RequireAuthenticated(); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	o, err := s.svc.Orders.Get(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, toV2Order(o))
}

// v2OrderAction serves cancel, ship and deliver.
func (s *Server) v2OrderAction(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := principal(c).RequireAuthenticated(); err != nil {
			return err
		}
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var errs fieldErrors
		if err := decodeBody(c.Body(), &struct{}{}, true, v2Dialect, &errs); err != nil {
			return err
		}
		if err := errs.err(); err != nil {
			return err
		}
		ctx, actor := c.UserContext(), principal(c)
		var o ecolaura.Order
		switch action {
		case "ship":
			o, err = s.svc.Orders.Ship(ctx, actor, id)
		case "deliver":
			o, err = s.svc.Orders.Deliver(ctx, actor, id)
		default:
			o, err = s.svc.Orders.Cancel(ctx, actor, id)
		}
		if err != nil {
			return err
		}
		return sendJSON(c, http.StatusOK, toV2Order(o))
	}
}
