package metadata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

const (
	orgCID     = "QmOrgMetadata1111111111111111111111111111111111"
	serviceCID = "QmServiceMetadata22222222222222222222222222222"
	fileCID    = "bafkreiservicemetadataonfilecoin"
)

// kubo is a fake IPFS Kubo RPC API serving documents by CID.
func kubo(t *testing.T, docs map[string][]byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/api/v0/cat" {
			http.Error(w, "405 - Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		doc, ok := docs[r.URL.Query().Get("arg")]
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"Message":"failed to resolve /ipfs/%s","Code":0,"Type":"error"}`, r.URL.Query().Get("arg"))
			return
		}
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// lighthouse is a fake Lighthouse gateway: GET /ipfs/<cid>.
func lighthouse(t *testing.T, docs map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cid, ok := strings.CutPrefix(r.URL.Path, "/ipfs/")
		doc, found := docs[cid]
		if r.Method != http.MethodGet || !ok || !found {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeRegistry returns NUL-padded URIs, as the Registry contract does.
type fakeRegistry struct {
	org, service map[string]string
}

func pad(s string) []byte { return append([]byte(s), make([]byte, 64)...) }

func (r fakeRegistry) OrgMetadataURI(_ context.Context, orgID string) ([]byte, error) {
	u, ok := r.org[orgID]
	if !ok {
		return nil, ErrNotRegistered
	}
	return pad(u), nil
}

func (r fakeRegistry) ServiceMetadataURI(_ context.Context, orgID, serviceID string) ([]byte, error) {
	u, ok := r.service[orgID+"/"+serviceID]
	if !ok {
		return nil, fmt.Errorf("service lookup: %w", ErrNotRegistered)
	}
	return pad(u), nil
}

var registryAddr = common.HexToAddress("0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D")

func TestFetcher(t *testing.T) {
	ipfs, _ := kubo(t, map[string][]byte{orgCID: []byte(`{"org_id":"x"}`)})
	lh := lighthouse(t, map[string][]byte{fileCID: []byte(`{"version":1}`)})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 2048))
	}))
	t.Cleanup(big.Close)

	f := &Fetcher{IPFSEndpoint: ipfs.URL + "/", LighthouseEndpoint: lh.URL + "/ipfs/", Timeout: time.Second}
	ctx := context.Background()

	got, err := f.Fetch(ctx, URI{SchemeIPFS, orgCID})
	if err != nil || string(got) != `{"org_id":"x"}` {
		t.Errorf("ipfs: %q, %v", got, err)
	}
	got, err = f.Fetch(ctx, URI{SchemeFilecoin, fileCID})
	if err != nil || string(got) != `{"version":1}` {
		t.Errorf("filecoin: %q, %v", got, err)
	}

	tests := []struct {
		name    string
		f       *Fetcher
		uri     URI
		wantErr string
	}{
		{"ipfs unknown cid", f, URI{SchemeIPFS, "QmNope"}, "HTTP 500 Internal Server Error: {\"Message\":\"failed to resolve /ipfs/QmNope\""},
		{"filecoin unknown cid", f, URI{SchemeFilecoin, "bafnope"}, "HTTP 404 Not Found"},
		{"timeout", &Fetcher{IPFSEndpoint: slow.URL, Timeout: 50 * time.Millisecond}, URI{SchemeIPFS, orgCID}, "no answer within 50ms"},
		{"too large", &Fetcher{IPFSEndpoint: big.URL, MaxSize: 1024}, URI{SchemeIPFS, orgCID}, "larger than 1024 bytes"},
		{"refused", &Fetcher{IPFSEndpoint: "http://127.0.0.1:1"}, URI{SchemeIPFS, orgCID}, "from 127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.Fetch(ctx, tt.uri)
			if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoader(t *testing.T) {
	orgDoc, svcDoc := readTestdata(t, "org.json"), readTestdata(t, "service.json")
	ipfs, ipfsCalls := kubo(t, map[string][]byte{orgCID: orgDoc, serviceCID: svcDoc})
	lh := lighthouse(t, map[string][]byte{fileCID: svcDoc})
	reg := fakeRegistry{
		org: map[string]string{"example-org": "ipfs://" + orgCID},
		service: map[string]string{
			"example-org/calculator": "ipfs://" + serviceCID,
			"example-org/on-fil":     "filecoin://" + fileCID,
			"example-org/gone":       "ipfs://QmDeleted",
		},
	}
	base := Loader{
		OrgID: "example-org", ServiceID: "calculator", Group: "default_group",
		Registry: reg, RegistryAddress: registryAddr,
		Fetcher: &Fetcher{IPFSEndpoint: ipfs.URL, LighthouseEndpoint: lh.URL + "/ipfs/", Timeout: time.Second},
	}

	t.Run("registry and ipfs", func(t *testing.T) {
		l := base
		org, svc, err := l.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := org.Group("default_group"); err != nil {
			t.Fatal(err)
		}
		if g, err := svc.Group("default_group"); err != nil || g.FreeCalls != 15 {
			t.Fatalf("service group: %+v, %v", g, err)
		}
	})
	t.Run("filecoin", func(t *testing.T) {
		l := base
		l.ServiceID = "on-fil"
		if _, _, err := l.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("offline files skip registry and ipfs", func(t *testing.T) {
		before := ipfsCalls.Load()
		l := base
		l.Registry = nil
		l.OrgFile, l.ServiceFile = "testdata/org.json", "testdata/service.json"
		l.Group = "premium"
		if _, _, err := l.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ipfsCalls.Load() != before {
			t.Fatal("offline load contacted IPFS")
		}
	})
	t.Run("group only in organization", func(t *testing.T) {
		dir := t.TempDir()
		path := dir + "/service.json"
		doc := `{"mpe_address": "0x042d31f61c598eadcac729b845406514521db520", "groups": [{"group_name": "a"}, {"group_name": "b"}]}`
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		l := base
		l.ServiceFile = path
		_, _, err := l.Load(context.Background())
		const want = `service "calculator" of organization "example-org": group "default_group" not found in service metadata (groups: "a", "b")`
		if !errors.Is(err, ErrGroupNotFound) || err.Error() != want {
			t.Fatalf("error\n got %v\nwant %s", err, want)
		}
	})
	t.Run("service file with org from registry", func(t *testing.T) {
		l := base
		l.ServiceFile = "testdata/service.json"
		if _, _, err := l.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
	})

	errorCases := []struct {
		name    string
		edit    func(*Loader)
		wantErr error
		want    string
	}{
		{"org not registered", func(l *Loader) { l.OrgID = "nobody" }, ErrNotRegistered,
			`organization "nobody" is not registered in Registry 0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D`},
		{"service not registered", func(l *Loader) { l.ServiceID = "nothing" }, ErrNotRegistered,
			`service "nothing" of organization "example-org" is not registered in Registry 0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D: service lookup: not registered`},
		{"group missing", func(l *Loader) { l.Group = "gold" }, ErrGroupNotFound,
			`organization "example-org": group "gold" not found in organization metadata (groups: "default_group", "premium", "broken")`},
		{"broken org group", func(l *Loader) { l.Group = "broken" }, ErrInvalid,
			`organization "example-org": organization metadata: group "broken": invalid metadata: group_id "c2hvcnQ=" decodes to 5 bytes, want 32`},
		{"metadata not on ipfs", func(l *Loader) { l.ServiceID = "gone" }, ErrFetch,
			`service "gone" of organization "example-org": cannot fetch metadata ipfs://QmDeleted from 127.0.0.1:`},
		{"no registry, no file", func(l *Loader) { l.Registry = nil }, nil,
			`organization "example-org": no Registry and no local metadata file`},
		{"missing file", func(l *Loader) { l.OrgFile = "testdata/missing.json" }, ErrFetch,
			`organization "example-org": metadata file: cannot fetch metadata: open testdata/missing.json`},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			l := base
			tt.edit(&l)
			_, _, err := l.Load(context.Background())
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error\n got %v\nwant prefix %s", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v is not %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoaderGroupIDMismatch(t *testing.T) {
	ipfs, _ := kubo(t, map[string][]byte{
		orgCID: readTestdata(t, "org.json"),
		serviceCID: []byte(`{"mpe_address": "0x042d31f61c598eadcac729b845406514521db520", "groups": [
			{"group_name": "default_group", "group_id": "hw3CPSGDa5e1indTki7chRJ2ToPAJYbz2PFMEfdgVQs=",
			 "pricing": [{"price_model": "fixed_price", "price_in_cogs": 1, "default": true}]}]}`),
	})
	l := Loader{
		OrgID: "example-org", ServiceID: "calculator", Group: "default_group",
		Registry: fakeRegistry{
			org:     map[string]string{"example-org": orgCID},
			service: map[string]string{"example-org/calculator": serviceCID},
		},
		Fetcher: &Fetcher{IPFSEndpoint: ipfs.URL},
	}
	_, _, err := l.Load(context.Background())
	const want = `invalid metadata: group "default_group" has id XS0JUMw/uCFwMxHkE0EARjraqeLaIWkUxtWmQnsPYuc= in organization "example-org" metadata but hw3CPSGDa5e1indTki7chRJ2ToPAJYbz2PFMEfdgVQs= in the metadata of service "calculator" of organization "example-org"`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got %v\nwant %s", err, want)
	}
}
