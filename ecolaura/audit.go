package ecolaura

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AuditEntity names the kind of thing a staff write changed.
type AuditEntity string

// The audited entities. Add one when a new kind of staff write appears
// (inventory, shipping methods, settings, ...).
const (
	EntityProduct AuditEntity = "product"
	EntityOrder   AuditEntity = "order"
	EntityUser    AuditEntity = "user"
	// EntityShippingMethod and EntityTaxRate are the shop's delivery and
	// tax settings (issue 13).
	EntityShippingMethod AuditEntity = "shipping_method"
	EntityTaxRate        AuditEntity = "tax_rate"
	// EntityPassport is a product's Digital Product Passport; its events
	// carry the product's ID.
	EntityPassport AuditEntity = "passport"
	// EntityInventory is a staff change of a variant's stock; its events
	// carry the variant's ID (the inventory movement has the details).
	EntityInventory AuditEntity = "inventory"
)

// AuditAction names what a staff write did.
type AuditAction string

// The audited actions.
const (
	ActionCreate AuditAction = "create"
	ActionUpdate AuditAction = "update"
	ActionDelete AuditAction = "delete"
	// ActionStatus is an order's status change (cancel, ship, deliver).
	ActionStatus AuditAction = "status"
	// ActionSetPassword is a password set by staff or the operator (the
	// CLI); the change carries no value.
	ActionSetPassword AuditAction = "set_password"
	// ActionPublish is the publication of a new passport version.
	ActionPublish AuditAction = "publish"
)

// Bounds of audit events.
const (
	// MaxAuditChanges bounds the changes of one event.
	MaxAuditChanges = 64
	// MaxAuditValue is the longest value a change keeps, in characters;
	// longer values (a product description) are cut with "…".
	MaxAuditValue = 200
)

// AuditChange is one field of a compact diff: its value before and after
// the write, rendered as text. From is nil for a field that did not exist
// (a create), To for one that no longer does (a delete).
type AuditChange struct {
	Field string
	From  *string
	To    *string
}

// AuditEvent records one staff write: who (ActorID, empty for the System
// principal), when (At), what (Action on Entity EntityID) and a compact
// diff (Changes). Events are append-only. They outlive the accounts they
// mention, so they carry IDs, roles and statuses but never personal data
// (no email, name or password material).
type AuditEvent struct {
	ID       ID
	ActorID  ID
	At       time.Time
	Action   AuditAction
	Entity   AuditEntity
	EntityID ID
	Changes  []AuditChange
}

// Clone returns a deep copy.
func (e AuditEvent) Clone() AuditEvent {
	e.Changes = slices.Clone(e.Changes)
	for i, c := range e.Changes {
		e.Changes[i].From, e.Changes[i].To = clonePtr(c.From), clonePtr(c.To)
	}
	return e
}

// Validate checks an event before it is stored and returns a
// *ValidationError naming every bad field.
func (e AuditEvent) Validate() error {
	var v Validator
	v.Check(isUUID(string(e.ID)), "id", "must be a UUID")
	v.Check(e.ActorID == "" || isUUID(string(e.ActorID)), "actor_id", "must be a UUID or empty (the system)")
	v.Check(!e.At.IsZero(), "at", "must be set")
	v.Check(validSlug(string(e.Action)), "action", "must be a lower-case slug")
	v.Check(validSlug(string(e.Entity)), "entity", "must be a lower-case slug")
	v.Check(isUUID(string(e.EntityID)), "entity_id", "must be a UUID")
	v.Check(len(e.Changes) <= MaxAuditChanges, "changes", "must have at most %d entries", MaxAuditChanges)
	for i, c := range e.Changes {
		f := "changes[" + strconv.Itoa(i) + "]"
		v.Check(validSlug(c.Field), f+".field", "must be a lower-case slug")
		v.Check(c.From == nil || utf8.RuneCountInString(*c.From) <= MaxAuditValue+1, f+".from", "must be at most %d characters", MaxAuditValue)
		v.Check(c.To == nil || utf8.RuneCountInString(*c.To) <= MaxAuditValue+1, f+".to", "must be at most %d characters", MaxAuditValue)
	}
	return v.Err()
}

func validSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// AuditDiff builds the Changes of an event. The zero value is ready to use.
type AuditDiff struct{ changes []AuditChange }

// Compare records field when before and after differ.
func (d *AuditDiff) Compare(field, before, after string) {
	if before != after {
		b, a := cutValue(before), cutValue(after)
		d.changes = append(d.changes, AuditChange{Field: field, From: &b, To: &a})
	}
}

// Set records a field that now has a value and had none (a create).
func (d *AuditDiff) Set(field, after string) {
	a := cutValue(after)
	d.changes = append(d.changes, AuditChange{Field: field, To: &a})
}

// Unset records a field that had a value and has none now (a delete).
func (d *AuditDiff) Unset(field, before string) {
	b := cutValue(before)
	d.changes = append(d.changes, AuditChange{Field: field, From: &b})
}

// Changes returns the recorded changes, in the order they were recorded.
func (d *AuditDiff) Changes() []AuditChange { return slices.Clone(d.changes) }

// cutValue keeps at most MaxAuditValue characters of s.
func cutValue(s string) string {
	if utf8.RuneCountInString(s) <= MaxAuditValue {
		return s
	}
	r := []rune(s)
	return string(r[:MaxAuditValue]) + "…"
}

// ProductChanges is the compact diff between two states of a product: the
// edited fields, rendered as text (price "12.34 EUR", footprint in kg). A
// nil before is a creation (every field set), a nil after a deletion (the
// fields that identify it).
func ProductChanges(before, after *Product) []AuditChange {
	var d AuditDiff
	fields := func(p *Product) [][2]string {
		out := [][2]string{
			{"name", p.Name}, {"description", p.Description}, {"category", p.Category},
			{"price", p.Price.String()}, {"stock", strconv.Itoa(p.Stock)}, {"score", strconv.Itoa(p.Score)},
			{"status", string(p.Status)},
		}
		if len(p.Options) > 0 {
			opts := make([]string, len(p.Options))
			for i, o := range p.Options {
				opts[i] = o.Name + ": " + strings.Join(o.Values, ", ")
			}
			out = append(out, [2]string{"options", strings.Join(opts, "; ")})
		}
		if m := p.Metrics; m != nil {
			rc := ""
			if m.RecycledContent != nil {
				rc = strconv.Itoa(*m.RecycledContent)
			}
			certs := make([]string, len(m.Certifications))
			for i, c := range m.Certifications {
				certs[i] = string(c)
			}
			out = append(out, [][2]string{
				{"carbon_footprint", m.CarbonFootprint.String()}, {"recyclable", strconv.FormatBool(m.Recyclable)},
				{"biodegradable", strconv.FormatBool(m.Biodegradable)}, {"recycled_content", rc},
				{"certifications", strings.Join(certs, ",")},
			}...)
		}
		return out
	}
	switch {
	case before == nil && after != nil:
		for _, f := range fields(after) {
			d.Set(f[0], f[1])
		}
	case after == nil && before != nil:
		for _, f := range fields(before)[:4] { // name, description, category, price
			d.Unset(f[0], f[1])
		}
	case before != nil:
		b, a := fields(before), fields(after)
		index := func(fs [][2]string) map[string]string {
			m := make(map[string]string, len(fs))
			for _, f := range fs {
				m[f[0]] = f[1]
			}
			return m
		}
		bm, am := index(b), index(a)
		for _, f := range a {
			if old, ok := bm[f[0]]; ok {
				d.Compare(f[0], old, f[1])
			} else {
				d.Set(f[0], f[1])
			}
		}
		for _, f := range b {
			if _, ok := am[f[0]]; !ok {
				d.Unset(f[0], f[1])
			}
		}
	}
	return variantChanges(d, before, after)
}

// variantChanges adds to d the variants of a product that appeared,
// changed or went ("variants.<the last 12 characters of the ID>", as text:
// SKU, options, price, GTIN, weight, footprint, position), within
// MaxAuditChanges (the rest counted in "variants.more"). A creation records
// them only when there is more to say than the default variant's price.
func variantChanges(d AuditDiff, before, after *Product) []AuditChange {
	if after == nil {
		return d.Changes()
	}
	text := func(p *Product, v Variant) string {
		t := "sku=" + v.SKU + " options=" + v.Title(p.Options) + " price=" + v.Price.String() + " gtin=" + v.GTIN +
			" weight_g=" + strconv.Itoa(v.WeightG) + " position=" + strconv.Itoa(v.Position)
		if v.Footprint != nil {
			t += " footprint=" + v.Footprint.String()
		}
		return t
	}
	key := func(id ID) string {
		s := string(id)
		return "variants." + s[max(0, len(s)-12):]
	}
	old := map[ID]Variant{}
	if before != nil {
		for _, v := range before.Variants {
			old[v.ID] = v
		}
	} else if len(after.Variants) == 1 && after.Variants[0].SKU == "" && after.Variants[0].GTIN == "" &&
		after.Variants[0].WeightG == 0 && after.Variants[0].Footprint == nil {
		return d.Changes() // a plain product: its price says it all
	}
	room := MaxAuditChanges - len(d.changes) - 1
	more := 0
	record := func(f func()) {
		if room > 0 {
			f()
			room--
		} else {
			more++
		}
	}
	for _, v := range after.Variants {
		now := text(after, v)
		if b, ok := old[v.ID]; !ok {
			record(func() { d.Set(key(v.ID), now) })
		} else if was := text(before, b); was != now {
			record(func() { d.Compare(key(v.ID), was, now) })
		}
		delete(old, v.ID)
	}
	if before != nil {
		for _, v := range before.Variants {
			if _, gone := old[v.ID]; gone {
				record(func() { d.Unset(key(v.ID), text(before, v)) })
			}
		}
	}
	if more > 0 {
		d.Set("variants.more", strconv.Itoa(more)+" more variant changes")
	}
	return d.Changes()
}
