package pricing

import (
	"path"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGlobSelection(t *testing.T) {
	const (
		add   = "/example_service.Calculator/add"
		mul   = "/example_service.Calculator/mul"
		other = "/example_service.Other/add"
		short = "/Calculator/add" // no package
	)
	methods := []string{add, mul, other, short}
	for _, tc := range []struct {
		pattern string
		op      globOp
		want    []string
	}{
		{"/example_service.Calculator/add", globExact, []string{add}},
		{"/example_service.Calculator/*", globService, []string{add, mul}},
		{"/*/add", globMatch, []string{add, other, short}},
		{"/*/*", globMatch, methods},
		{"/example_service.*/add", globMatch, []string{add, other}},
		{"/example_service.Calculator/[am]*", globMatch, []string{add, mul}},
		{"/example_service.Calculator/?dd", globMatch, []string{add}},
		{"/Calculator/*", globService, []string{short}},
		{`/example_service.Calculator/\add`, globMatch, []string{add}},
		{"/example_service.Calculator/ad", globExact, nil},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			g, err := compileGlob(tc.pattern)
			require.NoError(t, err)
			require.Equal(t, tc.op, g.op)
			var got []string
			for _, m := range methods {
				if g.match(m) {
					got = append(got, m)
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// * never crosses "/": a service pattern does not select deeper paths.
func TestGlobDoesNotCrossSlash(t *testing.T) {
	g, err := compileGlob("/pkg.Svc/*")
	require.NoError(t, err)
	require.True(t, g.match("/pkg.Svc/m"))
	require.True(t, g.match("/pkg.Svc/"))
	require.False(t, g.match("/pkg.Svc/m/x"))
	require.False(t, g.match("/pkg.SvcX/m"))
}

func TestGlobErrors(t *testing.T) {
	for _, p := range []string{
		"", "*", "/*", "/pkg.Svc", "pkg.Svc/m", "/pkg.Svc/m/", "/a/b/c", // not the shape of a method
		"/pkg.Svc/[", "/pkg.Svc/[]", `/pkg.Svc/m\`, // path.Match syntax
	} {
		_, err := compileGlob(p)
		require.Error(t, err, "%q", p)
	}
}

// The fast paths agree with path.Match.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"/pkg.Svc/*", "/pkg.Svc/m"}, {"/pkg.Svc/*", "/pkg.Svc/m/x"}, {"/pkg.Svc/add", "/pkg.Svc/add"},
		{"/*/*", "/a/b"}, {"/p?g.Svc/[a-z]*", "/pkg.Svc/add"}, {`/pkg\.Svc/*`, "/pkg.Svc/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, method string) {
		g, err := compileGlob(pattern)
		if err != nil {
			return
		}
		want, err := path.Match(pattern, method)
		if err != nil {
			t.Fatalf("compileGlob accepted %q, path.Match refuses it: %v", pattern, err)
		}
		if got := g.match(method); got != want {
			t.Fatalf("match(%q, %q) = %v, path.Match says %v", pattern, method, got, want)
		}
	})
}
