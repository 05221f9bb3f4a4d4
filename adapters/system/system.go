// Package system provides the production implementations of the clock and ID
// generator ports: the wall clock and UUIDv7 identifiers.
package system

import (
	"time"

	"github.com/google/uuid"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// Clock is the wall clock, truncated to microseconds so times survive a round
// trip through PostgreSQL unchanged.
type Clock struct{}

var _ ports.Clock = Clock{}

// Now returns the current UTC time in microseconds.
func (Clock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// UUIDv7 generates time-ordered UUIDv7 identifiers (RFC 9562).
type UUIDv7 struct{}

var _ ports.IDGenerator = UUIDv7{}

// NewID returns a new UUIDv7 in canonical lower-case form.
func (UUIDv7) NewID() ecolaura.ID {
	return ecolaura.ID(uuid.Must(uuid.NewV7()).String())
}
