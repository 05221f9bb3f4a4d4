package memory

// WithStaleLimit sets how many stock-only changes wait before they are
// folded into the sort indexes, so tests can exercise folding.
func WithStaleLimit(n int) Option { return func(db *Database) { db.staleLimit = max(1, n) } }
