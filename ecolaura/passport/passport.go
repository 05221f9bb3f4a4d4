// Package passport is the Digital Product Passport service of the Ecolaura
// SDK: staff publish a product's passport (ecolaura.Passport), every
// publication an immutable, numbered version recorded in the audit log;
// anyone reads the current or an older version and the list of versions.
// See ecolaura.Passport for the regulation (ESPR, Regulation (EU)
// 2024/1781) and the standards (GS1 Digital Link, UNTP) it follows.
//
// It depends only on the domain and the ports: wire it over any
// [ports.Database].
package passport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// publishRetries bounds how often [Service.Publish] takes the next number
// again after a concurrent publication of the same product won it.
const publishRetries = 5

// Service runs the passport use cases. It is safe for concurrent use.
type Service struct {
	db    ports.Database
	clock ports.Clock
	ids   ports.IDGenerator
}

// New returns a passport service over db, stamping publications with clock
// and naming audit events with ids. Errors: an *ecolaura.ConfigError when a
// dependency is nil.
func New(db ports.Database, clock ports.Clock, ids ports.IDGenerator) (*Service, error) {
	var v ecolaura.Validator
	v.Required("database", db)
	v.Required("clock", clock)
	v.Required("ids", ids)
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("passport: %w", err)
	}
	return &Service{db: db, clock: clock, ids: ids}, nil
}

// Validate normalises and checks a passport as Publish would, without
// publishing it. Errors: a *ecolaura.ValidationError.
func (s *Service) Validate(p ecolaura.Passport) error {
	p = p.Clone()
	p.Normalize()
	return p.Validate()
}

// Publish stores p (normalised) as the next version of the product's
// passport — version 1 the first time — published now by actor, and
// appends an audit event (entity "passport", action "publish", the
// product's ID, the version number and the top-level fields that changed)
// in the same transaction. Every call creates a version, even when nothing
// changed. Staff only. A concurrent publication of the same product is
// waited out: the version gets the next free number.
//
// Errors: ErrUnauthenticated; ErrForbidden; ErrNotFound when the product
// does not exist (also for an ID that is not a UUID); a
// *ecolaura.ValidationError naming every bad field; an
// *ecolaura.ConflictError on "gtin" (ErrConflict) when another product's
// current passport declares the same GTIN; ErrConflict when concurrent
// publications kept winning the next number.
func (s *Service) Publish(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, p ecolaura.Passport) (ecolaura.PassportVersion, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.PassportVersion{}, fmt.Errorf("publish passport: %w", err)
	}
	if _, err := ecolaura.ParseID(string(productID)); err != nil {
		return ecolaura.PassportVersion{}, fmt.Errorf("publish passport of %s: malformed id: %w", productID, ecolaura.ErrNotFound)
	}
	p = p.Clone()
	p.Normalize()
	if err := p.Validate(); err != nil {
		return ecolaura.PassportVersion{}, fmt.Errorf("publish passport of %s: %w", productID, err)
	}
	var out ecolaura.PassportVersion
	var err error
	for range publishRetries {
		err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			if _, err := tx.Products().Get(ctx, productID); err != nil {
				return err
			}
			if p.GTIN != "" {
				owner, err := tx.Passports().ProductByGTIN(ctx, p.GTIN)
				switch {
				case err == nil && owner != productID:
					return &ecolaura.ConflictError{Field: "gtin"}
				case err != nil && !errors.Is(err, ecolaura.ErrNotFound):
					return err
				}
			}
			var before *ecolaura.Passport
			next := 1
			latest, err := tx.Passports().Latest(ctx, productID)
			switch {
			case err == nil:
				before, next = &latest.Passport, latest.Number+1
			case !errors.Is(err, ecolaura.ErrNotFound):
				return err
			}
			v := ecolaura.PassportVersion{ProductID: productID, Number: next, PublishedAt: s.clock.Now().UTC(), PublishedBy: actor.UserID, Passport: p}
			if err := tx.Passports().Append(ctx, v); err != nil {
				return err
			}
			out = v
			return tx.Audit().Append(ctx, ecolaura.AuditEvent{
				ID: s.ids.NewID(), ActorID: actor.UserID, At: v.PublishedAt, Action: ecolaura.ActionPublish,
				Entity: ecolaura.EntityPassport, EntityID: productID, Changes: changes(before, &p, next),
			})
		})
		var taken *ecolaura.ConflictError
		if !errors.Is(err, ecolaura.ErrConflict) || errors.As(err, &taken) {
			break
		}
	}
	if err != nil {
		return ecolaura.PassportVersion{}, fmt.Errorf("publish passport of %s: %w", productID, err)
	}
	return out.Clone(), nil
}

// changes is the audit diff of a publication: the version number and the
// top-level fields whose JSON differs (values cut to the audit limit).
func changes(before, after *ecolaura.Passport, number int) []ecolaura.AuditChange {
	var d ecolaura.AuditDiff
	if number == 1 {
		d.Set("version", "1")
	} else {
		d.Compare("version", fmt.Sprint(number-1), fmt.Sprint(number))
	}
	fields := func(p *ecolaura.Passport) ([]string, map[string]string) {
		out := map[string]string{}
		if p == nil {
			return nil, out
		}
		b, _ := json.Marshal(p) // a validated passport always encodes
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		order := []string{"manufacturer", "country_of_origin", "materials", "recycled_content_pct", "expected_lifetime_years",
			"repairability", "substances_of_concern", "certifications", "carbon_footprint", "care_instructions", "end_of_life"}
		for _, k := range order {
			if raw, ok := m[k]; ok {
				out[k] = string(raw)
			}
		}
		return order, out
	}
	order, a := fields(after)
	_, b := fields(before)
	for _, k := range order {
		av, aok := a[k]
		bv, bok := b[k]
		switch {
		case aok && bok:
			d.Compare(k, bv, av)
		case aok:
			d.Set(k, av)
		case bok:
			d.Unset(k, bv)
		}
	}
	return d.Changes()
}

// View is a passport version as readers see it: the product it belongs
// to, the version asked for, and every version of the product (newest
// first), so a page can mark the current one and link the older ones.
type View struct {
	Product  ecolaura.Product
	Version  ecolaura.PassportVersion
	Versions []ecolaura.PassportVersionInfo
	// At is when the view was read (the service's clock): certificate
	// statuses are as of this time ([ecolaura.PassportCertificate.StatusAt]).
	At time.Time
}

// Current reports whether the viewed version is the latest one.
func (v View) Current() bool { return len(v.Versions) > 0 && v.Versions[0].Number == v.Version.Number }

// Get returns version number of the product's passport (0: the current
// one). Anyone may read it (ecolaura.Anonymous included), except that a
// draft product's passport is read only by staff (see [hidden]).
//
// Errors: ErrNotFound when the product does not exist (also for an ID that
// is not a UUID), is a draft and actor is not staff, has no passport, or
// has no such version; a
// *ecolaura.ValidationError on "version" for a negative number.
func (s *Service) Get(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID, number int) (View, error) {
	if number < 0 {
		return View{}, fmt.Errorf("passport of %s: %w", productID, ecolaura.Invalid("version", "must be a version number (1, 2, ...)"))
	}
	if _, err := ecolaura.ParseID(string(productID)); err != nil {
		return View{}, fmt.Errorf("passport of %s: malformed id: %w", productID, ecolaura.ErrNotFound)
	}
	p, err := s.db.Products().Get(ctx, productID)
	if err != nil {
		return View{}, fmt.Errorf("passport of %s: %w", productID, err)
	}
	if hidden(actor, p) {
		return View{}, fmt.Errorf("passport of %s: draft product: %w", productID, ecolaura.ErrNotFound)
	}
	store := s.db.Passports()
	var v ecolaura.PassportVersion
	if number == 0 {
		v, err = store.Latest(ctx, productID)
	} else {
		v, err = store.Get(ctx, productID, number)
	}
	if err != nil {
		return View{}, fmt.Errorf("passport of %s: %w", productID, err)
	}
	versions, err := store.Versions(ctx, productID)
	if err != nil {
		return View{}, fmt.Errorf("passport versions of %s: %w", productID, err)
	}
	return View{Product: p, Version: v, Versions: versions, At: s.clock.Now().UTC()}, nil
}

// Versions describes every version of the product's passport, newest
// first. Anyone may read them, except a draft product's (staff only).
// Errors: ErrNotFound when the product does not exist, is a draft and
// actor is not staff, or has no passport.
func (s *Service) Versions(ctx context.Context, actor ecolaura.Principal, productID ecolaura.ID) ([]ecolaura.PassportVersionInfo, error) {
	if _, err := ecolaura.ParseID(string(productID)); err != nil {
		return nil, fmt.Errorf("passport versions of %s: malformed id: %w", productID, ecolaura.ErrNotFound)
	}
	p, err := s.db.Products().Get(ctx, productID)
	if err != nil {
		return nil, fmt.Errorf("passport versions of %s: %w", productID, err)
	}
	if hidden(actor, p) {
		return nil, fmt.Errorf("passport versions of %s: draft product: %w", productID, ecolaura.ErrNotFound)
	}
	versions, err := s.db.Passports().Versions(ctx, productID)
	if err != nil {
		return nil, fmt.Errorf("passport versions of %s: %w", productID, err)
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("passport versions of %s: no passport: %w", productID, ecolaura.ErrNotFound)
	}
	return versions, nil
}

// hidden reports whether actor may not read p's passport: a draft product
// (not launched yet: next season's collection) is hidden from everyone but
// staff, as the catalog hides it. An archived product's passport stays
// readable: goods already sold carry its QR code, and the ESPR wants the
// passport available after the product leaves the market.
func hidden(actor ecolaura.Principal, p ecolaura.Product) bool {
	return p.Status == ecolaura.ProductDraft && !actor.IsStaff()
}

// Resolve returns the current passport version of the product that gtin
// (any of GTIN-8, -12, -13 or -14; see ecolaura.ParseGTIN) identifies: the
// product whose current passport declares it. Anyone may resolve. This is
// the lookup behind the GS1 Digital Link resolver (/01/{gtin}).
//
// Errors: a *ecolaura.ValidationError on "gtin" for a malformed GTIN or a
// wrong check digit; ErrNotFound when no product has it, or when its
// product is a draft and actor is not staff.
func (s *Service) Resolve(ctx context.Context, actor ecolaura.Principal, gtin string, number int) (View, error) {
	g, err := ecolaura.ParseGTIN(gtin)
	if err != nil {
		return View{}, fmt.Errorf("resolve GTIN: %w", err)
	}
	id, err := s.db.Passports().ProductByGTIN(ctx, g)
	if err != nil {
		return View{}, fmt.Errorf("resolve GTIN %s: %w", g, err)
	}
	return s.Get(ctx, actor, id, number)
}
