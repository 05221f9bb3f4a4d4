package ports

import (
	"fmt"
	"unicode/utf8"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// The rules every store enforces on what it stores, whatever wrote it. The
// PostgreSQL schema states the same rules as constraints (see the
// migrations) and the memory store checks them with these functions, so a
// value one store accepts every store accepts; porttest checks both. Store
// implementations call them before writing and return their error, which
// matches ecolaura.ErrInvalid.

// ValidateStoredProduct checks the rules of a stored product: a UUID and
// ecolaura.Product.Validate (text rules and lengths of name and
// description, category slug, supported currency, price, stock 0–MaxStock,
// score and metric ranges, known certifications). A created product also
// needs a version of at least 1 (see ValidateNewProduct).
func ValidateStoredProduct(p ecolaura.Product) error {
	var v ecolaura.Validator
	v.Check(isUUID(p.ID), "id", "must be a UUID")
	v.Merge("", p.Validate())
	return v.Err()
}

// ValidateNewProduct is ValidateStoredProduct for a product being created:
// its version must also be at least 1.
func ValidateNewProduct(p ecolaura.Product) error {
	var v ecolaura.Validator
	v.Merge("", ValidateStoredProduct(p))
	v.Check(p.Version >= 1, "version", "must be at least 1")
	return v.Err()
}

// ValidateStoredUser checks the rules of a stored user: a UUID, an email of
// 1–ecolaura.MaxEmailLength and a name of 1–ecolaura.MaxUserNameLength
// characters, both following the single-line text rules, a known role and a
// version that is not negative (0 is stored as 1). The service's stricter
// rules (a normalised, well-formed email; a trimmed name) are checked
// before.
func ValidateStoredUser(u ecolaura.User) error {
	var v ecolaura.Validator
	v.Check(isUUID(u.ID), "id", "must be a UUID")
	v.Text("email", u.Email, ecolaura.SingleLine)
	n := utf8.RuneCountInString(u.Email)
	v.Check(n >= 1 && n <= ecolaura.MaxEmailLength, "email", "must be 1-%d characters", ecolaura.MaxEmailLength)
	v.Text("name", u.Name, ecolaura.SingleLine)
	n = utf8.RuneCountInString(u.Name)
	v.Check(n >= 1 && n <= ecolaura.MaxUserNameLength, "name", "must be 1-%d characters", ecolaura.MaxUserNameLength)
	v.Check(u.Role.Valid(), "role", "unknown role %q", string(u.Role))
	v.Check(u.Version >= 0, "version", "must not be negative")
	return v.Err()
}

// ValidateStoredRefreshToken checks the rules of a stored refresh token:
// UUIDs and a hash that is not empty. (Its user must exist too; the store
// checks that in its transaction.)
func ValidateStoredRefreshToken(t ecolaura.RefreshToken) error {
	var v ecolaura.Validator
	v.Check(isUUID(t.ID), "id", "must be a UUID")
	v.Check(isUUID(t.FamilyID), "family_id", "must be a UUID")
	v.Check(isUUID(t.UserID), "user_id", "must be a UUID")
	v.Check(t.Hash != "", "hash", "must not be empty")
	return v.Err()
}

// ValidateStoredOrder checks the rules of a stored order (a line without a
// VariantID is stored with its ProductID as VariantID: the default variant
// of a product from before variants has the product's ID): UUIDs, a known
// status, a supported currency, amounts and footprints that are not
// negative, line quantities of 1–ecolaura.MaxLineQuantity, line names that
// follow the single-line text rules, an idempotency key of at most
// ecolaura.MaxIdempotencyKey printable ASCII characters and a version of at
// least 1. (Its user must exist too; the store checks that in its
// transaction.)
func ValidateStoredOrder(o ecolaura.Order) error {
	var v ecolaura.Validator
	v.Check(isUUID(o.ID), "id", "must be a UUID")
	v.Check(isUUID(o.UserID), "user_id", "must be a UUID")
	v.Check(o.Status.Valid(), "status", "unknown status %q", string(o.Status))
	cur := OrderCurrency(o)
	v.Check(cur.Valid(), "currency", "unsupported currency %q", string(cur))
	v.Check(o.Subtotal.Amount >= 0, "subtotal", "must not be negative")
	v.Check(o.Total.Amount >= 0, "total", "must not be negative")
	v.Check(o.Footprint >= 0, "footprint", "must not be negative")
	if o.Offset != nil {
		v.Check(o.Offset.Footprint >= 0, "offset.footprint", "must not be negative")
		v.Check(o.Offset.Price.Amount >= 0, "offset.price", "must not be negative")
	}
	for i, l := range o.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		v.Check(isUUID(l.ProductID), f+".product_id", "must be a UUID")
		v.Check(l.VariantID == "" || isUUID(l.VariantID), f+".variant_id", "must be a UUID")
		v.Check(ecolaura.ValidSKU(l.SKU), f+".sku", "must be a valid SKU")
		v.Text(f+".name", l.Name, ecolaura.SingleLine)
		v.Check(l.UnitPrice.Currency.Valid(), f+".currency", "unsupported currency %q", string(l.UnitPrice.Currency))
		v.Check(l.UnitPrice.Amount >= 0, f+".unit_price", "must not be negative")
		v.Check(l.Quantity >= 1 && l.Quantity <= ecolaura.MaxLineQuantity, f+".quantity", "must be between 1 and %d", ecolaura.MaxLineQuantity)
		v.Check(l.Total.Amount >= 0, f+".total", "must not be negative")
		v.Check(l.UnitFootprint >= 0, f+".unit_footprint", "must not be negative")
	}
	if o.ShippingAddress != nil {
		v.Merge("shipping_address", o.ShippingAddress.Validate())
	}
	if o.BillingAddress != nil {
		v.Merge("billing_address", o.BillingAddress.Validate())
	}
	v.Check(o.BillingAddress == nil || o.ShippingAddress != nil, "billing_address", "needs a shipping address")
	if sh := o.Shipping; sh != nil {
		v.Check(o.ShippingAddress != nil, "shipping", "needs a shipping address")
		v.Check(isUUID(sh.MethodID), "shipping.method_id", "must be a UUID")
		v.Text("shipping.method", sh.Method, ecolaura.SingleLine)
		v.Check(sh.Method != "" && len(sh.Method) <= 4*ecolaura.MaxShippingNameLength, "shipping.method", "must be 1 to %d characters", ecolaura.MaxShippingNameLength)
		v.Text("shipping.carrier", sh.Carrier, ecolaura.SingleLine)
		v.Check(len(sh.Carrier) <= 4*ecolaura.MaxCarrierLength, "shipping.carrier", "must be at most %d characters", ecolaura.MaxCarrierLength)
		v.Check(sh.Price.Currency == cur, "shipping.price.currency", "must be the order's currency")
		v.Check(sh.Price.Amount >= 0, "shipping.price", "must not be negative")
		v.Check(sh.Footprint >= 0, "shipping.footprint", "must not be negative")
	}
	if tx := o.Tax; tx != nil {
		v.Check(tx.Mode.Valid(), "tax.mode", "must be inclusive or exclusive")
		v.Check(tx.Total.Currency == cur, "tax.total.currency", "must be the order's currency")
		v.Check(tx.Total.Amount >= 0, "tax.total", "must not be negative")
	}
	v.Check(len(o.IdempotencyKey) <= ecolaura.MaxIdempotencyKey, "idempotency_key", "must be at most %d characters", ecolaura.MaxIdempotencyKey)
	v.Check(printableASCII(o.IdempotencyKey), "idempotency_key", "must contain only printable ASCII characters")
	v.Check(o.Version >= 1, "version", "must be at least 1")
	return v.Err()
}

// OrderCurrency is the currency an order is stored in: its subtotal's, or
// its total's when the subtotal has none.
func OrderCurrency(o ecolaura.Order) ecolaura.Currency {
	if o.Subtotal.Currency != "" {
		return o.Subtotal.Currency
	}
	return o.Total.Currency
}

// Storable reports whether s can be a stored text at all (valid UTF-8
// without NUL). Look-ups by a text that is not (an email, a token hash, an
// idempotency key) find nothing in every store.
func Storable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return false
		}
	}
	return true
}

func isUUID(id ecolaura.ID) bool {
	_, err := ecolaura.ParseID(string(id))
	return err == nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
