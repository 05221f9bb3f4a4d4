package porttest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// The canon functions bring values into one representation before they are
// compared: times in UTC without a monotonic reading, empty slices as nil.
// Backends may legitimately differ in those details only.

func canonTime(t time.Time) time.Time { return t.UTC() }

func canonTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

func canonProduct(p ecolaura.Product) ecolaura.Product {
	p = p.Clone()
	p.Complete() // what a store stores of a product given without variants
	if len(p.Options) == 0 {
		p.Options = nil
	}
	p.CreatedAt, p.UpdatedAt = canonTime(p.CreatedAt), canonTime(p.UpdatedAt)
	if p.Metrics != nil && len(p.Metrics.Certifications) == 0 {
		p.Metrics.Certifications = nil
	}
	return p
}

func canonProducts(ps []ecolaura.Product) []ecolaura.Product {
	out := make([]ecolaura.Product, len(ps))
	for i, p := range ps {
		out[i] = canonProduct(p)
	}
	return out
}

func canonOrder(o ecolaura.Order) ecolaura.Order {
	o = o.Clone()
	o.CreatedAt, o.UpdatedAt = canonTime(o.CreatedAt), canonTime(o.UpdatedAt)
	o.ConfirmationSentAt = canonTimePtr(o.ConfirmationSentAt)
	if len(o.Lines) == 0 {
		o.Lines = nil
	}
	for i := range o.Lines {
		if o.Lines[i].VariantID == "" { // stored as the product's default variant
			o.Lines[i].VariantID = o.Lines[i].ProductID
		}
	}
	return o
}

func canonUser(u ecolaura.User) ecolaura.User {
	u = u.Clone()
	u.CreatedAt, u.UpdatedAt = canonTime(u.CreatedAt), canonTime(u.UpdatedAt)
	u.PasswordChangedAt = canonTime(u.PasswordChangedAt)
	u.EmailVerifiedAt, u.DisabledAt = canonTimePtr(u.EmailVerifiedAt), canonTimePtr(u.DisabledAt)
	return u
}

func canonAccountToken(tk ecolaura.AccountToken) ecolaura.AccountToken {
	tk = tk.Clone()
	tk.CreatedAt, tk.ExpiresAt = canonTime(tk.CreatedAt), canonTime(tk.ExpiresAt)
	tk.UsedAt, tk.RevokedAt = canonTimePtr(tk.UsedAt), canonTimePtr(tk.RevokedAt)
	return tk
}

func canonAuditEvent(e ecolaura.AuditEvent) ecolaura.AuditEvent {
	e = e.Clone()
	e.At = canonTime(e.At)
	if len(e.Changes) == 0 {
		e.Changes = nil
	}
	return e
}

func canonToken(tk ecolaura.RefreshToken) ecolaura.RefreshToken {
	tk = tk.Clone()
	tk.IssuedAt, tk.ExpiresAt = canonTime(tk.IssuedAt), canonTime(tk.ExpiresAt)
	tk.UsedAt, tk.RevokedAt = canonTimePtr(tk.UsedAt), canonTimePtr(tk.RevokedAt)
	return tk
}

func requireProduct(t *testing.T, want, got ecolaura.Product, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, canonProduct(want), canonProduct(got), msgAndArgs...)
}

func requireOrder(t *testing.T, want, got ecolaura.Order, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, canonOrder(want), canonOrder(got), msgAndArgs...)
}

func requireUser(t *testing.T, want, got ecolaura.User, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, canonUser(want), canonUser(got), msgAndArgs...)
}

func requireToken(t *testing.T, want, got ecolaura.RefreshToken, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, canonToken(want), canonToken(got), msgAndArgs...)
}

func productIDs(ps []ecolaura.Product) []ecolaura.ID {
	out := make([]ecolaura.ID, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func orderIDs(os []ecolaura.Order) []ecolaura.ID {
	out := make([]ecolaura.ID, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

// mustCreateProducts stores every product through db.Products().
func mustCreateProducts(t *testing.T, db ports.Stores, ps ...ecolaura.Product) {
	t.Helper()
	for _, p := range ps {
		require.NoError(t, db.Products().Create(ctx(t), p), "create product %s", p.ID)
	}
}

// mustCreateUser stores a new user and returns it.
func mustCreateUser(t *testing.T, db ports.Stores) ecolaura.User {
	t.Helper()
	u := NewUser()
	require.NoError(t, db.Users().Create(ctx(t), u), "create user")
	return u
}

// mustCreateProduct stores a new product in a fresh category and returns it.
func mustCreateProduct(t *testing.T, db ports.Stores, opts ...func(*ecolaura.Product)) ecolaura.Product {
	t.Helper()
	p := NewProduct(UniqueCategory(), opts...)
	mustCreateProducts(t, db, p)
	return p
}

// race runs fn in n goroutines released at the same moment and waits for all
// of them. fn gets the goroutine's index.
func race(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// eventually polls cond until it holds, failing the test after [Liveness].
func eventually(t *testing.T, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	require.Eventually(t, cond, Liveness, pollEvery, msgAndArgs...)
}

// acceptJobs is a job handler that accepts every job.
var acceptJobs = ports.JobHandlerFunc(func(context.Context, ports.Job) error { return nil })

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// sortedReference filters ps with f and sorts them in s, the reference
// semantics of ProductStore.List (without a search: SortRelevance sorts by
// ID). A search (f.Query) is checked only for the words the fixtures use,
// which need no stemming: see wordsMatch.
func sortedReference(ps []ecolaura.Product, f ecolaura.ProductFilter, s ecolaura.ProductSort) []ecolaura.Product {
	var out []ecolaura.Product
	for _, p := range ps {
		if f.Match(p) && (f.Query == "" || wordsMatch(f.Query, p)) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b ecolaura.Product) int {
		pa, pb := position(s, a), position(s, b)
		switch {
		case s.Less(pa, pb):
			return -1
		case s.Less(pb, pa):
			return 1
		}
		return 0
	})
	return out
}

// wordsMatch reports whether every word of q (runs of letters and digits,
// any case) is a word of p's name, description, SKUs or option values, the
// last one the start of such a word: a search's matches for words that
// stemming leaves alone.
func wordsMatch(q string, p ecolaura.Product) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	text := p.Name + " " + p.Description
	for _, v := range p.Variants {
		text += " " + v.SKU
		for _, o := range v.Options {
			text += " " + o
		}
	}
	words := split(text)
	qs := split(q)
	for i, w := range qs {
		last := i == len(qs)-1
		if !slices.ContainsFunc(words, func(x string) bool { return x == w || (last && strings.HasPrefix(x, w)) }) {
			return false
		}
	}
	return len(qs) > 0
}

// position returns where p stands in sort s.
func position(s ecolaura.ProductSort, p ecolaura.Product) ecolaura.ProductPosition {
	return ecolaura.ProductPosition{Key: s.SortKey(p), ID: p.ID}
}
