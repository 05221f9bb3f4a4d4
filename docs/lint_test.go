package docs_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/docs"
	"github.com/ecolaura/ecolaura/internal/testenv"
)

// TestOpenAPILintsClean runs Redocly CLI's linter (the recommended rules,
// configured by redocly.yaml and .redocly.lint-ignore.yaml at the
// repository root) on docs/openapi.yaml and wants neither an error nor a
// warning. .ci/run installs the CLI (npm @redocly/cli).
func TestOpenAPILintsClean(t *testing.T) {
	redocly, err := exec.LookPath("redocly")
	if err != nil {
		testenv.Unavailable(t, "Redocly CLI (npm install -g @redocly/cli)", err)
	}
	cmd := exec.Command(redocly, "lint", "--format=stylish")
	cmd.Dir = ".." // where redocly.yaml is
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "redocly lint:\n%s", out)
	assert.Contains(t, string(out), "docs/openapi.yaml", "the configured document was linted")
	assert.Contains(t, string(out), "Your API description is valid", "%s", out)
	// Problems are listed as "  LINE:COL  severity  rule  message".
	problem := regexp.MustCompile(`^\s*\d+:\d+\s+(warning|error)\s`)
	for _, line := range strings.Split(string(out), "\n") {
		assert.False(t, problem.MatchString(line), "redocly lint reports a problem: %s", line)
	}
}

// TestOpenAPIIsEmbedded: the document the server serves is the file.
func TestOpenAPIIsEmbedded(t *testing.T) {
	raw, err := os.ReadFile("openapi.yaml")
	require.NoError(t, err)
	assert.Equal(t, string(raw), docs.OpenAPI())
}
