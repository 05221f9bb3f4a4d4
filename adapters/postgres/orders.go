package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

const orderCols = `id, user_id, status, currency, subtotal_minor, total_minor, footprint_g,
	offset_footprint_g, offset_price_minor, idempotency_key, request_hash,
	confirmation_sent_at, created_at, updated_at, version, shipping_address, billing_address,
	shipping_method_id, shipping_method, shipping_carrier, shipping_price_minor, shipping_footprint_g,
	tax_mode, tax_minor`

type orderRow struct {
	bun.BaseModel `bun:"table:orders"`

	ID                 string       `bun:"id,pk"`
	UserID             string       `bun:"user_id"`
	Status             string       `bun:"status"`
	Currency           string       `bun:"currency"`
	SubtotalMinor      int64        `bun:"subtotal_minor"`
	TotalMinor         int64        `bun:"total_minor"`
	FootprintG         int64        `bun:"footprint_g"`
	OffsetFootprintG   *int64       `bun:"offset_footprint_g"`
	OffsetPriceMinor   *int64       `bun:"offset_price_minor"`
	IdempotencyKey     string       `bun:"idempotency_key"`
	RequestHash        string       `bun:"request_hash"`
	ConfirmationSentAt *time.Time   `bun:"confirmation_sent_at"`
	CreatedAt          time.Time    `bun:"created_at"`
	UpdatedAt          time.Time    `bun:"updated_at"`
	Version            int64        `bun:"version"`
	ShippingAddress    *addressJSON `bun:"shipping_address,type:jsonb"`
	BillingAddress     *addressJSON `bun:"billing_address,type:jsonb"`
	ShippingMethodID   *string      `bun:"shipping_method_id"`
	ShippingMethod     *string      `bun:"shipping_method"`
	ShippingCarrier    *string      `bun:"shipping_carrier"`
	ShippingPriceMinor *int64       `bun:"shipping_price_minor"`
	ShippingFootprintG *int64       `bun:"shipping_footprint_g"`
	TaxMode            *string      `bun:"tax_mode"`
	TaxMinor           *int64       `bun:"tax_minor"`
}

// addressJSON is an address snapshot of an order, stored as jsonb with
// the v2 address members.
type addressJSON struct {
	Name       string `json:"name"`
	Company    string `json:"company"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Region     string `json:"region"`
	Country    string `json:"country"`
	Phone      string `json:"phone"`
}

func toAddressJSON(a *ecolaura.Address) *addressJSON {
	if a == nil {
		return nil
	}
	j := addressJSON(*a)
	return &j
}

func (j *addressJSON) address() *ecolaura.Address {
	if j == nil {
		return nil
	}
	a := ecolaura.Address(*j)
	return &a
}

type lineRow struct {
	bun.BaseModel `bun:"table:order_lines"`

	OrderID        string `bun:"order_id,pk"`
	LineNo         int    `bun:"line_no,pk"`
	ProductID      string `bun:"product_id"`
	VariantID      string `bun:"variant_id"`
	SKU            string `bun:"sku"`
	Name           string `bun:"name"`
	Currency       string `bun:"currency"`
	UnitPriceMinor int64  `bun:"unit_price_minor"`
	Quantity       int    `bun:"quantity"`
	TotalMinor     int64  `bun:"total_minor"`
	UnitFootprintG int64  `bun:"unit_footprint_g"`
}

func toOrderRows(o ecolaura.Order) (orderRow, []lineRow) {
	r := orderRow{
		ID: string(o.ID), UserID: string(o.UserID), Status: string(o.Status), Currency: string(ports.OrderCurrency(o)),
		SubtotalMinor: o.Subtotal.Amount, TotalMinor: o.Total.Amount, FootprintG: int64(o.Footprint),
		IdempotencyKey: o.IdempotencyKey, RequestHash: o.RequestHash, ConfirmationSentAt: o.ConfirmationSentAt,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Version: o.Version,
	}
	if o.Offset != nil {
		fp, pr := int64(o.Offset.Footprint), o.Offset.Price.Amount
		r.OffsetFootprintG, r.OffsetPriceMinor = &fp, &pr
	}
	r.ShippingAddress, r.BillingAddress = toAddressJSON(o.ShippingAddress), toAddressJSON(o.BillingAddress)
	if sh := o.Shipping; sh != nil {
		id, name, carrier, price, fp := string(sh.MethodID), sh.Method, sh.Carrier, sh.Price.Amount, int64(sh.Footprint)
		r.ShippingMethodID, r.ShippingMethod, r.ShippingCarrier, r.ShippingPriceMinor, r.ShippingFootprintG = &id, &name, &carrier, &price, &fp
	}
	if t := o.Tax; t != nil {
		mode, amount := string(t.Mode), t.Total.Amount
		r.TaxMode, r.TaxMinor = &mode, &amount
	}
	lines := make([]lineRow, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = lineRow{
			OrderID: string(o.ID), LineNo: i, ProductID: string(l.ProductID), VariantID: string(cmp.Or(l.VariantID, l.ProductID)), SKU: l.SKU, Name: l.Name,
			Currency: string(l.UnitPrice.Currency), UnitPriceMinor: l.UnitPrice.Amount, Quantity: l.Quantity,
			TotalMinor: l.Total.Amount, UnitFootprintG: int64(l.UnitFootprint),
		}
	}
	return r, lines
}

func (r *orderRow) order(lines []lineRow) ecolaura.Order {
	cur := ecolaura.Currency(r.Currency)
	o := ecolaura.Order{
		ID: ecolaura.ID(r.ID), UserID: ecolaura.ID(r.UserID), Status: ecolaura.OrderStatus(r.Status),
		Subtotal: ecolaura.Money{Amount: r.SubtotalMinor, Currency: cur}, Total: ecolaura.Money{Amount: r.TotalMinor, Currency: cur},
		Footprint: ecolaura.CO2e(r.FootprintG), IdempotencyKey: r.IdempotencyKey, RequestHash: r.RequestHash,
		ConfirmationSentAt: utcPtr(r.ConfirmationSentAt), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Version: r.Version, Lines: make([]ecolaura.OrderLine, 0, len(lines)),
	}
	if r.OffsetFootprintG != nil && r.OffsetPriceMinor != nil {
		o.Offset = &ecolaura.CarbonOffset{Footprint: ecolaura.CO2e(*r.OffsetFootprintG), Price: ecolaura.Money{Amount: *r.OffsetPriceMinor, Currency: cur}}
	}
	o.ShippingAddress, o.BillingAddress = r.ShippingAddress.address(), r.BillingAddress.address()
	if r.ShippingMethodID != nil && r.ShippingMethod != nil && r.ShippingCarrier != nil && r.ShippingPriceMinor != nil && r.ShippingFootprintG != nil {
		o.Shipping = &ecolaura.OrderShipping{MethodID: ecolaura.ID(*r.ShippingMethodID), Method: *r.ShippingMethod, Carrier: *r.ShippingCarrier,
			Price: ecolaura.Money{Amount: *r.ShippingPriceMinor, Currency: cur}, Footprint: ecolaura.CO2e(*r.ShippingFootprintG)}
	}
	if r.TaxMode != nil && r.TaxMinor != nil {
		o.Tax = &ecolaura.OrderTax{Mode: ecolaura.TaxMode(*r.TaxMode), Total: ecolaura.Money{Amount: *r.TaxMinor, Currency: cur}}
	}
	for _, l := range lines {
		lc := ecolaura.Currency(l.Currency)
		o.Lines = append(o.Lines, ecolaura.OrderLine{
			ProductID: ecolaura.ID(l.ProductID), VariantID: ecolaura.ID(l.VariantID), SKU: l.SKU, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: ecolaura.Money{Amount: l.UnitPriceMinor, Currency: lc}, Total: ecolaura.Money{Amount: l.TotalMinor, Currency: lc},
			UnitFootprint: ecolaura.CO2e(l.UnitFootprintG),
		})
	}
	return o
}

// orderStore implements ports.OrderStore.
type orderStore struct {
	db bun.IDB // Bun's statements
	// pg runs the statements with arguments, on the same pool or
	// transaction.
	pg pgxRunner
	// reads admits the reads outside transactions (Config.ReadTimeout,
	// Config.MaxReadConns); nil in a transaction.
	reads  *readGate
	counts *queryCounter
}

var _ ports.OrderStore = (*orderStore)(nil)

// Create stores the order and its lines atomically, in one statement. Errors: ErrConflict when the ID exists
// or the user already has an order with the same non-empty idempotency key
// (the orders_user_idempotency_key index, across every replica);
// ErrInvalid for an order that breaks a rule of ports.ValidateStoredOrder
// or whose user does not exist (the foreign key); ErrUnavailable.
func (s *orderStore) Create(ctx context.Context, o ecolaura.Order) error {
	if err := ports.ValidateStoredOrder(o); err != nil {
		return fmt.Errorf("create order %s: %w", o.ID, err)
	}
	r, lines := toOrderRows(o)
	// One statement: the order, then its lines from the order's RETURNING
	// (none when ON CONFLICT skipped it). Atomic on its own, one round trip;
	// its text depends only on the number of lines, so pgx prepares it once
	// per connection and line count. Integers go as bigint, so a value
	// beyond an integer column is the server's out-of-range error
	// (ErrInvalid), not the driver's.
	var q strings.Builder
	args := make([]any, 0, 24+10*len(lines))
	n := 0
	ph := func(cast string) string { // the next placeholder
		n++
		return "$" + strconv.Itoa(n) + cast
	}
	q.WriteString(`WITH o AS (INSERT INTO orders (id, user_id, status, currency, subtotal_minor, total_minor,
		footprint_g, offset_footprint_g, offset_price_minor, idempotency_key, request_hash,
		confirmation_sent_at, created_at, updated_at, version, shipping_address, billing_address,
		shipping_method_id, shipping_method, shipping_carrier, shipping_price_minor, shipping_footprint_g,
		tax_mode, tax_minor) VALUES (`)
	for i, cast := range []string{"::uuid", "::uuid", "", "", "", "", "", "", "", "", "", "::timestamptz", "", "", "",
		"::jsonb", "::jsonb", "::uuid", "::text", "::text", "::bigint", "::bigint", "::text", "::bigint"} {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(ph(cast))
	}
	q.WriteString(") ON CONFLICT DO NOTHING RETURNING id)")
	args = append(args, r.ID, r.UserID, r.Status, r.Currency, r.SubtotalMinor, r.TotalMinor, r.FootprintG,
		r.OffsetFootprintG, r.OffsetPriceMinor, r.IdempotencyKey, r.RequestHash, r.ConfirmationSentAt,
		r.CreatedAt, r.UpdatedAt, r.Version, jsonArg(r.ShippingAddress), jsonArg(r.BillingAddress),
		r.ShippingMethodID, r.ShippingMethod, r.ShippingCarrier, r.ShippingPriceMinor, r.ShippingFootprintG, r.TaxMode, r.TaxMinor)
	if len(lines) > 0 {
		q.WriteString(`, l AS (INSERT INTO order_lines (order_id, line_no, product_id, variant_id, sku, name, currency,
		unit_price_minor, quantity, total_minor, unit_footprint_g)
		SELECT o.id, v.* FROM o CROSS JOIN (VALUES `)
		for i, l := range lines {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", ph("::bigint"), ph("::uuid"), ph("::uuid"), ph("::text"), ph("::text"), ph("::text"),
				ph("::bigint"), ph("::bigint"), ph("::bigint"), ph("::bigint"))
			args = append(args, int64(l.LineNo), l.ProductID, l.VariantID, l.SKU, l.Name, l.Currency, l.UnitPriceMinor, int64(l.Quantity), l.TotalMinor, l.UnitFootprintG)
		}
		q.WriteString(") AS v)")
	}
	q.WriteString(" SELECT count(*) FROM o")
	var created int
	s.counts.n.Add(1)
	if err := s.pg(func(pq pgxQuerier) error { return pq.QueryRow(ctx, q.String(), args...).Scan(&created) }); err != nil {
		return wrap(err, "create order %s", o.ID)
	}
	if created == 0 {
		return fmt.Errorf("create order %s: id or idempotency key exists: %w", o.ID, ecolaura.ErrConflict)
	}
	return nil
}

// Get returns the order with its lines. Errors: ErrNotFound; ErrUnavailable.
func (s *orderStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.Order, error) {
	if !validID(id) {
		return ecolaura.Order{}, notFound("order", id)
	}
	return s.one(ctx, "id = ?", []any{string(id)}, "order "+string(id))
}

// GetByIdempotencyKey returns the user's order created with key. Errors:
// ErrNotFound; ErrUnavailable.
func (s *orderStore) GetByIdempotencyKey(ctx context.Context, userID ecolaura.ID, key string) (ecolaura.Order, error) {
	if !validID(userID) || key == "" || !ports.Storable(key) {
		return ecolaura.Order{}, fmt.Errorf("order with that idempotency key: %w", ecolaura.ErrNotFound)
	}
	return s.one(ctx, "user_id = ? AND idempotency_key = ? AND idempotency_key <> ''",
		[]any{string(userID), key}, "order with that idempotency key")
}

// one reads one order and its lines: two statements.
func (s *orderStore) one(ctx context.Context, where string, args []any, what string) (ecolaura.Order, error) {
	var (
		r     orderRow
		lines []lineRow
	)
	read := func(ctx context.Context, db bun.IDB) error {
		err := db.NewRaw("SELECT "+orderCols+" FROM orders WHERE "+where, args...).Scan(ctx, &r)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, ecolaura.ErrNotFound)
		}
		if err != nil {
			return wrap(err, "get %s", what)
		}
		return s.loadLines(ctx, db, []string{r.ID}, &lines)
	}
	// Lines are written with their order in one transaction and never
	// change, so reading them by a second statement needs no snapshot.
	if err := read(ctx, s.db); err != nil {
		return ecolaura.Order{}, err
	}
	return r.order(lines), nil
}

func (s *orderStore) loadLines(ctx context.Context, db bun.IDB, ids []string, lines *[]lineRow) error {
	err := db.NewRaw(`SELECT order_id, line_no, product_id, variant_id, sku, name, currency, unit_price_minor, quantity,
		total_minor, unit_footprint_g FROM order_lines WHERE order_id = ANY(?::uuid[]) ORDER BY order_id, line_no`,
		pgdialect.Array(ids)).Scan(ctx, lines)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrap(err, "load order lines")
	}
	return nil
}

// List returns a page of orders, newest first, with their lines: two
// statements (three with the total), never one per order. Errors:
// *ValidationError for a bad query; ErrUnavailable.
func (s *orderStore) List(ctx context.Context, q ports.OrderQuery) (ports.OrderPage, error) {
	var v ecolaura.Validator
	v.Check(q.Limit >= 1 && q.Limit <= 1000, "limit", "must be between 1 and 1000")
	v.Check(q.Offset >= 0, "offset", "must not be negative")
	if err := v.Err(); err != nil {
		return ports.OrderPage{}, err
	}
	page := ports.OrderPage{Total: -1}
	if q.UserID != "" && !validID(q.UserID) {
		page.Items = []ecolaura.Order{}
		if q.WithTotal {
			page.Total = 0
		}
		return page, nil
	}
	filter := func(sel *bun.SelectQuery) *bun.SelectQuery {
		if q.UserID != "" {
			sel = sel.Where("user_id = ?", string(q.UserID))
		}
		return sel
	}
	read := func(ctx context.Context, db bun.IDB) error {
		var rows []orderRow
		sel := filter(db.NewSelect().Model(&rows).ColumnExpr(orderCols))
		if a := q.After; a != nil {
			id := string(a.ID)
			if !validID(a.ID) {
				id = "ffffffff-ffff-ffff-ffff-ffffffffffff"
			}
			sel = sel.Where("(created_at, id) < (?, ?::uuid)", a.CreatedAt, id)
		} else if q.Offset > 0 {
			sel = sel.Offset(int64(q.Offset))
		}
		sel = sel.OrderExpr("created_at DESC, id DESC").Limit(int64(q.Limit + 1))
		if err := sel.Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return wrap(err, "list orders")
		}
		if len(rows) > q.Limit {
			page.HasMore = true
			rows = rows[:q.Limit]
		}
		ids := make([]string, len(rows))
		for i := range rows {
			ids[i] = rows[i].ID
		}
		var lines []lineRow
		if len(ids) > 0 {
			if err := s.loadLines(ctx, db, ids, &lines); err != nil {
				return err
			}
		}
		byOrder := make(map[string][]lineRow, len(rows))
		for _, l := range lines {
			byOrder[l.OrderID] = append(byOrder[l.OrderID], l)
		}
		page.Items = make([]ecolaura.Order, len(rows))
		for i := range rows {
			page.Items[i] = rows[i].order(byOrder[rows[i].ID])
		}
		if q.WithTotal {
			n, err := filter(db.NewSelect().Table("orders")).Count(ctx)
			if err != nil {
				return wrap(err, "count orders")
			}
			page.Total = int(n)
		}
		return nil
	}
	db, ctx, leave, err := s.reads.enter(ctx, s.db)
	if err != nil {
		return ports.OrderPage{}, wrap(err, "list orders")
	}
	defer leave()
	if err := read(ctx, db); err != nil {
		return ports.OrderPage{}, err
	}
	return page, nil
}

// predecessors lists the statuses from which the machine allows to.
func predecessors(to ecolaura.OrderStatus) []string {
	var out []string
	for _, from := range []ecolaura.OrderStatus{ecolaura.StatusPending, ecolaura.StatusConfirmed,
		ecolaura.StatusShipped, ecolaura.StatusDelivered, ecolaura.StatusCancelled} {
		if ecolaura.CanTransition(from, to) {
			out = append(out, string(from))
		}
	}
	return out
}

// Transition moves the order to c.To in one conditional UPDATE … WHERE
// status IN (allowed predecessors), so of concurrent transitions from one
// status only one succeeds. Errors: ErrNotFound; ErrInvalidTransition;
// ErrUnavailable.
func (s *orderStore) Transition(ctx context.Context, c ports.StatusChange) (before, after ecolaura.Order, err error) {
	if !validID(c.OrderID) {
		return before, after, notFound("order", c.OrderID)
	}
	var res struct {
		orderRow
		OldStatus    string    `bun:"old_status"`
		OldUpdatedAt time.Time `bun:"old_updated_at"`
	}
	preds := predecessors(c.To)
	if len(preds) > 0 {
		err = s.db.NewRaw(`UPDATE orders AS o SET status = ?, version = o.version + 1, updated_at = ?
			FROM (SELECT id, status AS old_status, updated_at AS old_updated_at FROM orders WHERE id = ? FOR UPDATE) AS old
			WHERE o.id = old.id AND o.status IN (?)
			RETURNING old.old_status, old.old_updated_at, `+prefixCols("o.", orderCols),
			string(c.To), c.At, string(c.OrderID), bun.List(preds)).Scan(ctx, &res)
	} else {
		err = sql.ErrNoRows
	}
	if errors.Is(err, sql.ErrNoRows) {
		var status string
		serr := s.db.NewRaw("SELECT status FROM orders WHERE id = ?", string(c.OrderID)).Scan(ctx, &status)
		if errors.Is(serr, sql.ErrNoRows) {
			return before, after, notFound("order", c.OrderID)
		}
		if serr != nil {
			return before, after, wrap(serr, "transition order %s", c.OrderID)
		}
		return before, after, fmt.Errorf("order %s: %s -> %s: %w", c.OrderID, status, c.To, ecolaura.ErrInvalidTransition)
	}
	if err != nil {
		return before, after, wrap(err, "transition order %s", c.OrderID)
	}
	var lines []lineRow
	if err := s.loadLines(ctx, s.db, []string{res.ID}, &lines); err != nil {
		return before, after, err
	}
	after = res.order(lines)
	before = after.Clone()
	before.Status = ecolaura.OrderStatus(res.OldStatus)
	before.UpdatedAt = res.OldUpdatedAt.UTC()
	before.Version = after.Version - 1
	return before, after, nil
}

func prefixCols(prefix, cols string) string {
	out := make([]byte, 0, len(cols)+64)
	out = append(out, prefix...)
	for i := 0; i < len(cols); i++ {
		out = append(out, cols[i])
		if cols[i] == ',' {
			for i+1 < len(cols) && (cols[i+1] == ' ' || cols[i+1] == '\n' || cols[i+1] == '\t') {
				i++
			}
			out = append(out, ' ')
			out = append(out, prefix...)
		}
	}
	return string(out)
}

// MarkConfirmationSent sets ConfirmationSentAt if unset, bumping the
// version, and reports whether this call set it. Errors: ErrNotFound;
// ErrUnavailable.
func (s *orderStore) MarkConfirmationSent(ctx context.Context, id ecolaura.ID, at time.Time) (bool, error) {
	if !validID(id) {
		return false, notFound("order", id)
	}
	res, err := s.db.NewRaw("UPDATE orders SET confirmation_sent_at = ?, version = version + 1 WHERE id = ? AND confirmation_sent_at IS NULL", at, string(id)).Exec(ctx)
	if err != nil {
		return false, wrap(err, "mark confirmation of order %s", id)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	exists, err := s.db.NewSelect().Table("orders").Where("id = ?", string(id)).Exists(ctx)
	if err != nil {
		return false, wrap(err, "mark confirmation of order %s", id)
	}
	if !exists {
		return false, notFound("order", id)
	}
	return false, nil
}

// jsonArg is an address snapshot as a statement argument: its JSON text,
// or NULL.
func jsonArg(a *addressJSON) *string {
	if a == nil {
		return nil
	}
	b, err := json.Marshal(a)
	if err != nil { // a struct of strings always encodes
		panic(err)
	}
	out := string(b)
	return &out
}
