package orders

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/ports"
)

// LineRequest asks for Quantity units of one variant: VariantID, or
// ProductID for the product's default variant (what v1 orders buy). Exactly
// one of them is set.
type LineRequest struct {
	ProductID ecolaura.ID `json:"product_id,omitempty"`
	VariantID ecolaura.ID `json:"variant_id,omitempty"`
	Quantity  int         `json:"quantity"`
}

// CheckoutRequest is what a customer asks to buy.
type CheckoutRequest struct {
	// Lines lists 1–100 variants, each at most once. A variant listed twice
	// (also by its product's ID for the default variant) is rejected (not
	// merged) with a field error on the later line, so a client bug cannot
	// silently double a quantity.
	Lines []LineRequest `json:"lines"`
	// IdempotencyKey, when not empty, makes the request safe to retry: the
	// same user sending the same key and request gets the original order
	// back. At most 255 printable ASCII characters.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// CarbonOffset adds a charge that compensates the order's footprint.
	CarbonOffset bool `json:"carbon_offset,omitempty"`
	// ShippingAddress, BillingAddress and ShippingMethodID make an order
	// with a delivery: the method (an active one serving the address's
	// country) and the address are required together; the billing address
	// defaults to the shipping address. Both are normalised and validated
	// as the address book's (users.NormalizeAddress) and snapshotted. The
	// order then records the method, its price and its footprint, and its
	// totals are the quote's (ecolaura.ComputeQuote): shipping, tax and an
	// offset of products and delivery included. Without them the order has
	// no delivery and no tax, as before.
	ShippingAddress  *ecolaura.Address `json:"shipping_address,omitempty"`
	BillingAddress   *ecolaura.Address `json:"billing_address,omitempty"`
	ShippingMethodID ecolaura.ID       `json:"shipping_method_id,omitempty"`
	// SingleVariantProductLines refuses a line that names a product (not a
	// variant) with more than one variant: ErrInvalid on
	// "lines[i].product_id" (the buyer has to choose a variant), instead of
	// buying its default variant as v1 orders do. It does not change what
	// the request asks for (nor its Hash).
	SingleVariantProductLines bool `json:"-"`
}

// CheckoutResult is the outcome of a checkout.
type CheckoutResult struct {
	Order ecolaura.Order
	// Replayed is true when the order was created by an earlier request with
	// the same idempotency key (and nothing was created now).
	Replayed bool
}

// Validate checks the request without touching any store and returns a
// *ecolaura.ValidationError naming every bad field ("lines",
// "lines[2].quantity", "lines[3].product_id", "lines[4].variant_id",
// "idempotency_key").
func (r CheckoutRequest) Validate() error {
	var v ecolaura.Validator
	switch {
	case len(r.Lines) == 0:
		v.Add("lines", "must contain at least one line")
	case len(r.Lines) > ecolaura.MaxOrderLines:
		v.Add("lines", "must contain at most %d lines", ecolaura.MaxOrderLines)
	default:
		first := make(map[string]int, len(r.Lines))
		for i, l := range r.Lines {
			field := "lines[" + strconv.Itoa(i) + "]"
			name, id, what := ".product_id", l.ProductID, "product"
			if l.VariantID != "" || l.ProductID == "" {
				name, id, what = ".variant_id", l.VariantID, "variant"
			}
			if l.VariantID != "" && l.ProductID != "" {
				v.Add(field, "give either product_id or variant_id, not both")
			} else if _, err := ecolaura.ParseID(string(id)); err != nil {
				if l.ProductID == "" && l.VariantID == "" {
					v.Add(field+".product_id", "must be a product ID (UUID)")
				} else {
					v.Add(field+name, "must be a %s ID (UUID)", what)
				}
			} else if j, dup := first[what+string(id)]; dup {
				v.Add(field+name, "duplicate of lines[%d]: list each %s once with the total quantity", j, what)
			} else {
				first[what+string(id)] = i
			}
			v.Check(l.Quantity >= 1 && l.Quantity <= ecolaura.MaxLineQuantity, field+".quantity",
				"must be between 1 and %d", ecolaura.MaxLineQuantity)
		}
	}
	if err := ValidateIdempotencyKey(r.IdempotencyKey); err != nil {
		v.Merge("", err)
	}
	if r.hasDelivery() {
		if r.ShippingAddress == nil {
			v.Add("shipping_address", "is required with a shipping method or a billing address")
		} else if _, err := users.NormalizeAddress(*r.ShippingAddress); err != nil {
			v.Merge("shipping_address", err)
		}
		if r.BillingAddress != nil {
			if _, err := users.NormalizeAddress(*r.BillingAddress); err != nil {
				v.Merge("billing_address", err)
			}
		}
		if r.ShippingMethodID == "" {
			v.Add("shipping_method_id", "is required with a shipping address")
		} else if _, err := ecolaura.ParseID(string(r.ShippingMethodID)); err != nil {
			v.Add("shipping_method_id", "must be a shipping method ID (UUID)")
		}
	}
	return v.Err()
}

// hasDelivery reports whether the request asks for a delivery.
func (r CheckoutRequest) hasDelivery() bool {
	return r.ShippingAddress != nil || r.BillingAddress != nil || r.ShippingMethodID != ""
}

// ValidateIdempotencyKey checks a key: empty (no idempotency) or 1–255
// printable ASCII characters (0x20–0x7E), as the IETF Idempotency-Key
// header allows. It returns a *ValidationError on "idempotency_key".
func ValidateIdempotencyKey(key string) error {
	if len(key) > ecolaura.MaxIdempotencyKey {
		return ecolaura.Invalid("idempotency_key", "must be at most %d characters", ecolaura.MaxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return ecolaura.Invalid("idempotency_key", "must contain only printable ASCII characters")
		}
	}
	return nil
}

// Hash fingerprints what the request asks for: the SHA-256 (hex) of a
// canonical form of the lines (sorted by product ID, then variant ID, so
// their order does not matter) and the offset choice. The idempotency key
// is not part of it. (A request of product lines only hashes as it did
// before variants, so keys of earlier orders still replay.)
func (r CheckoutRequest) Hash() string {
	lines := slices.Clone(r.Lines)
	slices.SortFunc(lines, func(a, b LineRequest) int {
		return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.VariantID, b.VariantID), cmp.Compare(a.Quantity, b.Quantity))
	})
	h := sha256.New()
	h.Write([]byte("ecolaura-checkout-v1\n"))
	for _, l := range lines {
		if l.VariantID != "" {
			h.Write([]byte("variant:" + string(l.VariantID) + ":" + strconv.Itoa(l.Quantity) + "\n"))
			continue
		}
		h.Write([]byte(string(l.ProductID) + ":" + strconv.Itoa(l.Quantity) + "\n"))
	}
	h.Write([]byte("offset=" + strconv.FormatBool(r.CarbonOffset) + "\n"))
	if r.hasDelivery() { // requests without a delivery hash as before
		addr := func(a *ecolaura.Address) string {
			if a == nil {
				return "-"
			}
			b, _ := json.Marshal(a.Normalized())
			return string(b)
		}
		h.Write([]byte("shipping=" + string(r.ShippingMethodID) + "\nto=" + addr(r.ShippingAddress) + "\nbill=" + addr(r.BillingAddress) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// jobPayload is the JSON payload of both order jobs.
type jobPayload struct {
	OrderID ecolaura.ID `json:"order_id"`
}

// Checkout places an order for the actor.
//
// In one transaction it stores the order (status pending) with lines that
// snapshot each variant's product name (with the variant's option values),
// SKU, unit price and footprint (the variant's override, else the
// product's), enqueues the [JobProcessOrder] job and takes the stock of
// every line (never below zero, with "sale" inventory movements); either
// all of it happens or none of it. Only active products can be bought.
//
// Idempotency: with a key, the same user repeating the same request gets the
// original order back with Replayed set and nothing is created; repeating the
// key with a different request fails with ecolaura.ErrIdempotencyMismatch;
// repeating it while the first request is still running in this process
// fails with ecolaura.ErrConflict. Across processes the store's unique
// (user, key) constraint decides, and the loser answers as a replay. A key
// is kept as long as its order exists (the IETF draft asks for at least 24
// hours); a request that failed (for example on stock) does not consume it.
//
// With [WithVerifiedEmailRequired], the account's email must be verified.
//
// Errors: ErrUnauthenticated (also when the account was deleted meanwhile);
// ErrForbidden for a principal without a user (System), and an
// *ecolaura.RequirementError ("email-not-verified", ErrForbidden) for an
// unverified email when one is required; ErrInvalid (*ValidationError) for a bad request, an unknown
// product or variant ("lines[i].product_id", "lines[i].variant_id"; a draft
// product counts as unknown), an archived product ("... is archived") or a
// product not priced in the shop's currency; ErrInsufficientStock
// (*InsufficientStockError naming the product and variant);
// ErrIdempotencyMismatch; ErrConflict.
//
// The product's status is checked when the lines are priced, at the start
// of the transaction: a product archived while the transaction runs may
// still be sold by it (as with a price change).
func (s *Service) Checkout(ctx context.Context, actor ecolaura.Principal, req CheckoutRequest) (CheckoutResult, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return CheckoutResult{}, err
	}
	if actor.UserID == "" {
		return CheckoutResult{}, fmt.Errorf("checkout needs a user principal: %w", ecolaura.ErrForbidden)
	}
	if err := req.Validate(); err != nil {
		return CheckoutResult{}, err
	}
	hash := req.Hash()
	key := req.IdempotencyKey
	if key != "" {
		release, ok := s.acquire(inflightKey{user: actor.UserID, key: key})
		if !ok {
			return CheckoutResult{}, fmt.Errorf("a request with this idempotency key is still in progress: %w", ecolaura.ErrConflict)
		}
		defer release()
	}

	var res CheckoutResult
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		res = CheckoutResult{}
		if s.verifiedOnly {
			u, err := tx.Users().Get(ctx, actor.UserID)
			if errors.Is(err, ecolaura.ErrNotFound) {
				return fmt.Errorf("checkout: account gone: %w", ecolaura.ErrUnauthenticated)
			}
			if err != nil {
				return fmt.Errorf("checkout: load account: %w", err)
			}
			if !u.EmailVerified() {
				return &ecolaura.RequirementError{Requirement: ecolaura.ErrEmailNotVerified,
					Message: "verify your email address before placing an order"}
			}
		}
		// An order already placed with this key is not looked up first:
		// its key makes the order's insert fail (ErrConflict), and every
		// failure with a key looks for it below. A new order saves the
		// round trip.
		o, err := s.placeOrder(ctx, tx, actor.UserID, req, hash)
		if err != nil {
			return err
		}
		res.Order = o
		return nil
	})
	if err != nil && errors.Is(err, ecolaura.ErrInvalid) {
		// The store refuses an order of a user that does not exist: the
		// account was deleted while the order was being placed. (The
		// transaction may be aborted: look outside it.)
		if _, gerr := s.db.Users().Get(ctx, actor.UserID); errors.Is(gerr, ecolaura.ErrNotFound) {
			return CheckoutResult{}, fmt.Errorf("checkout: account gone: %w", ecolaura.ErrUnauthenticated)
		}
	}
	if err != nil {
		if key != "" && !errors.Is(err, ecolaura.ErrUnauthenticated) {
			// An order with this key exists (its insert conflicted, or the
			// request no longer validates — a product archived or sold out
			// since — but was placed before, by this or another process):
			// answer as its replay.
			existing, gerr := s.db.Orders().GetByIdempotencyKey(ctx, actor.UserID, key)
			if gerr == nil {
				return replay(existing, hash)
			}
		}
		return CheckoutResult{}, err
	}
	if res.Replayed {
		s.log.InfoContext(ctx, "checkout replayed", "order_id", res.Order.ID, "user_id", actor.UserID)
	} else {
		s.log.InfoContext(ctx, "order placed", "order_id", res.Order.ID, "user_id", actor.UserID,
			"lines", len(res.Order.Lines), "total", res.Order.Total.String(), "footprint_g", int64(res.Order.Footprint))
	}
	return res, nil
}

func replay(existing ecolaura.Order, hash string) (CheckoutResult, error) {
	if existing.RequestHash != hash {
		return CheckoutResult{}, fmt.Errorf("order %s: %w", existing.ID, ecolaura.ErrIdempotencyMismatch)
	}
	return CheckoutResult{Order: existing, Replayed: true}, nil
}

// acquire marks (user, key) as in flight; ok is false when it already is.
func (s *Service) acquire(k inflightKey) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.inflight[k]; busy {
		return nil, false
	}
	s.inflight[k] = struct{}{}
	return func() {
		s.mu.Lock()
		delete(s.inflight, k)
		s.mu.Unlock()
	}, true
}

// placeOrder does the writes of a checkout inside tx, in the order that
// keeps row locks shortest: it prices the lines from catalog reads (no
// locks), inserts the order with its lines and enqueues its job, and only
// then takes the stock, one guarded decrement per line in ascending
// variant-ID order (two checkouts lock the same levels in the same order,
// so they cannot deadlock). The product rows are never written.
func (s *Service) placeOrder(ctx context.Context, tx ports.Tx, userID ecolaura.ID, req CheckoutRequest, hash string) (ecolaura.Order, error) {
	now := s.clock.Now()
	lines, weights, err := s.priceLines(ctx, tx, req.Lines, req.SingleVariantProductLines)
	if err != nil {
		return ecolaura.Order{}, err
	}

	subtotal := ecolaura.NewMoney(0, s.currency)
	var footprint ecolaura.CO2e
	for i, l := range lines {
		var err error
		if subtotal, err = subtotal.Add(l.Total); err != nil {
			return ecolaura.Order{}, fmt.Errorf("order subtotal: %w", err)
		}
		lf, ok := mulCO2e(l.UnitFootprint, l.Quantity)
		if !ok || footprint > ecolaura.CO2e(1<<62)-lf {
			return ecolaura.Order{}, ecolaura.Invalid("lines["+strconv.Itoa(i)+"].quantity", "makes the order footprint too large")
		}
		footprint += lf
	}
	total := subtotal
	var offset *ecolaura.CarbonOffset
	if req.CarbonOffset {
		price, err := OffsetCharge(footprint, s.offsetPrice)
		if err != nil {
			return ecolaura.Order{}, err
		}
		if total, err = subtotal.Add(price); err != nil {
			return ecolaura.Order{}, fmt.Errorf("order total: %w", err)
		}
		offset = &ecolaura.CarbonOffset{Footprint: footprint, Price: price}
	}

	var delivery *deliveryTerms
	if req.ShippingMethodID != "" {
		d, err := s.deliver(ctx, tx, req, lines, weights)
		if err != nil {
			return ecolaura.Order{}, err
		}
		delivery = &d
		subtotal, total, footprint, offset = d.totals.Subtotal, d.totals.Total, d.totals.FootprintTotal, nil
		if req.CarbonOffset {
			offset = &ecolaura.CarbonOffset{Footprint: d.totals.FootprintTotal, Price: d.totals.Offset}
		}
	}

	o := ecolaura.Order{
		ID:             s.ids.NewID(),
		UserID:         userID,
		Status:         ecolaura.StatusPending,
		Lines:          lines,
		Subtotal:       subtotal,
		Offset:         offset,
		Total:          total,
		Footprint:      footprint,
		IdempotencyKey: req.IdempotencyKey,
		RequestHash:    hash,
		CreatedAt:      now,
		UpdatedAt:      now,
		Version:        1,
	}
	if delivery != nil {
		o.ShippingAddress, o.BillingAddress = &delivery.shipTo, &delivery.billTo
		o.Shipping = &ecolaura.OrderShipping{MethodID: delivery.option.MethodID, Method: delivery.option.Name, Carrier: delivery.option.Carrier,
			Price: delivery.option.Price, Footprint: delivery.option.Footprint}
		o.Tax = &ecolaura.OrderTax{Mode: delivery.mode, Total: delivery.totals.Tax}
	}
	if err := tx.Orders().Create(ctx, o); err != nil {
		return ecolaura.Order{}, fmt.Errorf("store order: %w", err)
	}
	if err := enqueue(ctx, tx, JobProcessOrder, o.ID); err != nil {
		return ecolaura.Order{}, err
	}
	// Last: the stock of every line, in one call (the store locks the
	// levels in variant-ID order, as briefly as it can).
	sales := make([]ports.Sale, len(lines))
	for i, l := range lines {
		sales[i] = ports.Sale{VariantID: l.VariantID, Quantity: l.Quantity, OrderID: o.ID, ActorID: userID, At: now}
	}
	if _, err := tx.Inventory().Sell(ctx, sales...); err != nil {
		i := lineOf(lines, err)
		return ecolaura.Order{}, s.stockError("lines["+strconv.Itoa(i)+"]", req.Lines[i], lines[i], err)
	}
	return o, nil
}

// priceLines prices the lines of a request from the catalog (read through
// stores: a transaction's or the database's): per line, the variant's
// snapshot as an order keeps it and its shipping weight in grams. Errors:
// a *ValidationError naming the lines that cannot be bought (as Checkout).
func (s *Service) priceLines(ctx context.Context, stores ports.Stores, reqLines []LineRequest, singleVariant bool) ([]ecolaura.OrderLine, []int, error) {
	var pids, vids []ecolaura.ID
	for _, l := range reqLines {
		if l.VariantID != "" {
			vids = append(vids, l.VariantID)
		} else {
			pids = append(pids, l.ProductID)
		}
	}
	byProduct := map[ecolaura.ID]ecolaura.Product{}
	byVariant := map[ecolaura.ID]ecolaura.Product{}
	if len(pids) > 0 {
		ps, err := stores.Products().GetMany(ctx, pids)
		if err != nil {
			return nil, nil, fmt.Errorf("checkout: load products: %w", err)
		}
		for _, p := range ps {
			byProduct[p.ID] = p
		}
	}
	if len(vids) > 0 {
		ps, err := stores.Products().GetByVariants(ctx, vids)
		if err != nil {
			return nil, nil, fmt.Errorf("checkout: load variants: %w", err)
		}
		for _, p := range ps {
			for _, v := range p.Variants {
				byVariant[v.ID] = p
			}
		}
	}

	lines := make([]ecolaura.OrderLine, len(reqLines))
	weights := make([]int, len(reqLines))
	seen := make(map[ecolaura.ID]int, len(reqLines))
	var v ecolaura.Validator
	for i, l := range reqLines {
		field := "lines[" + strconv.Itoa(i) + "]"
		var (
			p     ecolaura.Product
			ok    bool
			vr    ecolaura.Variant
			idf   = field + ".product_id"
			label = "product " + string(l.ProductID)
		)
		if l.VariantID != "" {
			idf, label = field+".variant_id", "variant "+string(l.VariantID)
			if p, ok = byVariant[l.VariantID]; ok {
				vr, _ = p.Variant(l.VariantID)
			}
		} else if p, ok = byProduct[l.ProductID]; ok {
			vr = p.DefaultVariant()
		}
		switch {
		case !ok || p.Status == ecolaura.ProductDraft:
			v.Add(idf, "%s does not exist", label)
			continue
		case p.Status == ecolaura.ProductArchived:
			v.Add(idf, "%s is archived: it can no longer be bought", label)
			continue
		case l.VariantID == "" && singleVariant && len(p.Variants) > 1:
			v.Add(idf, "%s has %d variants: give the variant_id of the one to buy", label, len(p.Variants))
			continue
		}
		if j, dup := seen[vr.ID]; dup {
			v.Add(idf, "duplicate of lines[%d] (the same variant): list each variant once with the total quantity", j)
			continue
		}
		seen[vr.ID] = i
		if vr.Price.Currency != s.currency {
			v.Add(idf, "is priced in %s; this shop sells in %s", vr.Price.Currency, s.currency)
			continue
		}
		total, err := vr.Price.Mul(int64(l.Quantity))
		if err != nil {
			v.Merge(field, err)
			continue
		}
		unitFootprint, _ := p.VariantFootprint(vr)
		name := p.Name
		if t := vr.Title(p.Options); t != "" {
			name += " (" + t + ")"
		}
		weights[i] = vr.WeightG
		lines[i] = ecolaura.OrderLine{
			ProductID:     p.ID,
			VariantID:     vr.ID,
			SKU:           vr.SKU,
			Name:          name,
			UnitPrice:     vr.Price,
			Quantity:      l.Quantity,
			Total:         total,
			UnitFootprint: unitFootprint,
		}
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	return lines, weights, nil
}

// lineOf returns the index of the line whose variant a failed sale names:
// an *ecolaura.InsufficientStockError's VariantID, or the variant ID in the
// message of another error (a variant deleted since it was read: the stores
// name it), else 0.
func lineOf(lines []ecolaura.OrderLine, err error) int {
	var ise *ecolaura.InsufficientStockError
	short := errors.As(err, &ise)
	for i, l := range lines {
		if short && ise.VariantID == l.VariantID || !short && strings.Contains(err.Error(), string(l.VariantID)) {
			return i
		}
	}
	return 0
}

// stockError turns a failed sale into the checkout's error.
func (s *Service) stockError(field string, req LineRequest, l ecolaura.OrderLine, err error) error {
	if errors.Is(err, ecolaura.ErrNotFound) { // deleted since it was read
		if req.VariantID != "" {
			return ecolaura.Invalid(field+".variant_id", "variant %s does not exist", req.VariantID)
		}
		return ecolaura.Invalid(field+".product_id", "product %s does not exist", req.ProductID)
	}
	var ise *ecolaura.InsufficientStockError
	if errors.As(err, &ise) {
		out := &ecolaura.InsufficientStockError{ProductID: l.ProductID, VariantID: l.VariantID, Name: l.Name,
			Requested: l.Quantity, Available: ise.Available}
		return fmt.Errorf("checkout %s: %w", field, out)
	}
	return fmt.Errorf("take stock of variant %s: %w", l.VariantID, err)
}

func enqueue(ctx context.Context, tx ports.Tx, kind string, id ecolaura.ID) error {
	payload, err := json.Marshal(jobPayload{OrderID: id})
	if err != nil {
		return fmt.Errorf("encode %s job: %w", kind, err)
	}
	if err := tx.Jobs().Enqueue(ctx, ports.Job{Kind: kind, Payload: payload}); err != nil {
		return fmt.Errorf("enqueue %s job for order %s: %w", kind, id, err)
	}
	return nil
}

// mulCO2e multiplies with overflow detection (results above 2^62 count as
// overflow).
func mulCO2e(c ecolaura.CO2e, n int) (ecolaura.CO2e, bool) {
	if c < 0 || n < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(c), uint64(n))
	if hi != 0 || lo > 1<<62 {
		return 0, false
	}
	return ecolaura.CO2e(lo), true
}

// OffsetCharge returns the price of compensating footprint at perKg per
// kilogram of CO2e, rounded up to the currency's minor unit (a footprint of
// 1 g at 0.02/kg costs 0.01). Errors: ErrInvalid when the charge overflows.
func OffsetCharge(footprint ecolaura.CO2e, perKg ecolaura.Money) (ecolaura.Money, error) {
	if footprint <= 0 || perKg.Amount <= 0 {
		return ecolaura.NewMoney(0, perKg.Currency), nil
	}
	n := new(big.Int).Mul(big.NewInt(int64(footprint)), big.NewInt(perKg.Amount))
	n.Add(n, big.NewInt(999)) // ceil(n / 1000) for positive n
	n.Quo(n, big.NewInt(1000))
	if !n.IsInt64() {
		return ecolaura.Money{}, ecolaura.Invalid("carbon_offset", "the offset charge is too large")
	}
	return ecolaura.NewMoney(n.Int64(), perKg.Currency), nil
}
