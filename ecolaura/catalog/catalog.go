// Package catalog is the product catalog service of the Ecolaura SDK: create,
// update, replace and delete products (staff only), and read them — one by
// one, as filtered and sorted pages (cursor or numbered), and by category.
//
// The service enforces authorization (every use case takes the acting
// [ecolaura.Principal]) and the domain's validation rules, computes the
// sustainability score of products with metrics, and uses optimistic
// concurrency (product versions) for every edit. Every write is recorded
// in the audit log (ports.AuditLog) in its own transaction, with the
// acting principal and a compact diff. It depends only on the domain and
// the ports: wire it over any [ports.Database], typically one wrapped by
// package productcache.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// DefaultUpdateRetries is how often [Service.Update] retries its
// read-modify-write after losing a race to a concurrent edit when no expected
// version was given.
const DefaultUpdateRetries = 5

// Config holds the optional settings of a [Service]. Build it with
// [Option]s passed to [New].
type Config struct {
	// Logger receives diagnostic messages; nil discards them.
	Logger *slog.Logger
	// DefaultCurrency is the shop's currency: prices given without a
	// currency are in it, and a price in any other currency is refused
	// (ErrInvalid on "price.currency"), since lists sort and filter by
	// minor units and checkout totals in one currency.
	DefaultCurrency ecolaura.Currency
	// UpdateRetries bounds the retries of an unconditional Update (0–100).
	UpdateRetries int
	// Media stores the files of product images (nil: image writes fail).
	Media ports.MediaStore
	// MediaGrace is how long an unused media file is kept after its last
	// write (at least a minute; default DefaultMediaGrace).
	MediaGrace time.Duration
}

// Validate reports out-of-range settings as an *ecolaura.ConfigError.
func (c Config) Validate() error {
	var v ecolaura.Validator
	v.Check(c.DefaultCurrency.Valid(), "default_currency", "unsupported currency %q", string(c.DefaultCurrency))
	v.Check(c.UpdateRetries >= 0 && c.UpdateRetries <= 100, "update_retries", "must be between 0 and 100")
	v.Check(c.MediaGrace >= time.Minute, "media_grace", "must be at least a minute")
	if c.Media != nil {
		v.Required("media", c.Media)
	}
	return v.ConfigErr()
}

// Option configures a [Service].
type Option func(*Config)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(cfg *Config) { cfg.Logger = l } }

// WithDefaultCurrency sets the shop's currency (default EUR): prices given
// without a currency are in it, and prices in another currency are refused.
// Use the same currency as orders.WithCurrency.
func WithDefaultCurrency(c ecolaura.Currency) Option {
	return func(cfg *Config) { cfg.DefaultCurrency = c }
}

// WithUpdateRetries sets how often an unconditional Update retries after a
// version conflict (default [DefaultUpdateRetries]).
func WithUpdateRetries(n int) Option { return func(cfg *Config) { cfg.UpdateRetries = n } }

// Service runs the catalog use cases. It is safe for concurrent use.
type Service struct {
	db    ports.Database
	clock ports.Clock
	ids   ports.IDGenerator
	cfg   Config
	log   *slog.Logger
}

// New returns a catalog service over db, stamping times with clock and
// naming new products with ids. It returns an *ecolaura.ConfigError when a
// dependency is nil or a setting is out of range.
func New(db ports.Database, clock ports.Clock, ids ports.IDGenerator, opts ...Option) (*Service, error) {
	cfg := Config{DefaultCurrency: ecolaura.DefaultCurrency, UpdateRetries: DefaultUpdateRetries, MediaGrace: DefaultMediaGrace}
	for _, o := range opts {
		o(&cfg)
	}
	var v ecolaura.Validator
	v.Required("database", db)
	v.Required("clock", clock)
	v.Required("ids", ids)
	v.Merge("", cfg.Validate())
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, clock: clock, ids: ids, cfg: cfg, log: log.With("service", "catalog")}, nil
}

// DefaultCurrency returns the shop's currency: the currency of prices given
// without one, and the only currency a price may have.
func (s *Service) DefaultCurrency() ecolaura.Currency { return s.cfg.DefaultCurrency }

// ProductInput is the editable content of a product, for [Service.Create]
// and [Service.Replace].
type ProductInput struct {
	Name        string
	Description string
	Category    string
	// Price; an empty currency means the shop's currency (see
	// [Config.DefaultCurrency]); another currency is refused.
	Price ecolaura.Money
	// Stock is the product's total stock to sell (v1's stock): on create the
	// default variant's initial stock; on replace the default variant's
	// level at the default location is set so that the total is Stock.
	Stock int
	// Metrics, when set, determine the score (Score is then ignored).
	Metrics *ecolaura.SustainabilityMetrics
	// Score is kept only for a product without metrics.
	Score int
	// Status; "" keeps the current one (active for a new product).
	Status ecolaura.ProductStatus
	// Options and Variants, on create only (Replace keeps the variants and
	// edits the default one): without variants the product gets one default
	// variant with Price and Stock; with variants, each has its own stock
	// and a variant without a price gets Price, and Stock is ignored.
	Options  []ecolaura.ProductOption
	Variants []VariantInput
}

// placeholderID stands for the ID of a product being validated before it
// has one.
const placeholderID ecolaura.ID = "00000000-0000-0000-0000-000000000000"

// apply writes the input onto p (a deep copy of the metrics).
func (in ProductInput) apply(p *ecolaura.Product) {
	p.Name, p.Description, p.Category = in.Name, in.Description, in.Category
	p.Price, p.Stock, p.Score = in.Price, in.Stock, in.Score
	if in.Status != "" {
		p.Status = in.Status
	}
	p.Metrics = nil
	if in.Metrics != nil {
		m := in.Metrics.Clone()
		p.Metrics = &m
	}
	setDefaultPrice(p, in.Price)
}

// addVariants gives a new product the input's options and variants.
func (s *Service) addVariants(p *ecolaura.Product, in ProductInput) error {
	for _, o := range in.Options {
		p.Options = append(p.Options, ecolaura.ProductOption{Name: o.Name, Values: slices.Clone(o.Values)})
	}
	if len(in.Variants) == 0 {
		return nil
	}
	if p.Price.Currency == "" {
		p.Price.Currency = s.cfg.DefaultCurrency
	}
	var v ecolaura.Validator
	p.Stock = 0
	for i, vi := range in.Variants {
		id := p.ID // the first variant has the product's ID, as a default variant made for it would
		if i > 0 {
			id = s.ids.NewID()
		}
		vr, err := s.variant(*p, id, vi)
		v.Merge(fmt.Sprintf("variants[%d]", i), err)
		p.Variants = append(p.Variants, vr)
		p.Stock += vi.Stock
	}
	if err := v.Err(); err != nil {
		return err
	}
	p.Price = p.Variants[0].Price
	return nil
}

// setDefaultPrice makes m the price of the product and of its default
// variant (v1 writes edit the default variant).
func setDefaultPrice(p *ecolaura.Product, m ecolaura.Money) {
	p.Price = m
	if len(p.Variants) > 0 {
		p.Variants[0].Price = m
	}
}

// prepare fills defaults, normalises, validates and scores p. priceSet
// tells whether the write sets the price, which must then be in the shop's
// currency.
func (s *Service) prepare(p *ecolaura.Product, priceSet bool) error {
	if p.Price.Currency == "" {
		setDefaultPrice(p, ecolaura.Money{Amount: p.Price.Amount, Currency: s.cfg.DefaultCurrency})
	}
	p.Normalize()
	stock := p.Stock
	p.Complete()
	p.Stock = stock // what the caller asked for (checked below); the variants' stock is the inventory's
	var v ecolaura.Validator
	if p.Metrics != nil {
		// The given score is replaced by the computed one for products with
		// metrics, but a value outside 0–100 is still an error of the
		// request (as v1's serializer reports it): check it, then score.
		v.Check(p.Score >= 0 && p.Score <= 100, "sustainability_score", "must be between 0 and 100")
		p.Rescore()
	}
	if priceSet && p.Price.Currency.Valid() {
		v.Check(p.Price.Currency == s.cfg.DefaultCurrency, "price.currency",
			"must be %s, the shop's currency (got %s)", s.cfg.DefaultCurrency, p.Price.Currency)
	}
	v.Merge("", p.Validate())
	if err := v.Err(); err != nil {
		return err
	}
	p.Rescore()
	return nil
}

// ValidateInput checks in exactly as [Service.Create] would, without
// storing anything, and returns a *ecolaura.ValidationError naming every
// invalid field, or nil. Transports use it to report every problem of a
// request at once.
func (s *Service) ValidateInput(in ProductInput) error {
	p := ecolaura.Product{ID: placeholderID}
	in.apply(&p)
	return s.prepare(&p, true)
}

// ValidatePatch checks every field patch sets with the rules
// [Service.Update] applies, without reading or storing anything, and
// returns a *ecolaura.ValidationError naming every invalid field, or nil.
// (Update still checks the whole product it produces.)
func (s *Service) ValidatePatch(patch Patch) error {
	var v ecolaura.Validator
	v.Merge("", patch.check())
	// A valid product changed by the patch alone: every error is the patch's.
	// It has metrics, so that a metrics patch's own values are checked
	// (whether a footprint is needed depends on the stored product).
	p := ecolaura.Product{ID: placeholderID, Name: "x", Category: "x", Price: ecolaura.NewMoney(0, s.cfg.DefaultCurrency)}
	if patch.Options != nil { // a variant that gives a value of each option
		v := ecolaura.Variant{ID: placeholderID, Options: map[string]string{}}
		for _, o := range *patch.Options {
			if len(o.Values) > 0 {
				v.Options[o.Name] = o.Values[0]
			}
		}
		p.Variants = []ecolaura.Variant{v}
	}
	if patch.MetricsPatch != nil {
		p.Metrics = &ecolaura.SustainabilityMetrics{}
	}
	if err := s.applyPatch(patch, &p); err != nil && v.Valid() {
		v.Merge("", err)
	}
	v.Merge("", s.prepare(&p, patch.Price != nil))
	return v.Err()
}

// Create adds a product and returns it as stored (ID, times, Version 1 and
// the computed score set). Errors: ErrUnauthenticated, ErrForbidden (not
// staff); *ValidationError (ErrInvalid) naming every invalid field,
// including "price.currency" for a price not in the shop's currency;
// ErrConflict if the generated ID collides.
func (s *Service) Create(ctx context.Context, actor ecolaura.Principal, in ProductInput) (ecolaura.Product, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.Product{}, fmt.Errorf("create product: %w", err)
	}
	p := ecolaura.Product{ID: s.ids.NewID()}
	in.apply(&p)
	if err := s.addVariants(&p, in); err != nil {
		return ecolaura.Product{}, fmt.Errorf("create product: %w", err)
	}
	if err := s.prepare(&p, true); err != nil {
		return ecolaura.Product{}, fmt.Errorf("create product: %w", err)
	}
	now := s.clock.Now()
	p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if err := tx.Products().Create(ctx, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionCreate, p.ID, ecolaura.ProductChanges(nil, &p))
	})
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("create product: %w", err)
	}
	s.log.InfoContext(ctx, "product created", "id", p.ID, "actor", actor.UserID)
	return p, nil
}

// Patch is a partial update: nil fields are left unchanged.
type Patch struct {
	Name        *string
	Description *string
	Category    *string
	// Price; an empty currency means the shop's currency (see
	// [Config.DefaultCurrency]); another currency is refused.
	Price *ecolaura.Money
	// Stock sets the product's total stock by setting its default variant's
	// level at the default location (see [ProductInput.Stock]).
	Stock *int
	// Status moves the product to draft, active or archived.
	Status *ecolaura.ProductStatus
	// Options replaces the product's options: to add values (before the
	// variants that use them are created), remove values no variant uses,
	// reorder, or drop an option (its value is removed from every variant;
	// the remaining combinations must still be unique). Every variant must
	// still give one value of each option (ErrInvalid on
	// "variants[i].options" otherwise); a renamed option is a dropped one
	// plus a new one the variants have no value of.
	Options *[]ecolaura.ProductOption
	// Metrics replaces the whole metrics object.
	Metrics *ecolaura.SustainabilityMetrics
	// MetricsPatch changes some of the metrics and keeps the others (JSON
	// Merge Patch semantics, RFC 7396), applied to the stored product inside
	// the write's transaction. A product without metrics gets metrics only
	// when the patch sets the carbon footprint (else ErrInvalid on
	// "carbon_footprint").
	MetricsPatch *MetricsPatch
	// ClearMetrics removes the metrics (the product keeps its current score
	// unless Score is set). At most one of Metrics, MetricsPatch and
	// ClearMetrics may be set.
	ClearMetrics bool
	// Score is kept only for a product without metrics.
	Score *int
	// ExpectedVersion, when set, makes the update conditional: it fails with
	// ErrConflict unless the stored product has this version.
	ExpectedVersion *int64
}

// MetricsPatch is a partial change of a product's sustainability metrics:
// nil fields keep the stored values.
type MetricsPatch struct {
	// CarbonFootprint per unit, in grams CO2e.
	CarbonFootprint *ecolaura.CO2e
	Recyclable      *bool
	Biodegradable   *bool
	// RecycledContent sets the recycled share in percent (0–100).
	RecycledContent *int
	// ClearRecycledContent makes the recycled share unknown; it cannot be
	// combined with RecycledContent.
	ClearRecycledContent bool
	// Certifications, when not nil, replaces the whole list (an empty list
	// removes every certification).
	Certifications *[]ecolaura.Certification
}

// applyTo returns m (nil: no metrics yet) changed by the patch. ok is false
// when the product has no metrics and the patch sets no footprint.
func (mp MetricsPatch) applyTo(m *ecolaura.SustainabilityMetrics) (out ecolaura.SustainabilityMetrics, ok bool) {
	if m == nil && mp.CarbonFootprint == nil {
		return ecolaura.SustainabilityMetrics{}, false
	}
	if m != nil {
		out = m.Clone()
	}
	if mp.CarbonFootprint != nil {
		out.CarbonFootprint = *mp.CarbonFootprint
	}
	if mp.Recyclable != nil {
		out.Recyclable = *mp.Recyclable
	}
	if mp.Biodegradable != nil {
		out.Biodegradable = *mp.Biodegradable
	}
	if mp.ClearRecycledContent {
		out.RecycledContent = nil
	}
	if mp.RecycledContent != nil {
		v := *mp.RecycledContent
		out.RecycledContent = &v
	}
	if mp.Certifications != nil {
		out.Certifications = slices.Clone(*mp.Certifications)
	}
	return out, true
}

// empty reports whether the patch changes nothing.
func (pt Patch) empty() bool {
	return pt.Name == nil && pt.Description == nil && pt.Category == nil && pt.Price == nil && pt.Status == nil && pt.Options == nil &&
		pt.Stock == nil && pt.Metrics == nil && pt.MetricsPatch == nil && !pt.ClearMetrics && pt.Score == nil
}

// check reports the combinations a patch may not have.
func (pt Patch) check() error {
	var v ecolaura.Validator
	n := 0
	for _, set := range []bool{pt.Metrics != nil, pt.MetricsPatch != nil, pt.ClearMetrics} {
		if set {
			n++
		}
	}
	v.Check(n <= 1, "metrics", "cannot be set, patched and cleared at once")
	if mp := pt.MetricsPatch; mp != nil {
		v.Check(!(mp.ClearRecycledContent && mp.RecycledContent != nil), "recycled_content", "cannot be set and cleared at once")
	}
	v.Merge("", validateExpected(pt.ExpectedVersion))
	return v.Err()
}

// applyPatch applies pt to p, a price without currency in the shop's.
func (s *Service) applyPatch(pt Patch, p *ecolaura.Product) error {
	if err := pt.apply(p); err != nil {
		return err
	}
	if pt.Price != nil && p.Price.Currency == "" {
		setDefaultPrice(p, ecolaura.Money{Amount: p.Price.Amount, Currency: s.cfg.DefaultCurrency})
	}
	return nil
}

// apply writes the patch onto p. It fails only for a MetricsPatch without
// a footprint on a product without metrics.
func (pt Patch) apply(p *ecolaura.Product) error {
	if pt.Name != nil {
		p.Name = *pt.Name
	}
	if pt.Description != nil {
		p.Description = *pt.Description
	}
	if pt.Category != nil {
		p.Category = *pt.Category
	}
	if pt.Price != nil {
		setDefaultPrice(p, *pt.Price)
	}
	if pt.Status != nil {
		p.Status = *pt.Status
	}
	if pt.Options != nil {
		p.Options = make([]ecolaura.ProductOption, 0, len(*pt.Options))
		names := map[string]bool{}
		for _, o := range *pt.Options {
			p.Options = append(p.Options, ecolaura.ProductOption{Name: o.Name, Values: slices.Clone(o.Values)})
			names[o.Name] = true
		}
		for i := range p.Variants {
			v := &p.Variants[i]
			v.Options = maps.Clone(v.Options)
			maps.DeleteFunc(v.Options, func(name, _ string) bool { return !names[name] })
		}
	}
	if pt.Stock != nil {
		p.Stock = *pt.Stock
	}
	if pt.ClearMetrics {
		p.Metrics = nil
	}
	if pt.Metrics != nil {
		m := pt.Metrics.Clone()
		p.Metrics = &m
	}
	if pt.MetricsPatch != nil {
		m, ok := pt.MetricsPatch.applyTo(p.Metrics)
		if !ok {
			return ecolaura.Invalid("carbon_footprint", "is required: the product has no metrics yet")
		}
		p.Metrics = &m
	}
	if pt.Score != nil {
		p.Score = *pt.Score
	}
	return nil
}

// Update applies a partial change and returns the stored product. With
// ExpectedVersion it is a compare-and-set; without it, it re-reads and retries
// a few times when a concurrent edit wins. An empty patch returns the product
// unchanged. Errors: ErrUnauthenticated, ErrForbidden (not staff);
// ErrNotFound (also for an ID that is not a UUID); *ValidationError
// (ErrInvalid); ErrConflict (version mismatch,
// or still losing races after the retries).
func (s *Service) Update(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch Patch) (ecolaura.Product, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	if err := patch.check(); err != nil {
		return ecolaura.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	p, err := s.edit(ctx, actor, id, patch.ExpectedVersion, !patch.empty(), patch.Price != nil, patch.Stock != nil, func(p *ecolaura.Product) error { return s.applyPatch(patch, p) })
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	return p, nil
}

// Replacement is the full new content of a product for [Service.Replace].
type Replacement struct {
	ProductInput
	// ExpectedVersion, when set, makes the replacement conditional (see
	// [Patch.ExpectedVersion]).
	ExpectedVersion *int64
}

// Replace overwrites every editable field of the product (PUT semantics; the
// ID and creation time are kept) and returns the stored product. Errors:
// ErrUnauthenticated, ErrForbidden (not staff); ErrNotFound;
// *ValidationError (ErrInvalid); ErrConflict.
func (s *Service) Replace(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, r Replacement) (ecolaura.Product, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.Product{}, fmt.Errorf("replace product %s: %w", id, err)
	}
	if err := validateExpected(r.ExpectedVersion); err != nil {
		return ecolaura.Product{}, fmt.Errorf("replace product %s: %w", id, err)
	}
	p, err := s.edit(ctx, actor, id, r.ExpectedVersion, true, true, true, func(p *ecolaura.Product) error {
		r.ProductInput.apply(p)
		return nil
	})
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("replace product %s: %w", id, err)
	}
	return p, nil
}

func validateExpected(v *int64) error {
	if v != nil && *v < 1 {
		return ecolaura.Invalid("version", "must be at least 1")
	}
	return nil
}

// knownShape returns ErrNotFound for an ID that no product can have (not a
// canonical UUID), so stores never see malformed IDs.
func knownShape(id ecolaura.ID) error {
	if _, err := ecolaura.ParseID(string(id)); err != nil {
		return fmt.Errorf("malformed id %q: %w", id, ecolaura.ErrNotFound)
	}
	return nil
}

// edit runs a read-modify-write of one product, each attempt one
// transaction with its audit event (none when nothing changed). The product
// it changes is read from the store inside that transaction, never from a
// cache: the stored row is the base of the write, so a change made behind a
// cache's back (a manual SQL fix that left the version alone) is kept, not
// overwritten with a cached copy. The write is a compare-and-set on the
// version read; without an expected version a lost race is retried.
func (s *Service) edit(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, expected *int64, write, priceSet, stockSet bool, change func(*ecolaura.Product) error) (ecolaura.Product, error) {
	return s.editThen(ctx, actor, id, expected, write, priceSet, stockSet, change, nil)
}

// editThen is edit with then, when not nil, run in the write's transaction
// after the product is stored (for the writes an edit implies elsewhere).
func (s *Service) editThen(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, expected *int64, write, priceSet, stockSet bool,
	change func(*ecolaura.Product) error, then func(ctx context.Context, tx ports.Tx, stored ecolaura.Product) error) (ecolaura.Product, error) {
	if err := knownShape(id); err != nil {
		return ecolaura.Product{}, err
	}
	for attempt := 0; ; attempt++ {
		var stored ecolaura.Product
		err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
			cur, err := tx.Products().Get(ctx, id)
			if err != nil {
				return err
			}
			if expected != nil && cur.Version != *expected {
				return fmt.Errorf("version %d is stale, current is %d: %w", *expected, cur.Version, ecolaura.ErrConflict)
			}
			if !write {
				stored = cur
				return nil
			}
			next := cur.Clone()
			if err := change(&next); err != nil {
				return err
			}
			if err := s.prepare(&next, priceSet); err != nil {
				return err
			}
			next.UpdatedAt = s.clock.Now()
			want := next.Stock
			if stored, err = tx.Products().Update(ctx, next); err != nil {
				return err
			}
			if stockSet && want != stored.Stock {
				if stored, err = s.setTotalStock(ctx, tx, actor, stored, want); err != nil {
					return err
				}
			}
			if then != nil {
				if err := then(ctx, tx, stored); err != nil {
					return err
				}
			}
			changes := ecolaura.ProductChanges(&cur, &stored)
			if len(changes) == 0 {
				return nil
			}
			return s.audit(ctx, tx, actor, ecolaura.ActionUpdate, id, changes)
		})
		switch {
		case err == nil:
			if write {
				s.log.InfoContext(ctx, "product updated", "id", id, "version", stored.Version)
			}
			return stored, nil
		case errors.Is(err, ecolaura.ErrConflict) && expected == nil && attempt < s.cfg.UpdateRetries:
			s.log.DebugContext(ctx, "product update lost a race, retrying", "id", id, "attempt", attempt+1)
			continue
		default:
			return ecolaura.Product{}, err
		}
	}
}

// Delete removes a product. Errors: ErrUnauthenticated, ErrForbidden (not
// staff); ErrNotFound.
func (s *Service) Delete(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error {
	if err := actor.RequireStaff(); err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	if err := knownShape(id); err != nil {
		return fmt.Errorf("delete product: %w", err)
	}
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		cur, err := tx.Products().Get(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.Products().Delete(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionDelete, id, ecolaura.ProductChanges(&cur, nil))
	})
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "product deleted", "id", id, "actor", actor.UserID)
	return nil
}

// audit appends an event about product id to the audit log of tx.
func (s *Service) audit(ctx context.Context, tx ports.Tx, actor ecolaura.Principal, action ecolaura.AuditAction, id ecolaura.ID, changes []ecolaura.AuditChange) error {
	return tx.Audit().Append(ctx, ecolaura.AuditEvent{
		ID: s.ids.NewID(), ActorID: actor.UserID, At: s.clock.Now(), Action: action,
		Entity: ecolaura.EntityProduct, EntityID: id, Changes: changes,
	})
}

// Get returns one product. Anyone, including anonymous callers, may read the
// catalog; customers and anonymous callers see only active products (a
// draft or archived one is ErrNotFound to them), staff see all. Errors:
// ErrNotFound (also for an ID that is not a UUID).
func (s *Service) Get(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.Product, error) {
	if err := knownShape(id); err != nil {
		return ecolaura.Product{}, fmt.Errorf("get product: %w", err)
	}
	p, err := s.db.Products().Get(ctx, id)
	if err != nil {
		return ecolaura.Product{}, fmt.Errorf("get product %s: %w", id, err)
	}
	if !Visible(actor, p) {
		return ecolaura.Product{}, fmt.Errorf("get product %s: %w", id, ecolaura.ErrNotFound)
	}
	return p, nil
}

// setTotalStock makes the product's total stock want by setting its default
// variant's level at the default location (a "set" movement), and returns
// the product as stored then. Errors: a *ValidationError on "stock" when
// the other variants and locations alone hold more than want.
func (s *Service) setTotalStock(ctx context.Context, tx ports.Tx, actor ecolaura.Principal, p ecolaura.Product, want int) (ecolaura.Product, error) {
	def := p.DefaultVariant()
	levels, err := tx.Inventory().Levels(ctx, []ecolaura.ID{def.ID})
	if err != nil {
		return ecolaura.Product{}, err
	}
	atDefault := 0
	for _, l := range levels {
		if l.LocationID == ecolaura.DefaultLocationID {
			atDefault = l.OnHand
		}
	}
	others := p.Stock - atDefault
	if want < others {
		return ecolaura.Product{}, ecolaura.Invalid("stock", "must be at least %d: the product's other variants and stock locations hold that many", others)
	}
	if _, err := tx.Inventory().Change(ctx, ports.InventoryChange{VariantID: def.ID, Set: true, Quantity: want - others,
		Reason: ecolaura.MoveSet, ActorID: actor.UserID, At: s.clock.Now()}); err != nil {
		return ecolaura.Product{}, err
	}
	return tx.Products().Get(ctx, p.ID)
}

// Visible reports whether actor may see p: staff see every product, others
// only active ones.
func Visible(actor ecolaura.Principal, p ecolaura.Product) bool {
	return actor.IsStaff() || p.Status == ecolaura.ProductActive
}

// Categories returns every category that has products, with counts, ordered
// by slug. Anyone may call it. It returns only infrastructure errors.
func (s *Service) Categories(ctx context.Context, _ ecolaura.Principal) ([]ecolaura.CategoryCount, error) {
	cs, err := s.db.Products().Categories(ctx)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return cs, nil
}
