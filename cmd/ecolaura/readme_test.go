package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeListsEverySetting is the QA report's item 14: the README's
// configuration table left out settings the server reads
// (ECOLAURA_REDIS_PREFIX, ECOLAURA_CURRENCY, ECOLAURA_WORKERS). Every
// ECOLAURA_* variable the commands read (the non-test sources of this
// package) must have a row there, and every row must name a variable that
// is read; docs/operations.md's table must list them too.
func TestReadmeListsEverySetting(t *testing.T) {
	read := settingsRead(t)
	require.Contains(t, read, "ECOLAURA_DATABASE_URL", "the scan finds the settings")
	for _, doc := range []struct{ path, from, to string }{
		{"../../README.md", "## Configuration", "\n## "},
		{"../../docs/operations.md", "| Variable |", "\n\n"},
	} {
		raw, err := os.ReadFile(doc.path)
		require.NoError(t, err)
		text := string(raw)
		start := strings.Index(text, doc.from)
		require.GreaterOrEqual(t, start, 0, "%s has no %q", doc.path, doc.from)
		table := text[start:]
		if end := strings.Index(table[len(doc.from):], doc.to); end >= 0 {
			table = table[:len(doc.from)+end]
		}
		documented := uniq(regexp.MustCompile(`ECOLAURA_[A-Z_]+[A-Z]`).FindAllString(table, -1))
		for _, v := range read {
			assert.Contains(t, documented, v, "%s's configuration table does not list %s", doc.path, v)
		}
		for _, v := range documented {
			assert.Contains(t, read, v, "%s's configuration table lists %s, which nothing reads", doc.path, v)
		}
	}
}

// settingsRead returns the ECOLAURA_* names quoted in this package's
// non-test sources.
func settingsRead(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var names []string
	re := regexp.MustCompile(`"(ECOLAURA_[A-Z_]+[A-Z])"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			names = append(names, m[1])
		}
	}
	return uniq(names)
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
