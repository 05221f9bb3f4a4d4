package memory

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffIsExponentialWithJitterAndCapped(t *testing.T) {
	r := NewJobRunner(WithBackoff(10*time.Millisecond, time.Second))
	tests := []struct {
		attempt int
		full    time.Duration
	}{
		{1, 10 * time.Millisecond},
		{2, 20 * time.Millisecond},
		{5, 160 * time.Millisecond},
		{8, time.Second}, // 1.28s capped
		{60, time.Second},
	}
	for _, tc := range tests {
		for range 200 {
			d := r.backoff(tc.attempt)
			assert.GreaterOrEqual(t, d, tc.full/2, "attempt %d", tc.attempt)
			assert.LessOrEqual(t, d, tc.full, "attempt %d", tc.attempt)
		}
	}
}
