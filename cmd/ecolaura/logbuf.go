package main

import (
	"io"
	"sync"
	"time"
)

// lineBuffer batches log records (each Write is one whole record) and writes
// them to w when maxBytes accumulate or every interval, so a busy access log
// costs one write system call per batch instead of one per request. Records
// are never split. Close flushes and stops the timer.
type lineBuffer struct {
	mu       sync.Mutex
	w        io.Writer
	buf      []byte
	maxBytes int
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

func newLineBuffer(w io.Writer, interval time.Duration, maxBytes int) *lineBuffer {
	b := &lineBuffer{w: w, maxBytes: maxBytes, buf: make([]byte, 0, maxBytes), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write appends one record; it never fails (a failing sink loses records
// rather than requests).
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.maxBytes {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (b *lineBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *lineBuffer) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Close stops the timer and flushes.
func (b *lineBuffer) Close() error {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
	return b.Flush()
}
