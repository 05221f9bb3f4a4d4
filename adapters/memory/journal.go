package memory

import (
	"context"
	"slices"

	"github.com/ecolaura/ecolaura/ecolaura"
)

// journalRow is one row of the product-cache journal.
type journalRow struct {
	seq   int64
	ids   []ecolaura.ID
	lists bool
}

// The product-cache journal (productcache.Journal): rows recorded in a
// transaction become visible when it commits. It lives as long as the
// Database, like everything else in it.

// RecordStaleProducts records, within the transaction, that ids (and lists,
// when set) are stale once it commits, and returns the row's sequence
// number. It implements productcache.JournalTx.
func (t *txn) RecordStaleProducts(ctx context.Context, ids []ecolaura.ID, lists bool) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(ids) == 0 && !lists {
		return 0, ecolaura.Invalid("ids", "must not be empty")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return 0, errTxDone
	}
	row := journalRow{seq: t.db.journalSeq.Add(1), ids: slices.Clone(ids), lists: lists}
	t.stale = append(t.stale, row)
	return row.seq, nil
}

// StaleProducts returns up to limit of the oldest committed journal rows:
// their sequence numbers, the union of their product IDs and whether any
// changed lists. It implements productcache.Journal.
func (db *Database) StaleProducts(ctx context.Context, limit int) ([]int64, []ecolaura.ID, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, false, err
	}
	db.journalMu.Lock()
	defer db.journalMu.Unlock()
	var (
		seqs  []int64
		ids   []ecolaura.ID
		lists bool
		seen  = map[ecolaura.ID]bool{}
	)
	for _, r := range db.journal[:min(max(limit, 0), len(db.journal))] {
		seqs = append(seqs, r.seq)
		lists = lists || r.lists
		for _, id := range r.ids {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return seqs, ids, lists, nil
}

// ForgetStaleProducts removes the journal rows with the given sequence
// numbers; unknown ones are ignored. It implements productcache.Journal.
func (db *Database) ForgetStaleProducts(ctx context.Context, seqs []int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.journalMu.Lock()
	defer db.journalMu.Unlock()
	db.journal = slices.DeleteFunc(db.journal, func(r journalRow) bool { return slices.Contains(seqs, r.seq) })
	return nil
}

// appendJournal publishes the rows of a committed transaction.
func (db *Database) appendJournal(rows []journalRow) {
	if len(rows) == 0 {
		return
	}
	db.journalMu.Lock()
	db.journal = append(db.journal, rows...)
	db.journalMu.Unlock()
}
