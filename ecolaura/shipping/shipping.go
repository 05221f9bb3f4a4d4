// Package shipping holds the use cases of the shop's delivery and tax
// settings: staff manage shipping methods (with their price rules and
// footprint models) and tax rates; everyone lists the active methods and
// the rates; and Quote prices a basket for every method that can deliver
// it, taxes and footprint included, with the pure [ecolaura.ComputeQuote].
//
// Authorization lives here: writes need a staff principal and are
// recorded in the audit trail in the same transaction.
package shipping

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// MaxMethods bounds how many shipping methods a shop keeps.
const MaxMethods = 200

// RuleTooManyMethods is the slug of the rule bounding the shipping methods
// to MaxMethods (see ecolaura.RuleError).
const RuleTooManyMethods = "too-many-shipping-methods"

// Config holds the settings of the service.
type Config struct {
	// TaxMode says whether the shop's prices include tax (default
	// ecolaura.TaxInclusive).
	TaxMode ecolaura.TaxMode
	// OffsetPerKg is the price of compensating one kg CO2e in quotes
	// (default 0.02 in the currency of the basket, as the orders service).
	OffsetPerKg *ecolaura.Money
}

// Option configures a [Service].
type Option func(*Service)

// WithTaxMode sets the shop's tax mode.
func WithTaxMode(m ecolaura.TaxMode) Option { return func(s *Service) { s.cfg.TaxMode = m } }

// WithCarbonOffsetPrice sets the price of one kg CO2e in quotes.
func WithCarbonOffsetPrice(perKg ecolaura.Money) Option {
	return func(s *Service) { s.cfg.OffsetPerKg = &perKg }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.log = l
		}
	}
}

// Service implements the use cases. It is safe for concurrent use.
type Service struct {
	db    ports.Database
	clock ports.Clock
	ids   ports.IDGenerator
	cfg   Config
	log   *slog.Logger
}

// New returns the service over db, stamping times with clock and naming
// methods and rates with ids. Errors: an *ecolaura.ConfigError for a nil
// dependency or a bad setting.
func New(db ports.Database, clock ports.Clock, ids ports.IDGenerator, opts ...Option) (*Service, error) {
	s := &Service{db: db, clock: clock, ids: ids, cfg: Config{TaxMode: ecolaura.TaxInclusive}, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	var v ecolaura.Validator
	v.Required("db", db)
	v.Required("clock", clock)
	v.Required("ids", ids)
	v.Check(s.cfg.TaxMode.Valid(), "tax_mode", "must be inclusive or exclusive")
	if s.cfg.OffsetPerKg != nil {
		v.Check(s.cfg.OffsetPerKg.Currency.Valid() && s.cfg.OffsetPerKg.Amount >= 0, "offset_per_kg", "must be a non-negative amount in a supported currency")
	}
	if err := v.ConfigErr(); err != nil {
		return nil, fmt.Errorf("shipping: %w", err)
	}
	return s, nil
}

// TaxMode returns the shop's tax mode.
func (s *Service) TaxMode() ecolaura.TaxMode { return s.cfg.TaxMode }

// ---- shipping methods ----

// MethodInput is a new shipping method. Exactly one of Footprint and
// Preset gives its footprint model (Preset takes the documented default of
// a transport mode, see ecolaura.DefaultFootprints).
type MethodInput struct {
	Name         string
	Carrier      string
	Countries    []string
	Price        ecolaura.PriceRule
	DeliveryDays ecolaura.DeliveryDays
	Footprint    *ecolaura.FootprintModel
	Preset       ecolaura.TransportMode
	Active       bool
}

// MethodPatch changes a method; nil fields stay as they are. Footprint and
// Preset work as in MethodInput (at most one).
type MethodPatch struct {
	Name         *string
	Carrier      *string
	Countries    *[]string
	Price        *ecolaura.PriceRule
	DeliveryDays *ecolaura.DeliveryDays
	Footprint    *ecolaura.FootprintModel
	Preset       *ecolaura.TransportMode
	Active       *bool
}

func footprintOf(f *ecolaura.FootprintModel, preset ecolaura.TransportMode, v *ecolaura.Validator) (ecolaura.FootprintModel, bool) {
	switch {
	case f != nil && preset != "":
		v.Add("footprint", "give grams_per_parcel and grams_per_kg, or a preset, not both")
	case f != nil:
		return *f, true
	case preset != "":
		m, ok := ecolaura.DefaultFootprints[preset]
		if !ok {
			v.Add("footprint.preset", "must be road_parcel, bike_courier, rail or air_express")
			return ecolaura.FootprintModel{}, false
		}
		return m, true
	default:
		v.Add("footprint", "is required (grams_per_parcel and grams_per_kg, or a preset)")
	}
	return ecolaura.FootprintModel{}, false
}

// ListMethodsParams selects methods. Zero fields do not filter.
type ListMethodsParams struct {
	// Country keeps the methods serving it (ISO 3166-1 alpha-2, any case).
	Country string
	// IncludeInactive lists inactive methods too (staff only).
	IncludeInactive bool
}

// ListMethods returns the shipping methods by name: the active ones to
// everyone, inactive ones too to staff who ask. Errors: ErrForbidden for
// IncludeInactive without staff; a *ValidationError for an unknown
// country.
func (s *Service) ListMethods(ctx context.Context, actor ecolaura.Principal, p ListMethodsParams) ([]ecolaura.ShippingMethod, error) {
	if p.IncludeInactive {
		if err := actor.RequireStaff(); err != nil {
			return nil, fmt.Errorf("list shipping methods: %w", err)
		}
	}
	q := ports.ShippingMethodQuery{ActiveOnly: !p.IncludeInactive}
	if p.Country != "" {
		q.Country = strings.ToUpper(strings.TrimSpace(p.Country))
		if !ecolaura.ValidCountryCode(q.Country) {
			return nil, ecolaura.Invalid("country", "must be an ISO 3166-1 alpha-2 country code (such as DE)")
		}
	}
	out, err := s.db.ShippingMethods().List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list shipping methods: %w", err)
	}
	return out, nil
}

// GetMethod returns a method; an inactive one only to staff. Errors:
// ErrNotFound.
func (s *Service) GetMethod(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.ShippingMethod, error) {
	m, err := s.db.ShippingMethods().Get(ctx, id)
	if err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("get shipping method: %w", err)
	}
	if !m.Active && !actor.IsStaff() {
		return ecolaura.ShippingMethod{}, fmt.Errorf("get shipping method %s: %w", id, ecolaura.ErrNotFound)
	}
	return m, nil
}

// CreateMethod stores a new method (staff), audited. Errors:
// ErrUnauthenticated, ErrForbidden; a *ValidationError; an
// *ecolaura.RuleError (ErrConflict) RuleTooManyMethods.
func (s *Service) CreateMethod(ctx context.Context, actor ecolaura.Principal, in MethodInput) (ecolaura.ShippingMethod, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("create shipping method: %w", err)
	}
	var v ecolaura.Validator
	fp, _ := footprintOf(in.Footprint, in.Preset, &v)
	now := s.clock.Now()
	m := ecolaura.ShippingMethod{ID: s.ids.NewID(), Name: in.Name, Carrier: in.Carrier, Countries: in.Countries, Price: in.Price,
		DeliveryDays: in.DeliveryDays, Footprint: fp, Active: in.Active, CreatedAt: now, UpdatedAt: now, Version: 1}.Normalize()
	v.Merge("", m.Validate())
	if err := v.Err(); err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("create shipping method: %w", err)
	}
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		all, err := tx.ShippingMethods().List(ctx, ports.ShippingMethodQuery{})
		if err != nil {
			return err
		}
		if len(all) >= MaxMethods {
			return &ecolaura.RuleError{Rule: RuleTooManyMethods, Message: fmt.Sprintf("a shop keeps at most %d shipping methods", MaxMethods)}
		}
		if err := tx.ShippingMethods().Create(ctx, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionCreate, ecolaura.EntityShippingMethod, m.ID, methodChanges(nil, &m))
	})
	if err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("create shipping method: %w", err)
	}
	return m, nil
}

// UpdateMethod applies patch (staff), audited. Errors: ErrUnauthenticated,
// ErrForbidden; ErrNotFound; a *ValidationError; ErrConflict when
// concurrent edits keep winning.
func (s *Service) UpdateMethod(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch MethodPatch) (ecolaura.ShippingMethod, error) {
	if err := actor.RequireStaff(); err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("update shipping method: %w", err)
	}
	var out ecolaura.ShippingMethod
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		cur, err := tx.ShippingMethods().Get(ctx, id)
		if err != nil {
			return err
		}
		m := cur.Clone()
		var v ecolaura.Validator
		set := func(p *string, dst *string) {
			if p != nil {
				*dst = *p
			}
		}
		set(patch.Name, &m.Name)
		set(patch.Carrier, &m.Carrier)
		if patch.Countries != nil {
			m.Countries = slices.Clone(*patch.Countries)
		}
		if patch.Price != nil {
			m.Price = *patch.Price
		}
		if patch.DeliveryDays != nil {
			m.DeliveryDays = *patch.DeliveryDays
		}
		if patch.Footprint != nil || patch.Preset != nil {
			preset := ecolaura.TransportMode("")
			if patch.Preset != nil {
				preset = *patch.Preset
			}
			if fp, ok := footprintOf(patch.Footprint, preset, &v); ok {
				m.Footprint = fp
			}
		}
		if patch.Active != nil {
			m.Active = *patch.Active
		}
		m = m.Normalize()
		v.Merge("", m.Validate())
		if err := v.Err(); err != nil {
			return err
		}
		m.UpdatedAt = s.clock.Now()
		if out, err = tx.ShippingMethods().Update(ctx, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionUpdate, ecolaura.EntityShippingMethod, id, methodChanges(&cur, &out))
	})
	if err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("update shipping method: %w", err)
	}
	return out, nil
}

// DeleteMethod removes a method (staff), audited. Placed orders keep what
// they recorded of it. Errors: ErrUnauthenticated, ErrForbidden;
// ErrNotFound.
func (s *Service) DeleteMethod(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error {
	if err := actor.RequireStaff(); err != nil {
		return fmt.Errorf("delete shipping method: %w", err)
	}
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		cur, err := tx.ShippingMethods().Get(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.ShippingMethods().Delete(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, ecolaura.ActionDelete, ecolaura.EntityShippingMethod, id, methodChanges(&cur, nil))
	})
	if err != nil {
		return fmt.Errorf("delete shipping method: %w", err)
	}
	return nil
}

// methodChanges lists what differs between two versions of a method (nil
// for none) as the audit trail's text.
func methodChanges(before, after *ecolaura.ShippingMethod) []ecolaura.AuditChange {
	fields := func(m *ecolaura.ShippingMethod) map[string]string {
		if m == nil {
			return nil
		}
		price := string(m.Price.Type) + " " + m.Price.Amount.String()
		switch m.Price.Type {
		case ecolaura.PriceFreeAbove:
			price += " free from " + m.Price.FreeAbove.String()
		case ecolaura.PriceWeightBands:
			var b []string
			for _, band := range m.Price.Bands {
				b = append(b, fmt.Sprintf("≤%dg %s", band.UpToG, band.Price))
			}
			price = string(m.Price.Type) + " " + strings.Join(b, ", ")
		}
		return map[string]string{
			"name": m.Name, "carrier": m.Carrier, "countries": strings.Join(m.Countries, ","), "price": price,
			"delivery_days": fmt.Sprintf("%d-%d", m.DeliveryDays.Min, m.DeliveryDays.Max),
			"footprint":     fmt.Sprintf("%d g/parcel + %d g/kg", m.Footprint.GramsPerParcel, m.Footprint.GramsPerKg),
			"active":        fmt.Sprint(m.Active),
		}
	}
	return diff(fields(before), fields(after))
}

func diff(before, after map[string]string) []ecolaura.AuditChange {
	keys := make([]string, 0, max(len(before), len(after)))
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var d ecolaura.AuditDiff
	for _, k := range keys {
		b, inB := before[k]
		a, inA := after[k]
		switch {
		case inB && inA:
			d.Compare(k, b, a)
		case inA:
			d.Set(k, a)
		default:
			d.Unset(k, b)
		}
	}
	return d.Changes()
}

func (s *Service) audit(ctx context.Context, tx ports.Tx, actor ecolaura.Principal, action ecolaura.AuditAction, entity ecolaura.AuditEntity, id ecolaura.ID, changes []ecolaura.AuditChange) error {
	return tx.Audit().Append(ctx, ecolaura.AuditEvent{
		ID: s.ids.NewID(), ActorID: actor.UserID, At: s.clock.Now(), Action: action,
		Entity: entity, EntityID: id, Changes: changes,
	})
}
