package users

import (
	"context"
	"errors"
	"fmt"

	"github.com/nyaruka/phonenumbers"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// RuleAddressBookFull is the slug of the rule that bounds an address book
// to ecolaura.MaxAddressesPerUser entries (see ecolaura.RuleError).
const RuleAddressBookFull = "address-book-full"

// AddressInput is a new address-book entry. Phone may be typed in national
// form for Country ("030 1234567" in DE) or in international form; it is
// stored in E.164 form. DefaultShipping and DefaultBilling mark the entry
// as the default for that use (the first entry of an empty book is marked
// for both anyway).
type AddressInput struct {
	ecolaura.Address
	DefaultShipping bool
	DefaultBilling  bool
}

// AddressPatch changes an entry; nil fields stay as they are. A pointer to
// "" clears an optional field. DefaultShipping or DefaultBilling set to
// true marks the entry (false is refused: mark another entry instead).
type AddressPatch struct {
	Name, Company, Line1, Line2, PostalCode, City, Region, Country, Phone *string

	DefaultShipping *bool
	DefaultBilling  *bool
}

// NormalizeAddress trims a, upper-cases its country, parses its phone with
// libphonenumber (github.com/nyaruka/phonenumbers) in the national format
// of its country or in international form and keeps its E.164 form, and
// validates the result ([ecolaura.Address.Validate]). Errors: a
// *ecolaura.ValidationError naming every failing field; "phone" when the
// number cannot be parsed or is not a valid number for its region.
func NormalizeAddress(a ecolaura.Address) (ecolaura.Address, error) {
	a = a.Normalized()
	var v ecolaura.Validator
	if a.Phone != "" {
		switch p, err := normalizePhone(a.Phone, a.Country); {
		case err != nil:
			v.Add("phone", "%s", err.Error())
			a.Phone = ""
		default:
			a.Phone = p
		}
	}
	v.Merge("", a.Validate())
	if err := v.Err(); err != nil {
		return ecolaura.Address{}, err
	}
	return a, nil
}

// normalizePhone returns the E.164 form of a number typed in national form
// for country or in international form.
func normalizePhone(s, country string) (string, error) {
	if len(s) > 40 || !ecolaura.ValidText(s, ecolaura.SingleLine) {
		return "", errors.New("must be a phone number")
	}
	region := country
	if !ecolaura.ValidCountryCode(region) {
		region = "ZZ" // unknown: only the international form parses
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", errors.New("must be a phone number (in international form, such as +49 30 1234567, or in the national form of the country)")
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", errors.New("is not a valid phone number")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// Addresses returns the actor's address book, oldest first. Errors:
// ErrUnauthenticated; ErrNotFound when the actor has no account.
func (s *Service) Addresses(ctx context.Context, actor ecolaura.Principal) ([]ecolaura.SavedAddress, error) {
	u, err := s.Me(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("addresses: %w", err)
	}
	out, err := s.db.Addresses().List(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("addresses: %w", err)
	}
	return out, nil
}

// Address returns one entry of the actor's address book. Errors:
// ErrUnauthenticated; ErrNotFound (also for another user's entry).
func (s *Service) Address(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) (ecolaura.SavedAddress, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("address: %w", err)
	}
	a, err := s.db.Addresses().Get(ctx, actor.UserID, id)
	if err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("address: %w", err)
	}
	return a, nil
}

// CreateAddress adds an entry to the actor's address book and returns it
// (the first entry of an empty book becomes the default for shipping and
// billing). The actor's account is locked for the write, so concurrent
// writes to one book happen one after the other. Errors:
// ErrUnauthenticated; ErrNotFound when the actor has no account; a
// *ecolaura.ValidationError (see NormalizeAddress); an *ecolaura.RuleError
// (ErrConflict) RuleAddressBookFull when the book has
// ecolaura.MaxAddressesPerUser entries.
func (s *Service) CreateAddress(ctx context.Context, actor ecolaura.Principal, in AddressInput) (ecolaura.SavedAddress, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("create address: %w", err)
	}
	addr, err := NormalizeAddress(in.Address)
	if err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("create address: %w", err)
	}
	now := s.clock.Now()
	a := ecolaura.SavedAddress{ID: s.ids.NewID(), UserID: actor.UserID, Address: addr, CreatedAt: now, UpdatedAt: now, Version: 1}
	var out ecolaura.SavedAddress
	err = s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if _, err := tx.Users().GetForUpdate(ctx, actor.UserID); err != nil {
			return err
		}
		n, err := tx.Addresses().Count(ctx, actor.UserID)
		if err != nil {
			return err
		}
		if n >= ecolaura.MaxAddressesPerUser {
			return &ecolaura.RuleError{Rule: RuleAddressBookFull, Message: fmt.Sprintf("an address book holds at most %d addresses", ecolaura.MaxAddressesPerUser)}
		}
		if err := tx.Addresses().Create(ctx, a); err != nil {
			return err
		}
		for use, mark := range map[ecolaura.AddressUse]bool{ecolaura.UseShipping: in.DefaultShipping || n == 0, ecolaura.UseBilling: in.DefaultBilling || n == 0} {
			if mark {
				if err := tx.Addresses().SetDefault(ctx, actor.UserID, a.ID, use); err != nil {
					return err
				}
			}
		}
		out, err = tx.Addresses().Get(ctx, actor.UserID, a.ID)
		return err
	})
	if err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("create address: %w", err)
	}
	return out, nil
}

// UpdateAddress applies patch to an entry of the actor's address book and
// returns it. Errors: ErrUnauthenticated; ErrNotFound (also for another
// user's entry); a *ecolaura.ValidationError (see NormalizeAddress;
// "default_shipping"/"default_billing" for false).
func (s *Service) UpdateAddress(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID, patch AddressPatch) (ecolaura.SavedAddress, error) {
	if err := actor.RequireAuthenticated(); err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("update address: %w", err)
	}
	var v ecolaura.Validator
	v.Check(patch.DefaultShipping == nil || *patch.DefaultShipping, "default_shipping", "can only be set to true (mark another address to move the mark)")
	v.Check(patch.DefaultBilling == nil || *patch.DefaultBilling, "default_billing", "can only be set to true (mark another address to move the mark)")
	if err := v.Err(); err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("update address: %w", err)
	}
	var out ecolaura.SavedAddress
	err := s.db.Do(ctx, func(ctx context.Context, tx ports.Tx) error {
		if _, err := tx.Users().GetForUpdate(ctx, actor.UserID); err != nil {
			return err
		}
		cur, err := tx.Addresses().Get(ctx, actor.UserID, id)
		if err != nil {
			return err
		}
		a := cur.Address
		for _, f := range []struct {
			p   *string
			dst *string
		}{
			{patch.Name, &a.Name}, {patch.Company, &a.Company}, {patch.Line1, &a.Line1}, {patch.Line2, &a.Line2},
			{patch.PostalCode, &a.PostalCode}, {patch.City, &a.City}, {patch.Region, &a.Region},
			{patch.Country, &a.Country}, {patch.Phone, &a.Phone},
		} {
			if f.p != nil {
				*f.dst = *f.p
			}
		}
		if a, err = NormalizeAddress(a); err != nil {
			return err
		}
		if a != cur.Address {
			next := cur
			next.Address, next.UpdatedAt = a, s.clock.Now()
			if _, err := tx.Addresses().Update(ctx, next); err != nil {
				return err
			}
		}
		if patch.DefaultShipping != nil {
			if err := tx.Addresses().SetDefault(ctx, actor.UserID, id, ecolaura.UseShipping); err != nil {
				return err
			}
		}
		if patch.DefaultBilling != nil {
			if err := tx.Addresses().SetDefault(ctx, actor.UserID, id, ecolaura.UseBilling); err != nil {
				return err
			}
		}
		out, err = tx.Addresses().Get(ctx, actor.UserID, id)
		return err
	})
	if err != nil {
		return ecolaura.SavedAddress{}, fmt.Errorf("update address: %w", err)
	}
	return out, nil
}

// DeleteAddress removes an entry of the actor's address book (with its
// marks: the book may then have no default). Errors: ErrUnauthenticated;
// ErrNotFound (also for another user's entry).
func (s *Service) DeleteAddress(ctx context.Context, actor ecolaura.Principal, id ecolaura.ID) error {
	if err := actor.RequireAuthenticated(); err != nil {
		return fmt.Errorf("delete address: %w", err)
	}
	if err := s.db.Addresses().Delete(ctx, actor.UserID, id); err != nil {
		return fmt.Errorf("delete address: %w", err)
	}
	return nil
}
