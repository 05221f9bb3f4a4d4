package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	got := out.String()
	for _, want := range []string{
		"registered ada@example.org as a customer\n",
		"verified as the customer\n",
		"order placed: status pending\n",
		"after the background jobs: status confirmed\n",
		"emails sent: 2\n",
		"retried checkout: replayed true, same order true\n",
	} {
		assert.Contains(t, got, want)
	}
	// The chosen product and the figures that follow from it.
	chose := regexp.MustCompile(`chose (.+): (\d+\.\d\d EUR), score \d+, (\S+) kg CO2e each, (\d+) in stock`).FindStringSubmatch(got)
	require.NotNil(t, chose, got)
	assert.Contains(t, got, "  3 × "+chose[1]+" @ "+chose[2]+" = ")
	assert.Regexp(t, `carbon offset for \S+ kg CO2e: \d+\.\d\d EUR\n  total \d+\.\d\d EUR\n  footprint \S+ kg CO2e\n`, got)
	assert.Regexp(t, `to ada@example.org: "Your Ecolaura order [0-9A-F]{8} is confirmed"`, got)
	assert.Contains(t, got, `to ada@example.org: "Confirm your email address for Ecolaura"`)
	assert.Regexp(t, `verify-email\?token=[A-Za-z0-9_-]{43}\n`, got)
	assert.Contains(t, got, "  | Hello Ada,")
	assert.Contains(t, got, "cancelled: status cancelled, "+chose[1]+" back to "+chose[4]+" in stock\n")
}
