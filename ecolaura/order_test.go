package ecolaura_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestCanTransition(t *testing.T) {
	all := []ecolaura.OrderStatus{ecolaura.StatusPending, ecolaura.StatusConfirmed, ecolaura.StatusShipped, ecolaura.StatusDelivered, ecolaura.StatusCancelled}
	allowed := map[[2]ecolaura.OrderStatus]bool{
		{ecolaura.StatusPending, ecolaura.StatusConfirmed}:   true,
		{ecolaura.StatusPending, ecolaura.StatusCancelled}:   true,
		{ecolaura.StatusConfirmed, ecolaura.StatusShipped}:   true,
		{ecolaura.StatusConfirmed, ecolaura.StatusCancelled}: true,
		{ecolaura.StatusShipped, ecolaura.StatusDelivered}:   true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				assert.Equal(t, allowed[[2]ecolaura.OrderStatus{from, to}], ecolaura.CanTransition(from, to))
			})
		}
	}
	assert.False(t, ecolaura.OrderStatus("lost").Valid())
}

func TestOrderCloneAndUnits(t *testing.T) {
	now := time.Now()
	o := ecolaura.Order{
		Lines:              []ecolaura.OrderLine{{Quantity: 2}, {Quantity: 3}},
		Offset:             &ecolaura.CarbonOffset{Footprint: 10},
		ConfirmationSentAt: &now,
	}
	assert.Equal(t, 5, o.Units())
	c := o.Clone()
	c.Lines[0].Quantity = 100
	c.Offset.Footprint = 99
	*c.ConfirmationSentAt = now.Add(time.Hour)
	assert.Equal(t, 2, o.Lines[0].Quantity)
	assert.Equal(t, ecolaura.CO2e(10), o.Offset.Footprint)
	assert.Equal(t, now, *o.ConfirmationSentAt)
}

func TestErrorsMatchTheirSentinels(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
	}{
		{name: "validation", err: ecolaura.Invalid("price", "bad"), target: ecolaura.ErrInvalid},
		{name: "wrapped validation", err: fmt.Errorf("create product: %w", ecolaura.Invalid("price", "bad")), target: ecolaura.ErrInvalid},
		{name: "insufficient stock", err: &ecolaura.InsufficientStockError{ProductID: "p", Requested: 2, Available: 1}, target: ecolaura.ErrInsufficientStock},
		{name: "wrapped insufficient stock", err: fmt.Errorf("checkout: %w", &ecolaura.InsufficientStockError{Name: "Soap"}), target: ecolaura.ErrInsufficientStock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, tt.err, tt.target)
			assert.False(t, errors.Is(tt.err, ecolaura.ErrNotFound))
		})
	}
	var ise *ecolaura.InsufficientStockError
	assert.ErrorAs(t, fmt.Errorf("x: %w", &ecolaura.InsufficientStockError{Name: "Soap", Requested: 3, Available: 1}), &ise)
	assert.Equal(t, `insufficient stock for product "Soap": requested 3, available 1`, ise.Error())
}

func TestValidator(t *testing.T) {
	var v ecolaura.Validator
	assert.NoError(t, v.Err())
	v.Check(false, "b", "bad %d", 1)
	v.Merge("lines[0]", ecolaura.Invalid("quantity", "too many"))
	v.Merge("price", errors.New("plain"))
	err := v.Err()
	var ve *ecolaura.ValidationError
	assert.ErrorAs(t, err, &ve)
	assert.Equal(t, []ecolaura.FieldError{
		{Field: "b", Message: "bad 1"},
		{Field: "lines[0].quantity", Message: "too many"},
		{Field: "price", Message: "plain"},
	}, ve.Fields)
	assert.Equal(t, map[string][]string{"b": {"bad 1"}, "lines[0].quantity": {"too many"}, "price": {"plain"}}, ve.FieldMessages())
}

func TestConfigErrorIsNoDomainError(t *testing.T) {
	var v ecolaura.Validator
	assert.NoError(t, v.ConfigErr())
	v.Check(false, "clock", "is required")
	v.Merge("jwt", ecolaura.Misconfigured("ttl", "must be positive"))
	err := fmt.Errorf("shop: %w", v.ConfigErr())
	var ce *ecolaura.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []ecolaura.FieldError{
		{Field: "clock", Message: "is required"},
		{Field: "jwt.ttl", Message: "must be positive"},
	}, ce.Fields)
	assert.Equal(t, "shop: invalid configuration: clock: is required; jwt.ttl: must be positive", err.Error())
	for _, sentinel := range []error{
		ecolaura.ErrNotFound, ecolaura.ErrInvalid, ecolaura.ErrConflict, ecolaura.ErrInsufficientStock,
		ecolaura.ErrUnauthenticated, ecolaura.ErrForbidden, ecolaura.ErrInvalidTransition,
		ecolaura.ErrIdempotencyMismatch, ecolaura.ErrUnavailable,
	} {
		assert.NotErrorIs(t, err, sentinel, "a programmer's error is not %v", sentinel)
	}
}

func TestConflictErrorMatchesOnlyErrConflict(t *testing.T) {
	err := fmt.Errorf("register: %w", &ecolaura.ConflictError{Field: "email"})
	assert.ErrorIs(t, err, ecolaura.ErrConflict)
	var ce *ecolaura.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "email", ce.Field)
	assert.Equal(t, "register: email is already taken: conflict", err.Error())
	for _, other := range []error{ecolaura.ErrInvalid, ecolaura.ErrNotFound, ecolaura.ErrUnavailable} {
		assert.NotErrorIs(t, err, other)
	}
}
