package catalog

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Page sizes of [Service.List].
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// maxOffset bounds numbered pages so page × size cannot overflow anywhere.
const maxOffset = math.MaxInt32

// ListParams selects a page of products. Use either Cursor (keyset pages,
// stable while products are added) or Page (numbered pages with a total
// count, as the DRF-compatible v1 API needs), not both; with neither, the
// first cursor page is returned.
type ListParams struct {
	Filter ecolaura.ProductFilter
	// Sort defaults to [ecolaura.SortRelevance] with a search
	// (Filter.Query), else to [ecolaura.SortNewest].
	Sort ecolaura.ProductSort
	// PageSize defaults to [DefaultPageSize]; at most [MaxPageSize].
	PageSize int
	// Cursor is the NextCursor of the previous page, for the same sort.
	Cursor string
	// Page is a 1-based page number; 0 means cursor mode.
	Page int
}

// PageInfo describes the returned page.
type PageInfo struct {
	// Size is the page size used.
	Size int
	// Number is the 1-based page number, or 0 in cursor mode.
	Number int
	// Pages is the number of pages in numbered mode (0 when there is no
	// product), or 0 in cursor mode.
	Pages int
	// HasMore reports whether products follow this page.
	HasMore bool
}

// ListResult is one page of products.
type ListResult struct {
	Items []ecolaura.Product
	// NextCursor continues after the last item; "" at the end of the list.
	// It is set in numbered mode too, so a client may switch to cursors.
	NextCursor string
	// Total is the number of matching products in numbered mode, else -1.
	Total int
	Page  PageInfo
}

// List returns one page of products that match the filter, in the chosen
// sort. Anyone may list the catalog; customers and anonymous callers see
// only active products (their Filter.Status is set to active), staff see
// every product (or those of Filter.Status). Errors: *ValidationError (ErrInvalid)
// for a bad filter, sort, page size or page number, for a cursor combined
// with a page number, and on field "cursor" for a malformed or tampered
// cursor or one made for a different sort.
func (s *Service) List(ctx context.Context, actor ecolaura.Principal, params ListParams) (ListResult, error) {
	if !actor.IsStaff() {
		params.Filter.Status = ecolaura.ProductActive
	}
	q, err := params.query()
	if err != nil {
		return ListResult{}, fmt.Errorf("list products: %w", err)
	}
	page, err := s.db.Products().List(ctx, q)
	if err != nil {
		return ListResult{}, fmt.Errorf("list products: %w", err)
	}
	res := ListResult{
		Items: page.Items,
		Total: -1,
		Page:  PageInfo{Size: q.Limit, HasMore: page.HasMore},
	}
	if res.Items == nil {
		res.Items = []ecolaura.Product{}
	}
	if page.HasMore && len(page.Items) > 0 {
		n := len(page.Items) - 1
		last := page.Items[n]
		key := q.Sort.SortKey(last)
		if len(page.Keys) == len(page.Items) {
			key = page.Keys[n] // a search's relevance: the store's rank
		}
		res.NextCursor = EncodeCursor(q.Sort, ecolaura.ProductPosition{Key: key, ID: last.ID})
	}
	if params.Page > 0 {
		res.Total = page.Total
		res.Page.Number = params.Page
		res.Page.Pages = (page.Total + q.Limit - 1) / q.Limit
	}
	return res, nil
}

// query validates the parameters and turns them into a store query.
func (p ListParams) query() (ports.ProductQuery, error) {
	// Surrounding white space is not part of a search (as of names).
	p.Filter.Query = strings.TrimSpace(p.Filter.Query)
	var v ecolaura.Validator
	v.Merge("", p.Filter.Validate())
	sort := p.Sort
	switch {
	case sort == "" && p.Filter.Query != "":
		sort = ecolaura.SortRelevance
	case sort == "":
		sort = ecolaura.SortNewest
	}
	v.Check(sort.Valid(), "sort", "must be one of %s", sortNames())
	size := p.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	v.Check(size >= 1 && size <= MaxPageSize, "page_size", "must be between 1 and %d", MaxPageSize)
	v.Check(p.Page >= 0, "page", "must be at least 1")
	v.Check(p.Cursor == "" || p.Page == 0, "cursor", "cannot be combined with a page number")
	if !v.Valid() {
		return ports.ProductQuery{}, v.Err()
	}
	q := ports.ProductQuery{Filter: p.Filter, Sort: sort, Limit: size}
	if p.Page > 0 {
		if int64(p.Page-1)*int64(size) > maxOffset {
			return ports.ProductQuery{}, ecolaura.Invalid("page", "is too large")
		}
		q.Offset, q.WithTotal = (p.Page-1)*size, true
	}
	if p.Cursor != "" {
		pos, err := DecodeCursor(sort, p.Cursor)
		if err != nil {
			return ports.ProductQuery{}, err
		}
		q.After = &pos
	}
	return q, nil
}

func sortNames() string {
	names := make([]string, 0, 5)
	for _, s := range ecolaura.ProductSorts() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// cursorVersion prefixes every cursor so the format can evolve.
const cursorVersion = "c1"

// maxCursorLength bounds the input accepted by [DecodeCursor].
const maxCursorLength = 256

// EncodeCursor returns the opaque cursor for the position pos in sort: the
// URL-safe base64 of "c1|sort|key|id|crc32". The checksum detects edited or
// truncated cursors; it is not a secret (a forged cursor only moves the
// caller within the public catalog).
func EncodeCursor(sort ecolaura.ProductSort, pos ecolaura.ProductPosition) string {
	body := cursorVersion + "|" + string(sort) + "|" + strconv.FormatInt(pos.Key, 10) + "|" + string(pos.ID)
	sum := crc32.ChecksumIEEE([]byte(body))
	return base64.RawURLEncoding.EncodeToString([]byte(body + "|" + strconv.FormatUint(uint64(sum), 36)))
}

// DecodeCursor parses a cursor made by [EncodeCursor] for sort. It returns a
// *ValidationError on field "cursor" when the cursor is malformed, has been
// altered, or was made for a different sort.
func DecodeCursor(sort ecolaura.ProductSort, cursor string) (ecolaura.ProductPosition, error) {
	bad := func(msg string) (ecolaura.ProductPosition, error) {
		return ecolaura.ProductPosition{}, ecolaura.Invalid("cursor", "%s", msg)
	}
	if len(cursor) > maxCursorLength {
		return bad("is not a valid cursor")
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return bad("is not a valid cursor")
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 5 || parts[0] != cursorVersion {
		return bad("is not a valid cursor")
	}
	body := strings.Join(parts[:4], "|")
	if sum, err := strconv.ParseUint(parts[4], 36, 32); err != nil || uint32(sum) != crc32.ChecksumIEEE([]byte(body)) {
		return bad("is not a valid cursor")
	}
	if ecolaura.ProductSort(parts[1]) != sort {
		return bad("was made for sort " + strconv.Quote(parts[1]) + ", not " + strconv.Quote(string(sort)))
	}
	key, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || parts[3] == "" {
		return bad("is not a valid cursor")
	}
	return ecolaura.ProductPosition{Key: key, ID: ecolaura.ID(parts[3])}, nil
}
