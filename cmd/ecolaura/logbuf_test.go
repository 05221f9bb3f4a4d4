package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLineBufferKeepsRecordsWhole(t *testing.T) {
	var sink syncBuf
	b := newLineBuffer(&sink, time.Hour, 64)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte(strings.Repeat(string(rune('a'+i)), 20) + "\n"))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, b.Close())
	lines := strings.Split(strings.TrimSuffix(sink.String(), "\n"), "\n")
	assert.Len(t, lines, 800, "nothing lost after Close")
	for _, l := range lines {
		require.Len(t, l, 20)
		assert.Equal(t, strings.Repeat(l[:1], 20), l, "records are never interleaved")
	}
}

func TestLineBufferFlushesOnTimer(t *testing.T) {
	var sink syncBuf
	b := newLineBuffer(&sink, time.Millisecond, 1<<20)
	t.Cleanup(func() { _ = b.Close() })
	_, _ = b.Write([]byte("hello\n"))
	require.Eventually(t, func() bool { return sink.String() == "hello\n" }, 5*time.Second, time.Millisecond)
}
