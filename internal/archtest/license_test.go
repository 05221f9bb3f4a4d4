package archtest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apache2SHA256 is the SHA-256 of the Apache License 2.0 text as the Apache
// Software Foundation publishes it (https://www.apache.org/licenses/LICENSE-2.0.txt),
// which is what pkg.go.dev's license detection recognises.
const apache2SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

// TestLicenseIsApache2 checks that the repository carries the Apache-2.0
// license text, unmodified, and that the OpenAPI document states the same
// license.
func TestLicenseIsApache2(t *testing.T) {
	root := moduleRoot(t)
	text, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	require.NoError(t, err, "the repository has no LICENSE file")
	sum := sha256.Sum256(text)
	assert.Equal(t, apache2SHA256, hex.EncodeToString(sum[:]), "LICENSE is not the unmodified Apache License 2.0 text")

	spec, err := os.ReadFile(filepath.Join(root, "docs", "openapi.yaml"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^  license:\n    name: (.+)\n    identifier: (.+)$`).FindSubmatch(spec)
	require.NotNil(t, m, "docs/openapi.yaml has no info.license with name and identifier")
	assert.Equal(t, "Apache-2.0", string(m[2]), "OpenAPI info.license.identifier (SPDX)")
	assert.Equal(t, "Apache-2.0", string(m[1]), "OpenAPI info.license.name")

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "[Apache License 2.0](LICENSE)", "the README names the license")
}
