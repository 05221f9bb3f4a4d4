package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
)

// ---- address book (v2) ----

// v2Address is a postal address as /api/v2 shows and takes it (optional
// fields are "" when empty).
type v2Address struct {
	Name       string `json:"name"`
	Company    string `json:"company"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Region     string `json:"region"`
	Country    string `json:"country"`
	Phone      string `json:"phone"`
}

func toV2Address(a ecolaura.Address) v2Address {
	return v2Address{Name: a.Name, Company: a.Company, Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode,
		City: a.City, Region: a.Region, Country: a.Country, Phone: a.Phone}
}

// v2SavedAddress is an entry of the address book.
type v2SavedAddress struct {
	ID string `json:"id"`
	v2Address
	DefaultShipping bool   `json:"default_shipping"`
	DefaultBilling  bool   `json:"default_billing"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
}

func toV2SavedAddress(a ecolaura.SavedAddress) v2SavedAddress {
	return v2SavedAddress{ID: string(a.ID), v2Address: toV2Address(a.Address), DefaultShipping: a.DefaultShipping,
		DefaultBilling: a.DefaultBilling, CreatedAt: rfc3339(a.CreatedAt), UpdatedAt: rfc3339(a.UpdatedAt)}
}

// v2AddressInput is the body of POST and PATCH: every field optional in
// JSON (POST requires name, line1, city and country, through the domain's
// rules).
type v2AddressInput struct {
	Name            *string `json:"name"`
	Company         *string `json:"company"`
	Line1           *string `json:"line1"`
	Line2           *string `json:"line2"`
	PostalCode      *string `json:"postal_code"`
	City            *string `json:"city"`
	Region          *string `json:"region"`
	Country         *string `json:"country"`
	Phone           *string `json:"phone"`
	DefaultShipping *bool   `json:"default_shipping"`
	DefaultBilling  *bool   `json:"default_billing"`
}

func (in v2AddressInput) patch() users.AddressPatch {
	return users.AddressPatch{Name: in.Name, Company: in.Company, Line1: in.Line1, Line2: in.Line2, PostalCode: in.PostalCode,
		City: in.City, Region: in.Region, Country: in.Country, Phone: in.Phone,
		DefaultShipping: in.DefaultShipping, DefaultBilling: in.DefaultBilling}
}

// v2ListAddresses: GET /api/v2/users/me/addresses → {"items": [...]}.
func (s *Server) v2ListAddresses(c *fiber.Ctx) error {
	book, err := s.svc.Users.Addresses(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := struct {
		Items []v2SavedAddress `json:"items"`
	}{Items: make([]v2SavedAddress, 0, len(book))}
	for _, a := range book {
		out.Items = append(out.Items, toV2SavedAddress(a))
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, out)
}

// v2CreateAddress: POST /api/v2/users/me/addresses → 201 with the entry.
func (s *Server) v2CreateAddress(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	var in v2AddressInput
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	a, err := s.svc.Users.CreateAddress(c.UserContext(), actor, users.AddressInput{
		Address: ecolaura.Address{Name: deref(in.Name), Company: deref(in.Company), Line1: deref(in.Line1), Line2: deref(in.Line2),
			PostalCode: deref(in.PostalCode), City: deref(in.City), Region: deref(in.Region), Country: deref(in.Country), Phone: deref(in.Phone)},
		DefaultShipping: deref(in.DefaultShipping),
		DefaultBilling:  deref(in.DefaultBilling),
	})
	if err != nil {
		return err
	}
	c.Location("/api/v2/users/me/addresses/" + string(a.ID))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusCreated, toV2SavedAddress(a))
}

// v2GetAddress: GET /api/v2/users/me/addresses/{id}.
func (s *Server) v2GetAddress(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := s.svc.Users.Address(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, toV2SavedAddress(a))
}

// v2PatchAddress: PATCH /api/v2/users/me/addresses/{id}: changes the given
// fields; "default_shipping": true / "default_billing": true mark it.
func (s *Server) v2PatchAddress(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in v2AddressInput
	if err := decodeV2(c.Body(), &in); err != nil {
		return err
	}
	a, err := s.svc.Users.UpdateAddress(c.UserContext(), actor, id, in.patch())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendJSON(c, http.StatusOK, toV2SavedAddress(a))
}

// v2DeleteAddress: DELETE /api/v2/users/me/addresses/{id} → 204.
func (s *Server) v2DeleteAddress(c *fiber.Ctx) error {
	actor := principal(c)
	if err := actor.RequireAuthenticated(); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Users.DeleteAddress(c.UserContext(), actor, id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
