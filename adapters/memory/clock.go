package memory

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// ManualClock is a [ports.Clock] that only moves when told to, for
// deterministic tests. It is safe for concurrent use. The zero value reads
// the zero time.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

var _ ports.Clock = (*ManualClock)(nil)

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t (backwards too).
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d and returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// SequentialIDs is a [ports.IDGenerator] that returns valid, strictly
// increasing, UUID-shaped IDs: 00000000-0000-7000-8000-000000000001, then
// ...0002, and so on. It is safe for concurrent use; the zero value is ready.
type SequentialIDs struct {
	n atomic.Uint64
}

var _ ports.IDGenerator = (*SequentialIDs)(nil)

// NewSequentialIDs returns a generator whose first ID ends in 1.
func NewSequentialIDs() *SequentialIDs { return &SequentialIDs{} }

// NewID returns the next ID.
func (g *SequentialIDs) NewID() ecolaura.ID {
	n := g.n.Add(1) & (1<<48 - 1)
	return ecolaura.ID(fmt.Sprintf("00000000-0000-7000-8000-%012x", n))
}
