// Package memory is the in-process implementation of every Ecolaura storage
// port: product, order, user and refresh-token stores with a unit of work, a
// job queue with an in-process worker pool, a cache, a rate limiter, and
// deterministic clock and ID helpers for tests. It has the semantics of the
// PostgreSQL adapter (transactions, unique keys, no oversell) and is the
// embedded default when no database is configured.
//
// # Concurrency design
//
// The committed state of a [Database] is an immutable snapshot: a set of
// copy-on-write B-trees (github.com/google/btree) holding immutable records,
// published through an atomic pointer.
//
//   - Reads outside a transaction load the current snapshot and never take a
//     lock, so they never wait for a writer, however long its transaction.
//   - A transaction runs READ COMMITTED, as [ports.UnitOfWork] states and
//     PostgreSQL does: until its first write each of its reads loads the
//     latest committed snapshot, so it sees what others committed since its
//     previous read and never waits. Its first write takes the writer lock
//     (a context-aware semaphore of one, held until the transaction ends)
//     and starts the transaction's working copy from the latest commit, so
//     every conditional write (version check, stock guard, status
//     predecessor, "not used yet", unique key) is evaluated against the
//     latest committed rows, and a transaction writing while another holds
//     the lock waits for it and then sees its outcome. From then on its
//     reads see that state plus its own writes (no one else commits
//     meanwhile). Writing transactions are thus serialised from their first
//     write, which is one of the interleavings PostgreSQL's row locks allow;
//     reads before it are not isolated, so two transactions can both read a
//     refresh token as unused and only one MarkUsed wins, as on PostgreSQL.
//   - The working copy clones, lazily and in O(1), only the trees the
//     transaction writes; the B-trees copy a node the first time the
//     transaction changes it, so a write costs O(log n) and the snapshot
//     readers see is never touched. The transaction's own reads see its
//     writes (including lists and counts, which walk its cloned indexes).
//   - Commit publishes the working copy with one atomic store; rollback (an
//     error or a panic in fn) simply drops it. Stock can never go below
//     zero and of concurrent identical status transitions exactly one
//     succeeds, however the transactions interleave.
//   - Single store calls outside Do run as their own one-call transaction.
//
// Product lists walk ordered indexes — one per [ecolaura.ProductSort],
// global and per category — seeking to the cursor, so a page costs
// O(log n + page) whatever the catalog size; Offset walks, the other filters
// are applied while walking, and totals for unfiltered or category-only
// lists come from maintained counts. Category counts and statistics are
// maintained incrementally. Stock lives apart from the catalog records, in
// inventory tables (levels per variant and location, movements, a SKU
// index): a sale or stock change writes only those, never a product record
// or a sort index, which keeps checkout cheap; reads fill each variant's
// available stock from them. Orders are indexed newest first, globally and
// per user.
//
// Jobs enqueued through a transaction are handed to the [JobRunner] only
// after the commit is published, so a handler always sees the committed data
// and a rolled-back transaction's jobs never run.
//
// [Cache] and [RateLimiter] use sharded maps with short per-shard locks and an
// injectable clock.
package memory
