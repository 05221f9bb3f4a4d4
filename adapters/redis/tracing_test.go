package redis

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCommandName(t *testing.T) {
	tests := []struct {
		name string
		cmds [][]string
		want string
	}{
		{"none", nil, "redis"},
		{"one", [][]string{{"get", "k"}}, "GET"},
		{"same command", [][]string{{"SET", "a", "1"}, {"set", "b", "2"}}, "SET"},
		{"mixed", [][]string{{"SET", "a", "1"}, {"GET", "a"}}, "PIPELINE"},
		{"empty command", [][]string{{}}, "redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, commandName(tt.cmds))
		})
	}
}
