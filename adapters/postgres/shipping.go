package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

type shippingMethodRow struct {
	bun.BaseModel `bun:"table:shipping_methods"`

	ID             string          `bun:"id,pk"`
	Name           string          `bun:"name"`
	Carrier        string          `bun:"carrier"`
	Countries      []string        `bun:"countries,array"`
	PriceType      string          `bun:"price_type"`
	Currency       string          `bun:"currency"`
	PriceAmount    int64           `bun:"price_amount"`
	FreeAbove      int64           `bun:"free_above"`
	Bands          json.RawMessage `bun:"bands,type:jsonb"`
	DaysMin        int             `bun:"days_min"`
	DaysMax        int             `bun:"days_max"`
	GramsPerParcel int64           `bun:"grams_per_parcel"`
	GramsPerKg     int64           `bun:"grams_per_kg"`
	Active         bool            `bun:"active"`
	CreatedAt      time.Time       `bun:"created_at"`
	UpdatedAt      time.Time       `bun:"updated_at"`
	Version        int             `bun:"version"`
}

// bandJSON is the stored JSON of one weight band (amounts in the row's
// currency).
type bandJSON struct {
	UpToG int   `json:"up_to_g"`
	Price int64 `json:"price"`
}

func toShippingMethodRow(m ecolaura.ShippingMethod) (shippingMethodRow, error) {
	bands := make([]bandJSON, 0, len(m.Price.Bands))
	for _, b := range m.Price.Bands {
		bands = append(bands, bandJSON{UpToG: b.UpToG, Price: b.Price.Amount})
	}
	raw, err := json.Marshal(bands)
	if err != nil {
		return shippingMethodRow{}, err
	}
	return shippingMethodRow{ID: string(m.ID), Name: m.Name, Carrier: m.Carrier, Countries: m.Countries,
		PriceType: string(m.Price.Type), Currency: string(m.Price.Currency()), PriceAmount: m.Price.Amount.Amount,
		FreeAbove: m.Price.FreeAbove.Amount, Bands: raw, DaysMin: m.DeliveryDays.Min, DaysMax: m.DeliveryDays.Max,
		GramsPerParcel: m.Footprint.GramsPerParcel, GramsPerKg: m.Footprint.GramsPerKg, Active: m.Active,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, Version: m.Version}, nil
}

func (r *shippingMethodRow) method() (ecolaura.ShippingMethod, error) {
	cur := ecolaura.Currency(r.Currency)
	m := ecolaura.ShippingMethod{ID: ecolaura.ID(r.ID), Name: r.Name, Carrier: r.Carrier, Countries: append([]string{}, r.Countries...),
		Price:        ecolaura.PriceRule{Type: ecolaura.PriceRuleType(r.PriceType)},
		DeliveryDays: ecolaura.DeliveryDays{Min: r.DaysMin, Max: r.DaysMax},
		Footprint:    ecolaura.FootprintModel{GramsPerParcel: r.GramsPerParcel, GramsPerKg: r.GramsPerKg},
		Active:       r.Active, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version}
	switch m.Price.Type {
	case ecolaura.PriceFlat:
		m.Price.Amount = ecolaura.NewMoney(r.PriceAmount, cur)
	case ecolaura.PriceFreeAbove:
		m.Price.Amount, m.Price.FreeAbove = ecolaura.NewMoney(r.PriceAmount, cur), ecolaura.NewMoney(r.FreeAbove, cur)
	case ecolaura.PriceWeightBands:
		var bands []bandJSON
		if err := json.Unmarshal(r.Bands, &bands); err != nil {
			return ecolaura.ShippingMethod{}, fmt.Errorf("shipping method %s: decode bands: %w", r.ID, err)
		}
		for _, b := range bands {
			m.Price.Bands = append(m.Price.Bands, ecolaura.WeightBand{UpToG: b.UpToG, Price: ecolaura.NewMoney(b.Price, cur)})
		}
	}
	return m, nil
}

// shippingMethodStore implements ports.ShippingMethodStore.
type shippingMethodStore struct {
	db bun.IDB
}

var _ ports.ShippingMethodStore = (*shippingMethodStore)(nil)

// Create inserts the method. Errors: ErrInvalid; ErrConflict; ErrUnavailable.
func (s *shippingMethodStore) Create(ctx context.Context, m ecolaura.ShippingMethod) error {
	if err := ecolaura.ValidateStoredShippingMethod(m); err != nil {
		return fmt.Errorf("create shipping method %s: %w", m.ID, err)
	}
	r, err := toShippingMethodRow(m)
	if err != nil {
		return err
	}
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return wrap(err, "create shipping method %s", m.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create shipping method %s: id exists: %w", m.ID, ecolaura.ErrConflict)
	}
	return nil
}

// Get returns the method. Errors: ErrNotFound; ErrUnavailable.
func (s *shippingMethodStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.ShippingMethod, error) {
	if !validID(id) {
		return ecolaura.ShippingMethod{}, notFound("shipping method", id)
	}
	var r shippingMethodRow
	err := s.db.NewSelect().Model(&r).Where("id = ?", string(id)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.ShippingMethod{}, notFound("shipping method", id)
	}
	if err != nil {
		return ecolaura.ShippingMethod{}, wrap(err, "get shipping method %s", id)
	}
	return r.method()
}

// List returns the matching methods by name (byte order, as the memory
// adapter), then ID. Errors: ErrUnavailable.
func (s *shippingMethodStore) List(ctx context.Context, q ports.ShippingMethodQuery) ([]ecolaura.ShippingMethod, error) {
	sel := s.db.NewSelect().Model((*shippingMethodRow)(nil)).OrderExpr(`name COLLATE "C", id`)
	if q.ActiveOnly {
		sel = sel.Where("active")
	}
	if q.Country != "" {
		sel = sel.Where("? = ANY(countries)", q.Country)
	}
	var rows []shippingMethodRow
	if err := sel.Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "list shipping methods")
	}
	out := make([]ecolaura.ShippingMethod, 0, len(rows))
	for i := range rows {
		m, err := rows[i].method()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Update replaces the method under a version check. Errors: ErrNotFound;
// ErrConflict; ErrInvalid; ErrUnavailable.
func (s *shippingMethodStore) Update(ctx context.Context, m ecolaura.ShippingMethod) (ecolaura.ShippingMethod, error) {
	if err := ecolaura.ValidateStoredShippingMethod(m); err != nil {
		return ecolaura.ShippingMethod{}, fmt.Errorf("update shipping method %s: %w", m.ID, err)
	}
	r, err := toShippingMethodRow(m)
	if err != nil {
		return ecolaura.ShippingMethod{}, err
	}
	var out shippingMethodRow
	err = s.db.NewUpdate().Model(&r).ExcludeColumn("id", "created_at", "version").Set("version = version + 1").
		Where("id = ? AND version = ?", r.ID, r.Version).Returning("*").Scan(ctx, &out)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.Get(ctx, m.ID); gerr != nil {
			return ecolaura.ShippingMethod{}, fmt.Errorf("update shipping method: %w", gerr)
		}
		return ecolaura.ShippingMethod{}, fmt.Errorf("update shipping method %s: stale version %d: %w", m.ID, m.Version, ecolaura.ErrConflict)
	}
	if err != nil {
		return ecolaura.ShippingMethod{}, wrap(err, "update shipping method %s", m.ID)
	}
	return out.method()
}

// Delete removes the method. Errors: ErrNotFound; ErrUnavailable.
func (s *shippingMethodStore) Delete(ctx context.Context, id ecolaura.ID) error {
	if !validID(id) {
		return notFound("shipping method", id)
	}
	res, err := s.db.NewDelete().Model((*shippingMethodRow)(nil)).Where("id = ?", string(id)).Exec(ctx)
	if err != nil {
		return wrap(err, "delete shipping method %s", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("shipping method", id)
	}
	return nil
}

type taxRateRow struct {
	bun.BaseModel `bun:"table:tax_rates"`

	ID        string    `bun:"id,pk"`
	Country   string    `bun:"country"`
	Class     string    `bun:"class"`
	Rate      int64     `bun:"rate"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
	Version   int       `bun:"version"`
}

func (r *taxRateRow) rate() ecolaura.TaxRate {
	return ecolaura.TaxRate{ID: ecolaura.ID(r.ID), Country: r.Country, Class: ecolaura.TaxClass(r.Class), Rate: r.Rate,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version}
}

// taxRateStore implements ports.TaxRateStore.
type taxRateStore struct {
	db bun.IDB
}

var _ ports.TaxRateStore = (*taxRateStore)(nil)

// Create inserts the rate. Errors: ErrInvalid; ErrConflict (a
// *ConflictError on "class" for a taken country and class); ErrUnavailable.
func (s *taxRateStore) Create(ctx context.Context, t ecolaura.TaxRate) error {
	if err := ecolaura.ValidateStoredTaxRate(t); err != nil {
		return fmt.Errorf("create tax rate %s: %w", t.ID, err)
	}
	r := taxRateRow{ID: string(t.ID), Country: t.Country, Class: string(t.Class), Rate: t.Rate, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Version: t.Version}
	res, err := s.db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return wrap(err, "create tax rate %s", t.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, t.ID); err == nil {
			return fmt.Errorf("create tax rate %s: id exists: %w", t.ID, ecolaura.ErrConflict)
		}
		return fmt.Errorf("create tax rate %s: %w", t.ID, &ecolaura.ConflictError{Field: "class"})
	}
	return nil
}

// Get returns the rate. Errors: ErrNotFound; ErrUnavailable.
func (s *taxRateStore) Get(ctx context.Context, id ecolaura.ID) (ecolaura.TaxRate, error) {
	if !validID(id) {
		return ecolaura.TaxRate{}, notFound("tax rate", id)
	}
	var r taxRateRow
	err := s.db.NewSelect().Model(&r).Where("id = ?", string(id)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ecolaura.TaxRate{}, notFound("tax rate", id)
	}
	if err != nil {
		return ecolaura.TaxRate{}, wrap(err, "get tax rate %s", id)
	}
	return r.rate(), nil
}

// List returns the rates of country ("" for all) by country, then class
// (byte order). Errors: ErrUnavailable.
func (s *taxRateStore) List(ctx context.Context, country string) ([]ecolaura.TaxRate, error) {
	sel := s.db.NewSelect().Model((*taxRateRow)(nil)).OrderExpr(`country COLLATE "C", class COLLATE "C"`)
	if country != "" {
		sel = sel.Where("country = ?", country)
	}
	var rows []taxRateRow
	if err := sel.Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err, "list tax rates")
	}
	out := make([]ecolaura.TaxRate, 0, len(rows))
	for i := range rows {
		out = append(out, rows[i].rate())
	}
	return out, nil
}

// Update sets the rate under a version check. Errors: ErrNotFound;
// ErrConflict; ErrInvalid; ErrUnavailable.
func (s *taxRateStore) Update(ctx context.Context, t ecolaura.TaxRate) (ecolaura.TaxRate, error) {
	if err := ecolaura.ValidateStoredTaxRate(t); err != nil {
		return ecolaura.TaxRate{}, fmt.Errorf("update tax rate %s: %w", t.ID, err)
	}
	var out taxRateRow
	err := s.db.NewUpdate().Model((*taxRateRow)(nil)).Set("rate = ?", t.Rate).Set("updated_at = ?", t.UpdatedAt).
		Set("version = version + 1").Where("id = ? AND version = ?", string(t.ID), t.Version).Returning("*").Scan(ctx, &out)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.Get(ctx, t.ID); gerr != nil {
			return ecolaura.TaxRate{}, fmt.Errorf("update tax rate: %w", gerr)
		}
		return ecolaura.TaxRate{}, fmt.Errorf("update tax rate %s: stale version %d: %w", t.ID, t.Version, ecolaura.ErrConflict)
	}
	if err != nil {
		return ecolaura.TaxRate{}, wrap(err, "update tax rate %s", t.ID)
	}
	return out.rate(), nil
}

// Delete removes the rate. Errors: ErrNotFound; ErrUnavailable.
func (s *taxRateStore) Delete(ctx context.Context, id ecolaura.ID) error {
	if !validID(id) {
		return notFound("tax rate", id)
	}
	res, err := s.db.NewDelete().Model((*taxRateRow)(nil)).Where("id = ?", string(id)).Exec(ctx)
	if err != nil {
		return wrap(err, "delete tax rate %s", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("tax rate", id)
	}
	return nil
}
