package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/inventory"
	"github.com/ecolaura/ecolaura/ports"
)

// v2Level is a variant's stock at one location.
type v2Level struct {
	LocationID   ecolaura.ID `json:"location_id"`
	LocationName string      `json:"location_name"`
	Ships        bool        `json:"ships"`
	OnHand       int         `json:"on_hand"`
}

// v2Inventory is a variant's stock: available (the units at locations that
// ship) and the level at every location that has one.
type v2Inventory struct {
	VariantID ecolaura.ID `json:"variant_id"`
	ProductID ecolaura.ID `json:"product_id"`
	SKU       *string     `json:"sku"`
	Available int         `json:"available"`
	Levels    []v2Level   `json:"levels"`
}

// v2Movement is one recorded change of a level: who (actor_id, null for
// the system or a customer's order), when, why and by how much.
type v2Movement struct {
	ID         ecolaura.ID  `json:"id"`
	VariantID  ecolaura.ID  `json:"variant_id"`
	LocationID ecolaura.ID  `json:"location_id"`
	Delta      int          `json:"delta"`
	OnHand     int          `json:"on_hand"`
	Reason     string       `json:"reason"`
	ActorID    *ecolaura.ID `json:"actor_id"`
	OrderID    *ecolaura.ID `json:"order_id"`
	Note       string       `json:"note"`
	At         string       `json:"at"`
}

func toV2Movement(m ecolaura.InventoryMovement) v2Movement {
	out := v2Movement{ID: m.ID, VariantID: m.VariantID, LocationID: m.LocationID, Delta: m.Delta, OnHand: m.OnHand,
		Reason: string(m.Reason), Note: m.Note, At: rfc3339(m.At)}
	if m.ActorID != "" {
		a := m.ActorID
		out.ActorID = &a
	}
	if m.OrderID != "" {
		o := m.OrderID
		out.OrderID = &o
	}
	return out
}

// v2InventoryChange answers a stock change: the variant's stock after it
// and the movement that recorded it.
type v2InventoryChange struct {
	v2Inventory
	Movement v2Movement `json:"movement"`
}

// staffVariant reads the variant in the path for a staff request.
func (s *Server) staffVariant(c *fiber.Ctx) (ecolaura.Principal, ecolaura.Variant, error) {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return actor, ecolaura.Variant{}, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return actor, ecolaura.Variant{}, err
	}
	_, v, err := s.svc.Catalog.GetVariant(c.UserContext(), actor, id)
	return actor, v, err
}

// inventoryOf reads a variant's levels with the locations' names.
func (s *Server) inventoryOf(c *fiber.Ctx, actor ecolaura.Principal, v ecolaura.Variant, locs []ecolaura.StockLocation) (v2Inventory, error) {
	ctx := c.UserContext()
	if locs == nil {
		var err error
		if locs, err = s.svc.Inventory.Locations(ctx, actor); err != nil {
			return v2Inventory{}, err
		}
	}
	levels, err := s.svc.Inventory.Levels(ctx, actor, v.ID)
	if err != nil {
		return v2Inventory{}, err
	}
	out := v2Inventory{VariantID: v.ID, ProductID: v.ProductID, Levels: make([]v2Level, 0, len(levels))}
	if v.SKU != "" {
		sku := v.SKU
		out.SKU = &sku
	}
	byID := make(map[ecolaura.ID]ecolaura.StockLocation, len(locs))
	for _, l := range locs {
		byID[l.ID] = l
	}
	for _, l := range levels {
		loc := byID[l.LocationID]
		out.Levels = append(out.Levels, v2Level{LocationID: l.LocationID, LocationName: loc.Name, Ships: loc.Ships, OnHand: l.OnHand})
		if loc.Ships {
			out.Available += l.OnHand
		}
	}
	return out, nil
}

// v2GetInventory shows a variant's stock per location (staff).
func (s *Server) v2GetInventory(c *fiber.Ctx) error {
	actor, v, err := s.staffVariant(c)
	if err != nil {
		return err
	}
	if err := noQueryParams(c); err != nil {
		return err
	}
	out, err := s.inventoryOf(c, actor, v, nil)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// v2StockInput is a stock change: PUT sets "stock" (absolute), POST adds
// "delta" (relative) with a "reason"; both optionally at "location_id"
// (default: the default location) with a "note".
type v2StockInput struct {
	Stock      *int    `json:"stock"`
	Delta      *int    `json:"delta"`
	Reason     *string `json:"reason"`
	LocationID *string `json:"location_id"`
	Note       *string `json:"note"`
}

// v2ChangeStock serves PUT (set, absolute) and POST (adjust, relative)
// /api/v2/variants/{id}/inventory.
func (s *Server) v2ChangeStock(set bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		actor, v, err := s.staffVariant(c)
		if err != nil {
			return err
		}
		var in v2StockInput
		var errs fieldErrors
		if err := decodeBody(c.Body(), &in, true, v2Dialect, &errs); err != nil {
			return err
		}
		if set {
			errs.require(in.Stock != nil, "stock", v2Dialect)
			for name, given := range map[string]bool{"delta": in.Delta != nil, "reason": in.Reason != nil} {
				if given {
					errs.add(name, "is not a field of an absolute set (POST adjusts relatively)")
				}
			}
		} else {
			errs.require(in.Delta != nil, "delta", v2Dialect)
			if in.Stock != nil {
				errs.add("stock", "is not a field of a relative adjustment (PUT sets the stock)")
			}
			if in.Reason != nil {
				r := ecolaura.MovementReason(*in.Reason)
				if r != ecolaura.MoveRestock && r != ecolaura.MoveAdjustment {
					errs.add("reason", "must be restock or adjustment")
				}
			}
		}
		ctx := c.UserContext()
		locs, err := s.svc.Inventory.Locations(ctx, actor)
		if err != nil {
			return err
		}
		ch := inventory.Change{VariantID: v.ID, Note: deref(in.Note)}
		if in.LocationID != nil {
			ch.LocationID = ecolaura.ID(strings.ToLower(*in.LocationID))
			known := false
			for _, l := range locs {
				known = known || l.ID == ch.LocationID
			}
			if !known {
				errs.add("location_id", "is not a stock location")
			}
		}
		if err := errs.err(); err != nil {
			return err
		}
		var res inventory.Result
		if set {
			res, err = s.svc.Inventory.Set(ctx, actor, ch, *in.Stock)
		} else {
			res, err = s.svc.Inventory.Adjust(ctx, actor, ch, *in.Delta, ecolaura.MovementReason(deref(in.Reason)))
		}
		if err != nil {
			return err
		}
		out, err := s.inventoryOf(c, actor, v, locs)
		if err != nil {
			return err
		}
		return sendJSON(c, http.StatusOK, v2InventoryChange{v2Inventory: out, Movement: toV2Movement(res.Movement)})
	}
}

type v2MovementPage struct {
	Items      []v2Movement `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

// movementCursor encodes a movement's position in the newest-first order.
func movementCursor(m ecolaura.InventoryMovement) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(m.At.UnixNano(), 10) + "/" + string(m.ID)))
}

func parseMovementCursor(s string) (*ports.MovementPosition, error) {
	bad := ecolaura.Invalid("cursor", "is not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	at, id, ok := strings.Cut(string(raw), "/")
	ns, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		return nil, bad
	}
	if _, err := ecolaura.ParseID(id); err != nil {
		return nil, bad
	}
	return &ports.MovementPosition{At: time.Unix(0, ns).UTC(), ID: ecolaura.ID(id)}, nil
}

// v2ListMovements lists a variant's inventory movements, newest first, in
// cursor pages (staff).
func (s *Server) v2ListMovements(c *fiber.Ctx) error {
	actor, v, err := s.staffVariant(c)
	if err != nil {
		return err
	}
	q, err := v2Query(c)
	if err != nil {
		return err
	}
	if err := onlyParams(q, "cursor", "limit"); err != nil {
		return err
	}
	size, err := limitParam(q, MaxPageSize)
	if err != nil {
		return err
	}
	if size == 0 {
		size = DefaultPageSize
	}
	mq := ports.MovementQuery{VariantID: v.ID, Limit: size + 1}
	if cur := q.Get("cursor"); cur != "" {
		if mq.Before, err = parseMovementCursor(cur); err != nil {
			return err
		}
	}
	ms, err := s.svc.Inventory.Movements(c.UserContext(), actor, mq)
	if err != nil {
		return err
	}
	out := v2MovementPage{Items: make([]v2Movement, 0, len(ms))}
	if len(ms) > size {
		ms = ms[:size]
		next := movementCursor(ms[size-1])
		out.NextCursor = &next
	}
	for _, m := range ms {
		out.Items = append(out.Items, toV2Movement(m))
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// v2Location is a stock location.
type v2Location struct {
	ID       ecolaura.ID `json:"id"`
	Name     string      `json:"name"`
	Ships    bool        `json:"ships"`
	Position int         `json:"position"`
}

func toV2Location(l ecolaura.StockLocation) v2Location {
	return v2Location{ID: l.ID, Name: l.Name, Ships: l.Ships, Position: l.Position}
}

// v2ListLocations lists the stock locations in position order (staff).
func (s *Server) v2ListLocations(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	if err := noQueryParams(c); err != nil {
		return err
	}
	locs, err := s.svc.Inventory.Locations(c.UserContext(), actor)
	if err != nil {
		return err
	}
	out := struct {
		Items []v2Location `json:"items"`
	}{Items: make([]v2Location, 0, len(locs))}
	for _, l := range locs {
		out.Items = append(out.Items, toV2Location(l))
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// v2CreateLocation adds a stock location after the others (staff):
// {"name", "ships"}.
func (s *Server) v2CreateLocation(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireStaff(); err != nil {
		return err
	}
	var in struct {
		Name  *string `json:"name"`
		Ships *bool   `json:"ships"`
	}
	var errs fieldErrors
	if err := decodeBody(c.Body(), &in, true, v2Dialect, &errs); err != nil {
		return err
	}
	errs.require(in.Name != nil, "name", v2Dialect)
	errs.require(in.Ships != nil, "ships", v2Dialect)
	if err := errs.err(); err != nil {
		return err
	}
	l, err := s.svc.Inventory.CreateLocation(c.UserContext(), actor, inventory.LocationInput{Name: *in.Name, Ships: *in.Ships})
	if err != nil {
		return err
	}
	c.Location(s.absURL(c, "/api/v2/stock-locations"))
	return sendJSON(c, http.StatusCreated, toV2Location(l))
}
