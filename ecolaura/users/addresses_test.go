package users_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ecolaura/users"
	"github.com/ecolaura/ecolaura/internal/storetest"
)

func berlin() ecolaura.Address {
	return ecolaura.Address{Name: " Ada Lovelace ", Line1: "Unter den Linden 1", PostalCode: "10117", City: "Berlin", Country: "de", Phone: "030 1234567"}
}

func TestNormalizeAddress(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        ecolaura.Address
		wantPhone string
		fields    []string
	}{
		{name: "national form for the country", in: berlin(), wantPhone: "+49301234567"},
		{name: "international form with spaces", in: func() ecolaura.Address { a := berlin(); a.Phone = "+33 1 23 45 67 89"; return a }(), wantPhone: "+33123456789"},
		{name: "US number in national form", in: ecolaura.Address{Name: "Grace", Line1: "1 Main St", City: "Boston", Region: "MA", PostalCode: "02108", Country: "US", Phone: "(617) 555-0123"}, wantPhone: "+16175550123"},
		{name: "no phone", in: func() ecolaura.Address { a := berlin(); a.Phone = ""; return a }()},
		{name: "too short to be a number", in: func() ecolaura.Address { a := berlin(); a.Phone = "12"; return a }(), fields: []string{"phone"}},
		{name: "letters", in: func() ecolaura.Address { a := berlin(); a.Phone = "call me"; return a }(), fields: []string{"phone"}},
		{name: "unknown country and a national number", in: func() ecolaura.Address { a := berlin(); a.Country = "XX"; return a }(), fields: []string{"country", "phone"}},
		{name: "blank fields", in: ecolaura.Address{Country: "FR"}, fields: []string{"city", "line1", "name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := users.NormalizeAddress(tc.in)
			if tc.fields != nil {
				assert.Equal(t, tc.fields, fieldNames(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantPhone, got.Phone)
			assert.Equal(t, tc.in.Normalized().Name, got.Name)
			assert.Equal(t, tc.in.Normalized().Country, got.Country)
		})
	}
}

func fieldNames(t *testing.T, err error) []string {
	t.Helper()
	var ve *ecolaura.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestAddressBook(t *testing.T) { storetest.Run(t, testAddressBook) }

func testAddressBook(t *testing.T, s storetest.Store) {
	e := newEnv(t, s)
	ctx := context.Background()
	ada := e.register(t, "ada@example.org", pw)
	bob := e.register(t, "bob@example.org", pw)
	me := ada.Principal()

	_, err := e.svc.Addresses(ctx, ecolaura.Anonymous)
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)
	_, err = e.svc.CreateAddress(ctx, ecolaura.Anonymous, users.AddressInput{Address: berlin()})
	require.ErrorIs(t, err, ecolaura.ErrUnauthenticated)

	home, err := e.svc.CreateAddress(ctx, me, users.AddressInput{Address: berlin()})
	require.NoError(t, err)
	assert.Equal(t, "Ada Lovelace", home.Name)
	assert.Equal(t, "DE", home.Country)
	assert.Equal(t, "+49301234567", home.Phone)
	assert.True(t, home.DefaultShipping && home.DefaultBilling, "the first entry is the default for both")

	work, err := e.svc.CreateAddress(ctx, me, users.AddressInput{Address: ecolaura.Address{Name: "Ada", Company: "Analytical Engines Ltd", Line1: "1 Dock Rd", City: "London", PostalCode: "E16 1AA", Country: "GB"}, DefaultBilling: true})
	require.NoError(t, err)
	assert.False(t, work.DefaultShipping)
	assert.True(t, work.DefaultBilling)
	book, err := e.svc.Addresses(ctx, me)
	require.NoError(t, err)
	require.Len(t, book, 2)
	assert.Equal(t, [2]bool{true, false}, [2]bool{book[0].DefaultShipping, book[0].DefaultBilling}, "the billing mark moved")

	_, err = e.svc.CreateAddress(ctx, me, users.AddressInput{Address: ecolaura.Address{Name: "X", Line1: "Y", City: "Z", Country: "UK"}})
	assert.Equal(t, []string{"country"}, fieldNames(t, err))

	city, ship := "Manchester", true
	moved, err := e.svc.UpdateAddress(ctx, me, work.ID, users.AddressPatch{City: &city, DefaultShipping: &ship})
	require.NoError(t, err)
	assert.Equal(t, "Manchester", moved.City)
	assert.Equal(t, "Analytical Engines Ltd", moved.Company, "unpatched fields stay")
	assert.True(t, moved.DefaultShipping && moved.DefaultBilling)
	assert.Equal(t, 2, moved.Version)
	empty := ""
	cleared, err := e.svc.UpdateAddress(ctx, me, work.ID, users.AddressPatch{Company: &empty})
	require.NoError(t, err)
	assert.Empty(t, cleared.Company)
	no := false
	_, err = e.svc.UpdateAddress(ctx, me, work.ID, users.AddressPatch{DefaultBilling: &no})
	assert.Equal(t, []string{"default_billing"}, fieldNames(t, err))
	bad := "not a phone"
	_, err = e.svc.UpdateAddress(ctx, me, work.ID, users.AddressPatch{Phone: &bad})
	assert.Equal(t, []string{"phone"}, fieldNames(t, err))

	// Another customer neither sees nor changes Ada's entries.
	_, err = e.svc.Address(ctx, bob.Principal(), home.ID)
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	_, err = e.svc.UpdateAddress(ctx, bob.Principal(), home.ID, users.AddressPatch{City: &city})
	require.ErrorIs(t, err, ecolaura.ErrNotFound)
	require.ErrorIs(t, e.svc.DeleteAddress(ctx, bob.Principal(), home.ID), ecolaura.ErrNotFound)
	bobs, err := e.svc.Addresses(ctx, bob.Principal())
	require.NoError(t, err)
	assert.Empty(t, bobs)

	require.NoError(t, e.svc.DeleteAddress(ctx, me, work.ID))
	book, err = e.svc.Addresses(ctx, me)
	require.NoError(t, err)
	require.Len(t, book, 1)
	assert.False(t, book[0].DefaultShipping || book[0].DefaultBilling, "the deleted entry took its marks")
}

// TestAddressBookFull: concurrent creates never take a book past its limit;
// the account lock makes them count one after the other.
func TestAddressBookFull(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s storetest.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		u := e.register(t, "full@example.org", pw)
		for i := range ecolaura.MaxAddressesPerUser - 3 {
			a := berlin()
			a.Line2 = fmt.Sprint("Apartment ", i)
			_, err := e.svc.CreateAddress(ctx, u.Principal(), users.AddressInput{Address: a})
			require.NoError(t, err)
		}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.svc.CreateAddress(ctx, u.Principal(), users.AddressInput{Address: berlin()})
			}()
		}
		wg.Wait()
		ok, full := 0, 0
		for _, err := range errs {
			var re *ecolaura.RuleError
			switch {
			case err == nil:
				ok++
			case assert.ErrorAs(t, err, &re):
				assert.Equal(t, users.RuleAddressBookFull, re.Rule)
				full++
			}
		}
		assert.Equal(t, 3, ok)
		assert.Equal(t, n-3, full, "the raced creates beyond the limit were refused")
		book, err := e.svc.Addresses(ctx, u.Principal())
		require.NoError(t, err)
		assert.Len(t, book, ecolaura.MaxAddressesPerUser)
	})
}
