package media_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecolaura/ecolaura/adapters/media"
	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
	"github.com/ecolaura/ecolaura/ports/porttest"
)

func newStore(t *testing.T) (ports.MediaStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	s, err := media.Open(dir)
	require.NoError(t, err)
	return s, dir
}

func TestConformance(t *testing.T) { porttest.MediaStore(t, newStore) }

func TestOpen(t *testing.T) {
	t.Run("EmptyDirIsAConfigError", func(t *testing.T) {
		_, err := media.Open(" ")
		var ce *ecolaura.ConfigError
		require.ErrorAs(t, err, &ce)
	})
	t.Run("CreatesTheDirectory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		s, err := media.Open(dir)
		require.NoError(t, err)
		assert.Equal(t, dir, s.Dir())
		info, err := os.Stat(dir)
		require.NoError(t, err)
		assert.True(t, info.IsDir())
	})
	t.Run("RemovesStaleTemporaryFiles", func(t *testing.T) {
		dir := t.TempDir()
		stale, fresh := filepath.Join(dir, ".upload-123"), filepath.Join(dir, ".upload-456")
		require.NoError(t, os.WriteFile(stale, []byte("half"), 0o600))
		require.NoError(t, os.WriteFile(fresh, []byte("half"), 0o600))
		old := time.Now().Add(-2 * time.Hour)
		require.NoError(t, os.Chtimes(stale, old, old))
		_, err := media.Open(dir)
		require.NoError(t, err)
		assert.NoFileExists(t, stale, "left by a crash long ago")
		assert.FileExists(t, fresh, "may belong to an upload in progress")
	})
}

func TestFilesAreReadableAndListIgnoresOthers(t *testing.T) {
	st, dir := newStore(t)
	blob, err := st.Put(t.Context(), bytes.NewReader(porttest.PNG(5, 5)))
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, blob.Key))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), "readable by a web server serving the directory")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, porttest.NewMediaKey("png")), 0o755))
	keys, err := st.List(t.Context(), time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, []string{blob.Key}, keys, "only media files are listed")
}
