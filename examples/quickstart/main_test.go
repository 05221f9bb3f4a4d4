package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goBlocks returns the ```go blocks of a Markdown file, in order.
func goBlocks(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var blocks []string
	rest := string(raw)
	for {
		_, after, ok := strings.Cut(rest, "```go\n")
		if !ok {
			return blocks
		}
		block, tail, ok := strings.Cut(after, "```\n")
		require.True(t, ok, "unterminated go block in %s", path)
		blocks, rest = append(blocks, block), tail
	}
}

// TestReadmeQuotesThisProgram: the README's first SDK block is this
// program, byte for byte (so it is complete, gofmt-ed and compiled).
func TestReadmeQuotesThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	blocks := goBlocks(t, "../../README.md")
	require.NotEmpty(t, blocks)
	assert.Equal(t, string(src), blocks[0], "README.md's first go block must equal examples/quickstart/main.go")
}

// TestReadmeQuotesTheSharedCacheExample: the README's block over PostgreSQL
// and Redis is the body of ecolaura/shop's Example_postgresAndRedis, which
// go vet and go test compile.
func TestReadmeQuotesTheSharedCacheExample(t *testing.T) {
	const file = "../../ecolaura/shop/example_test.go"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	require.NoError(t, err)
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	var body string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Example_postgresAndRedis" {
			inner := string(src[fset.Position(fn.Body.Lbrace).Offset+2 : fset.Position(fn.Body.Rbrace).Offset])
			var lines []string
			for _, l := range strings.SplitAfter(inner, "\n") {
				lines = append(lines, strings.TrimPrefix(l, "\t"))
			}
			body = strings.Join(lines, "")
		}
	}
	require.NotEmpty(t, body, "Example_postgresAndRedis not found in %s", file)
	blocks := goBlocks(t, "../../README.md")
	require.GreaterOrEqual(t, len(blocks), 2)
	assert.Equal(t, body, blocks[1], "README.md's second go block must equal the body of Example_postgresAndRedis")
}

// TestRun runs the program.
func TestRun(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	t.Cleanup(func() { os.Stdout = stdout })
	var out bytes.Buffer
	copied := make(chan error, 1)
	go func() { _, err := io.Copy(&out, r); copied <- err }()
	main()
	require.NoError(t, w.Close())
	require.NoError(t, <-copied)
	assert.Contains(t, out.String(), "Organic Cotton Produce Bags (5 pack), 12.00 EUR, score 62")
	assert.Contains(t, out.String(), "  footprint        37/40")
	assert.Equal(t, 18, strings.Count(out.String(), "\n"), "three products, each with five components:\n%s", out.String())
}
