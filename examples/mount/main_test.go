package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncWriter collects the program's output from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestRun(t *testing.T) {
	for _, kind := range []string{"fiber", "nethttp"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan string, 1)
			done := make(chan error, 1)
			var out syncWriter
			go func() { done <- run(ctx, &out, []string{"-addr", "127.0.0.1:0", "-host", kind}, ready) }()
			var base string
			select {
			case base = <-ready:
			case err := <-done:
				t.Fatalf("run ended early: %v", err)
			}
			get := func(method, path string, body io.Reader) (*http.Response, []byte) {
				req, err := http.NewRequest(method, base+path, body)
				require.NoError(t, err)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				return resp, b
			}
			resp, body := get(http.MethodGet, "/", nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, string(body), "host's home page")

			resp, body = get(http.MethodGet, "/shop/api/v1/products/?page_size=2", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			var page struct {
				Next string `json:"next"`
			}
			require.NoError(t, json.Unmarshal(body, &page))
			assert.Equal(t, base+"/shop/api/v1/products/?page=2&page_size=2", page.Next)

			resp, _ = get(http.MethodDelete, "/shop/api/v2/products", nil)
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			resp, _ = get(http.MethodPost, "/shop/api/v2/products", strings.NewReader(`{"name":"`+strings.Repeat("x", 2<<20)+`"}`))
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

			cancel()
			require.NoError(t, <-done)
			assert.Contains(t, out.b.String(), kind+" host on "+base)
		})
	}
	assert.Error(t, run(context.Background(), io.Discard, []string{"-host", "caddy"}, nil))
}
