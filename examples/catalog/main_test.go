package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"defaults", nil, []string{"10 products match; showing 8 (sort score)", "Organic Cotton Produce Bags (5 pack)",
			"Why \"Organic Cotton Produce Bags (5 pack)\" scores 62", "Greener alternatives to", "Category averages:"}},
		{"filtered", []string{"-category", "clothing", "-max-price", "30", "-sort", "price"}, []string{"3 products match", "Recycled Wool Beanie"}},
		{"nothing matches", []string{"-q", "no such thing"}, []string{"0 products match"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), &out, tt.args))
			for _, w := range tt.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
	for _, args := range [][]string{{"-sort", "cheapest"}, {"-max-price", "abc"}, {"-n", "1000"}, {"-bogus"}} {
		var out bytes.Buffer
		assert.Error(t, run(context.Background(), &out, args), "%v", args)
	}
}
