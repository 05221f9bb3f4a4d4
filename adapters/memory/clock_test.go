package memory_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/memory"
	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestManualClock(t *testing.T) {
	c := memory.NewManualClock(t0)
	assert.Equal(t, t0, c.Now())
	assert.Equal(t, t0.Add(time.Hour), c.Advance(time.Hour))
	c.Set(t0)
	assert.Equal(t, t0, c.Now())
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Advance(time.Second)
			_ = c.Now()
		}()
	}
	wg.Wait()
	assert.Equal(t, t0.Add(10*time.Second), c.Now())
}

func TestSequentialIDs(t *testing.T) {
	g := memory.NewSequentialIDs()
	first := g.NewID()
	assert.Equal(t, ecolaura.ID("00000000-0000-7000-8000-000000000001"), first)
	var mu sync.Mutex
	seen := map[ecolaura.ID]bool{first: true}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev := ecolaura.ID("")
			for range 250 {
				id := g.NewID()
				_, err := ecolaura.ParseID(string(id))
				assert.NoError(t, err)
				assert.Greater(t, id, prev)
				prev = id
				mu.Lock()
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, 1001)
	var zero memory.SequentialIDs
	assert.Equal(t, first, zero.NewID(), "the zero value is ready")
}
