//go:build unix

package config

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPluginFileIsNeverAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.wasm")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err := hashFile(fifo) // opening it would block until a writer came
	require.ErrorContains(t, err, "is not a regular file")
}
