package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ecomail "github.com/ecolaura/ecolaura/adapters/mail"
	"github.com/ecolaura/ecolaura/ports"
)

func TestLogMailer(t *testing.T) {
	var buf bytes.Buffer
	m := ecomail.NewLogMailer(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	require.NoError(t, m.Send(context.Background(), ports.Message{To: "a@example.org", Subject: "Hello there", Text: "body text"}))
	out := buf.String()
	assert.Contains(t, out, "a@example.org")
	assert.Contains(t, out, "Hello there")
	assert.Contains(t, out, "body text")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, m.Send(ctx, ports.Message{}), context.Canceled)
}

func TestRecorderConcurrent(t *testing.T) {
	r := ecomail.NewRecorder()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			assert.NoError(t, r.Send(context.Background(), ports.Message{To: "a@example.org", Subject: string(rune('A' + i%26))}))
		})
	}
	wg.Wait()
	assert.Equal(t, n, r.Len())
	msgs := r.Messages()
	require.Len(t, msgs, n)
	msgs[0].Subject = "changed"
	assert.NotEqual(t, "changed", r.Messages()[0].Subject, "Messages returns a copy")

	boom := errors.New("smtp down")
	r.FailWith(boom)
	require.ErrorIs(t, r.Send(context.Background(), ports.Message{}), boom)
	assert.Equal(t, n, r.Len(), "a failed send records nothing")
	r.FailWith(nil)
	r.Reset()
	assert.Equal(t, 0, r.Len())
}
