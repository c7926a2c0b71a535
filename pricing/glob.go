package pricing

import (
	"fmt"
	"path"
	"strings"
)

// methodGlob selects full gRPC method names ("/package.Service/Method")
// with a path.Match pattern. Matching runs for every call, so the two
// common shapes, an exact method and a whole service ("/pkg.Svc/*"), skip
// path.Match.
type methodGlob struct {
	pattern string
	op      globOp
	lit     string // globExact: the method; globService: the prefix before "*"
}

type globOp uint8

const (
	globExact   globOp = iota // no wildcard
	globService               // "/pkg.Svc/*": the prefix, then anything without "/"
	globMatch                 // anything else: path.Match
)

// compileGlob checks a method pattern. A pattern has the shape of a method,
// "/" service "/" method, so it holds exactly two "/": one that cannot
// match any method (a missing leading "/", "/*" alone, a third "/") is
// refused rather than silently never selecting anything.
func compileGlob(pattern string) (methodGlob, error) {
	g := methodGlob{pattern: pattern}
	if !strings.HasPrefix(pattern, "/") || strings.Count(pattern, "/") != 2 {
		return g, fmt.Errorf("method pattern %q: want the shape of a method, /package.Service/Method "+
			"(exactly two \"/\"; * does not match \"/\": /pkg.Service/* selects a service, /*/* every method)", pattern)
	}
	if _, err := path.Match(pattern, ""); err != nil {
		// path.Match checks the whole pattern even when the name does not match.
		return g, fmt.Errorf("method pattern %q: %w", pattern, err)
	}
	const meta = `*?[\`
	switch i := strings.IndexAny(pattern, meta); {
	case i < 0:
		g.op, g.lit = globExact, pattern
	case i == len(pattern)-1 && pattern[i] == '*' && pattern[i-1] == '/':
		g.op, g.lit = globService, pattern[:i]
	default:
		g.op = globMatch
	}
	return g, nil
}

func (g *methodGlob) match(method string) bool {
	switch g.op {
	case globExact:
		return method == g.lit
	case globService:
		return strings.HasPrefix(method, g.lit) && strings.IndexByte(method[len(g.lit):], '/') < 0
	}
	ok, _ := path.Match(g.pattern, method) // the pattern was checked by compileGlob
	return ok
}
