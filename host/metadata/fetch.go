package metadata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults of Fetcher, those of snet-daemon.
const (
	DefaultIPFSEndpoint       = "https://ipfs.singularitynet.io:443"
	DefaultLighthouseEndpoint = "https://gateway.lighthouse.storage/ipfs/"
	DefaultTimeout            = 30 * time.Second
	// DefaultMaxSize bounds a metadata document. Real ones are a few KiB;
	// the bound keeps a wrong CID (say, a large file) from exhausting memory.
	DefaultMaxSize = 4 << 20
)

// ErrFetch is wrapped by every Fetcher error.
var ErrFetch = errors.New("cannot fetch metadata")

// Fetcher downloads metadata documents. The zero value uses snet-daemon's
// defaults. A Fetcher is safe for concurrent use.
type Fetcher struct {
	// IPFSEndpoint is the base URL of an IPFS Kubo RPC API; documents are
	// read with POST <IPFSEndpoint>/api/v0/cat?arg=<cid>.
	IPFSEndpoint string
	// LighthouseEndpoint is a gateway URL prefix; Filecoin documents are
	// read with GET <LighthouseEndpoint><cid>.
	LighthouseEndpoint string
	// Timeout bounds each request (ipfs_timeout).
	Timeout time.Duration
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// MaxSize bounds a document, in bytes.
	MaxSize int64
}

// Fetch downloads the document at u.
func (f *Fetcher) Fetch(ctx context.Context, u URI) ([]byte, error) {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var req *http.Request
	var err error
	switch u.Scheme {
	case SchemeFilecoin:
		base := f.LighthouseEndpoint
		if base == "" {
			base = DefaultLighthouseEndpoint
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+url.PathEscape(u.CID), nil)
	default:
		base := f.IPFSEndpoint
		if base == "" {
			base = DefaultIPFSEndpoint
		}
		// Kubo's RPC API accepts only POST.
		req, err = http.NewRequestWithContext(ctx, http.MethodPost,
			strings.TrimRight(base, "/")+"/api/v0/cat?arg="+url.QueryEscape(u.CID), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFetch, u, err)
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%w %s from %s: no answer within %s: %w", ErrFetch, u, req.URL.Host, timeout, err)
		}
		return nil, fmt.Errorf("%w %s from %s: %w", ErrFetch, u, req.URL.Host, err)
	}
	defer resp.Body.Close()
	limit := f.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w %s from %s: reading the body: %w", ErrFetch, u, req.URL.Host, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w %s from %s: HTTP %s: %s", ErrFetch, u, req.URL.Host, resp.Status, strings.TrimSpace(string(truncate(body, 200))))
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w %s from %s: larger than %d bytes", ErrFetch, u, req.URL.Host, limit)
	}
	return body, nil
}

// ReadFile reads a local metadata document (offline mode).
func ReadFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	return b, nil
}
