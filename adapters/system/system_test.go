package system_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/system"
	"github.com/ecolaura/ecolaura/ecolaura"
)

func TestUUIDv7IsValidAndOrdered(t *testing.T) {
	var g system.UUIDv7
	prev := g.NewID()
	for i := 0; i < 1000; i++ {
		id := g.NewID()
		_, err := ecolaura.ParseID(string(id))
		require.NoError(t, err)
		assert.Greater(t, id, prev, "UUIDv7 must increase")
		prev = id
	}
}

func TestClockIsUTCMicroseconds(t *testing.T) {
	now := system.Clock{}.Now()
	assert.Equal(t, now.Location().String(), "UTC")
	assert.Zero(t, now.Nanosecond()%1000)
}
