package metadata

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// ErrAPI marks a service API archive that cannot be read.
var ErrAPI = errors.New("service API")

// maxAPIBytes bounds the archive and each file in it.
const maxAPIBytes = 16 << 20

var (
	protoComment = regexp.MustCompile(`(?s)//[^\n]*|/\*.*?\*/`)
	protoPackage = regexp.MustCompile(`\bpackage\s+([A-Za-z_][\w.]*)\s*;`)
	protoService = regexp.MustCompile(`\bservice\s+([A-Za-z_]\w*)\s*\{`)
	protoRPC     = regexp.MustCompile(`\brpc\s+([A-Za-z_]\w*)\s*\(`)
)

// APIMethods lists the full gRPC methods ("/package.Service/Method") that
// the .proto files of a service API archive (service_api_source: a tar,
// gzip-compressed or not) declare, sorted. Only names are read, not types,
// so it needs no proto compiler: it is enough to check that configured
// method patterns select something.
func APIMethods(archive []byte) ([]string, error) {
	var r io.Reader = bytes.NewReader(archive)
	if len(archive) >= 2 && archive[0] == 0x1f && archive[1] == 0x8b {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAPI, err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(io.LimitReader(r, maxAPIBytes))
	var methods []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAPI, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".proto") {
			continue
		}
		src, err := io.ReadAll(io.LimitReader(tr, maxAPIBytes))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrAPI, h.Name, err)
		}
		methods = append(methods, protoMethods(string(src))...)
	}
	sort.Strings(methods)
	return methods, nil
}

// protoMethods scans one .proto file for its services' rpcs.
func protoMethods(src string) []string {
	src = protoComment.ReplaceAllString(src, " ")
	pkg := ""
	if m := protoPackage.FindStringSubmatch(src); m != nil {
		pkg = m[1] + "."
	}
	var out []string
	for _, loc := range protoService.FindAllStringSubmatchIndex(src, -1) {
		name := src[loc[2]:loc[3]]
		body := serviceBody(src[loc[1]:])
		for _, rpc := range protoRPC.FindAllStringSubmatch(body, -1) {
			out = append(out, "/"+pkg+name+"/"+rpc[1])
		}
	}
	return out
}

// serviceBody is the text up to the brace closing a service (options in
// rpc bodies nest braces).
func serviceBody(s string) string {
	depth := 1
	for i, c := range s {
		switch c {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return s[:i]
			}
		}
	}
	return s
}
