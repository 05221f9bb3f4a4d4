package orders

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Get returns an order. Customers see only their own: someone else's order
// is reported as not found, exactly like a missing one, so its existence does
// not leak. Staff see every order.
// Errors: ErrUnauthenticated; ErrNotFound.
func (s *Service) Get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Order, error) {
	return loadVisible(ctx, s.db.Orders(), actor, id)
}

// ListParams selects a page of orders, newest first.
//
// Cursor pages: leave Page at 0 and pass the NextCursor of the previous page
// (empty for the first). Numbered pages (for the DRF-compatible v1 API): set
// Page to 1, 2, ...; the result then carries the total count. Cursor and Page
// cannot be combined.
type ListParams struct {
	Cursor string
	Page   int
	// PageSize is 1–100; 0 means [DefaultPageSize].
	PageSize int
	// UserID lists one user's orders. Staff may set it to anyone (or leave it
	// empty for all orders); a customer always gets their own orders and may
	// only set it to their own ID.
	UserID ecolaura.ID
}

// ListResult is one page of orders.
type ListResult struct {
	Items []ecolaura.Order
	// NextCursor continues after the last item; "" on the last page.
	NextCursor string
	HasMore    bool
	// Total is the number of matching orders for numbered pages, -1 for
	// cursor pages.
	Total int
	// Page and PageSize echo the effective page (Page is 0 for cursor pages).
	Page     int
	PageSize int
}

// List returns a page of orders, newest first. A numbered page past the end
// is empty (with the total), so transports can answer as they like.
// Errors: ErrUnauthenticated; ErrForbidden when a customer asks for another
// user's orders; ErrInvalid (*ValidationError on "cursor", "page",
// "page_size" or "user_id").
func (s *Service) List(ctx context.Context, actor ecolaura.Principal, p ListParams) (ListResult, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ListResult{}, err
	}
	var v ecolaura.Validator
	v.Check(p.Page >= 0, "page", "must be a positive integer")
	v.Check(p.PageSize >= 0 && p.PageSize <= MaxPageSize, "page_size", "must be between 1 and %d", MaxPageSize)
	v.Check(p.Cursor == "" || p.Page == 0, "cursor", "cannot be combined with page")
	if p.UserID != "" {
		if _, err := ecolaura.ParseID(string(p.UserID)); err != nil {
			v.Add("user_id", "must be a user ID (UUID)")
		}
	}
	var after *ports.OrderPosition
	if p.Cursor != "" {
		pos, err := decodeCursor(p.Cursor)
		if err != nil {
			v.Add("cursor", "is not a valid cursor")
		}
		after = pos
	}
	if err := v.Err(); err != nil {
		return ListResult{}, err
	}
	userID := p.UserID
	if !actor.IsStaff() {
		if userID != "" && userID != actor.UserID {
			return ListResult{}, fmt.Errorf("list orders of another user: %w", ecolaura.ErrForbidden)
		}
		userID = actor.UserID
	}
	size := p.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	q := ports.OrderQuery{UserID: userID, After: after, Limit: size}
	if p.Page > 0 {
		const maxOffset = 1 << 30
		if p.Page-1 > maxOffset/size {
			return ListResult{}, ecolaura.Invalid("page", "is too large")
		}
		q.Offset = (p.Page - 1) * size
		q.WithTotal = true
	}
	page, err := s.db.Orders().List(ctx, q)
	if err != nil {
		return ListResult{}, fmt.Errorf("list orders: %w", err)
	}
	res := ListResult{Items: page.Items, HasMore: page.HasMore, Total: -1, Page: p.Page, PageSize: size}
	if p.Page > 0 {
		res.Total = page.Total
	}
	if page.HasMore && len(page.Items) > 0 {
		last := page.Items[len(page.Items)-1]
		res.NextCursor = encodeCursor(ports.OrderPosition{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return res, nil
}

// Cursors are opaque to clients: base64url("o1:<unix nanoseconds>:<order id>").
const cursorPrefix = "o1:"

func encodeCursor(p ports.OrderPosition) string {
	raw := cursorPrefix + strconv.FormatInt(p.CreatedAt.UnixNano(), 10) + ":" + string(p.ID)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(c string) (*ports.OrderPosition, error) {
	if len(c) > 128 {
		return nil, fmt.Errorf("cursor too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return nil, fmt.Errorf("unknown cursor version")
	}
	ns, id, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, fmt.Errorf("malformed cursor")
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return nil, err
	}
	pid, err := ecolaura.ParseID(id)
	if err != nil {
		return nil, err
	}
	return &ports.OrderPosition{CreatedAt: time.Unix(0, n).UTC(), ID: pid}, nil
}
