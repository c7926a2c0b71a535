package metadata

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
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
// so it needs no proto compiler and no imported files: it is enough to
// check that configured method patterns select something.
func APIMethods(archive []byte) ([]string, error) {
	files, err := apiFiles(archive)
	if err != nil {
		return nil, err
	}
	var methods []string
	for _, f := range files {
		methods = append(methods, protoMethods(string(f.src))...)
	}
	sort.Strings(methods)
	return methods, nil
}

type protoFile struct {
	name string
	src  []byte
}

// apiFiles reads the .proto files of an API archive, in archive order.
func apiFiles(archive []byte) ([]protoFile, error) {
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
	var files []protoFile
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
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
		files = append(files, protoFile{name: path.Clean(strings.TrimPrefix(h.Name, "./")), src: src})
	}
}

// API is a service's published API compiled from its .proto files: the
// message types an HTTP backend needs to turn gRPC messages into JSON and
// back.
type API struct {
	files linker.Files
}

// CompileAPI compiles the .proto files of a service API archive. Files
// import each other by their path in the archive; the protobuf well-known
// types (google/protobuf/*.proto) need not be in it.
func CompileAPI(ctx context.Context, archive []byte) (*API, error) {
	files, err := apiFiles(archive)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no .proto file in the archive", ErrAPI)
	}
	srcs := make(map[string]string, len(files))
	names := make([]string, 0, len(files))
	for _, f := range files {
		if _, dup := srcs[f.name]; !dup {
			names = append(names, f.name)
		}
		srcs[f.name] = string(f.src)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(srcs),
		}),
	}
	compiled, err := c.Compile(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAPI, err)
	}
	return &API{files: compiled}, nil
}

// Method finds the method a gRPC call names ("/package.Service/method").
// When no service of that full name declares it, the first service (in
// archive order) with a method of that name is used, as snet-daemon does:
// an HTTP backend is addressed by the method name alone.
func (a *API) Method(fullMethod string) (protoreflect.MethodDescriptor, bool) {
	svc, name, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if name == "" {
		svc, name = "", svc
	}
	for _, f := range a.files {
		if d := f.FindDescriptorByName(protoreflect.FullName(svc)); d != nil {
			if s, ok := d.(protoreflect.ServiceDescriptor); ok {
				if m := s.Methods().ByName(protoreflect.Name(name)); m != nil {
					return m, true
				}
			}
		}
	}
	for _, f := range a.files {
		services := f.Services()
		for i := 0; i < services.Len(); i++ {
			if m := services.Get(i).Methods().ByName(protoreflect.Name(name)); m != nil {
				return m, true
			}
		}
	}
	return nil, false
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

// estimatePriceOption is the field number of snet-daemon's method option
// (pricing.my_method_option), an EstimatePrice message whose field 1 is
// estimatePriceMethod.
const estimatePriceOption = 9999127

// EstimatePriceMethods maps the methods that declare snet-daemon's dynamic
// pricing option, option (pricing.my_method_option).estimatePriceMethod,
// to the method that prices them (full gRPC names). The option is read
// from the encoded options, so the archive's pricing.proto need not match
// ours field for field beyond the two numbers.
func (a *API) EstimatePriceMethods() map[string]string {
	out := map[string]string{}
	for _, f := range a.files {
		services := f.Services()
		for i := 0; i < services.Len(); i++ {
			methods := services.Get(i).Methods()
			for j := 0; j < methods.Len(); j++ {
				m := methods.Get(j)
				if est := estimateMethod(m.Options()); est != "" {
					out["/"+string(m.Parent().FullName())+"/"+string(m.Name())] = est
				}
			}
		}
	}
	return out
}

func estimateMethod(opts proto.Message) string {
	if opts == nil {
		return ""
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return ""
	}
	if inner := field(b, estimatePriceOption, protowire.BytesType); inner != nil {
		return string(field(inner, 1, protowire.BytesType))
	}
	return ""
}

// field returns the last value of a length-delimited field num in b, nil
// when there is none (the bytes of a malformed b count as none).
func field(b []byte, num protowire.Number, typ protowire.Type) []byte {
	var out []byte
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil
		}
		b = b[l:]
		if n == num && t == typ {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil
			}
			out, b = v, b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, t, b)
		if l < 0 {
			return nil
		}
		b = b[l:]
	}
	return out
}
