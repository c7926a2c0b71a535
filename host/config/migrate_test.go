package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrate: the HCL that Migrate writes for a file, saved where it would
// be saved, loads to the same Config as the file. localnet.snetd.json is
// the file examples/devnet/localnet writes (its snetd map, with fixed
// ports and addresses); cmd/tariffd's tests migrate the one a running
// local network writes.
func TestMigrate(t *testing.T) {
	for _, in := range []string{
		"testdata/full.json",
		"testdata/typical.snetd.json",
		"testdata/localnet.snetd.json",
		"testdata/deprecated.snetd.json",
		"testdata/full.hcl",
		"testdata/offline.hcl",
	} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			want, _, err := Load([]string{in}, nil)
			require.NoError(t, err)
			for _, dir := range []string{"", t.TempDir()} {
				hcl, _, err := Migrate(in, dir)
				require.NoError(t, err)
				out := filepath.Join(dir, "tariff.hcl")
				if dir == "" {
					// Saved next to the source: the same relative paths.
					out = filepath.Join(filepath.Dir(in), "migrated-"+filepath.Base(in)+".hcl")
					t.Cleanup(func() { os.Remove(out) })
				}
				require.NoError(t, os.WriteFile(out, hcl, 0o600))
				got, _, err := Load([]string{out}, nil)
				require.NoError(t, err, "%s", hcl)
				require.Equal(t, withoutOrigins(want), withoutOrigins(got), "%s", hcl)
			}
		})
	}
}

func TestMigrateOutput(t *testing.T) {
	hcl, warnings, err := Migrate("testdata/deprecated.snetd.json", "")
	require.NoError(t, err)
	s := string(hcl)
	require.True(t, strings.HasPrefix(s, "# Migrated from deprecated.snetd.json by tariffd config migrate"), s)
	require.Contains(t, s, `listen              = "127.0.0.1:7000"`, "deprecated keys come out under their HCL names")
	require.NotEmpty(t, warnings, "the deprecated keys are still reported")

	hcl, _, err = Migrate("testdata/full.json", "")
	require.NoError(t, err)
	s = string(hcl)
	require.Contains(t, s, `ipfs_timeout        = "45s"`, "snetd's bare seconds become a duration")
	require.Contains(t, s, `org_file            = "files/org.json"`, "paths as written when saved next to the source")
	require.Contains(t, s, `"0x90f79bf6eb2c4f870365e785982e1f101e93b906" = 500`)
	require.NotContains(t, s, "lighthouse_endpoint = \"https://gateway", "defaults are not written")

	dir := t.TempDir()
	hcl, _, err = Migrate("testdata/full.json", dir)
	require.NoError(t, err)
	rel, err := filepath.Rel(dir, mustAbs(t, "testdata/files/org.json"))
	require.NoError(t, err)
	require.Contains(t, string(hcl), `org_file            = "`+filepath.ToSlash(rel)+`"`, "paths follow the output's directory")
}

func TestMigratePlugins(t *testing.T) {
	want, _, err := Load([]string{"testdata/typical.snetd.json", "testdata/plugins/plugins.hcl"}, nil)
	require.NoError(t, err)
	dir := t.TempDir()
	hcl, _, err := Migrate("testdata/plugins/plugins.hcl", dir)
	require.Error(t, err, "a plugins-only file does not validate alone")
	require.NotEmpty(t, hcl, "but is migrated, to be fixed in its new form")
	out := filepath.Join(dir, "plugins.hcl")
	require.NoError(t, os.WriteFile(out, hcl, 0o600))
	got, _, err := Load([]string{"testdata/typical.snetd.json", out}, nil)
	require.NoError(t, err, "%s", hcl)
	require.Equal(t, withoutOrigins(want), withoutOrigins(got), "%s", hcl)
	require.Contains(t, string(hcl), `plugin "tier-header" {`)
}

func TestMigrateErrors(t *testing.T) {
	hcl, _, err := Migrate("testdata/err_syntax.json", "")
	require.ErrorIs(t, err, ErrSyntax)
	require.Nil(t, hcl)

	hcl, _, err = Migrate("testdata/err_validation.json", "")
	require.ErrorIs(t, err, ErrInvalid)
	require.NotNil(t, hcl)

	_, _, err = Migrate("testdata/none.json", "")
	require.ErrorIs(t, err, os.ErrNotExist)
}
