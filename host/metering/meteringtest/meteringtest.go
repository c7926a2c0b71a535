// Package meteringtest is a metering service on loopback for tests: it
// accepts the requests signed by one key, as SingularityNET's does for a
// registered daemon, and keeps them.
package meteringtest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tariffd/tariff/escrow"
)

// Service is the running metering service.
type Service struct {
	*httptest.Server
	key common.Address

	mu       sync.Mutex
	requests []Request
}

// Request is one request the service accepted.
type Request struct {
	Method, Path, User string
	Body               map[string]any
}

// New starts a service that accepts requests signed by key; it stops at
// the end of the test. Others get {"data":"unknown daemon"}.
func New(t testing.TB, key common.Address) *Service {
	s := &Service{key: key}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	block, _ := strconv.ParseUint(r.Header.Get("X-Currentblocknumber"), 10, 64)
	sig, _ := base64.StdEncoding.DecodeString(r.Header.Get("X-Signature"))
	msg := escrow.MeteringMessage(r.Header.Get("X-Username"), r.Header.Get("X-Organizationid"),
		r.Header.Get("X-Serviceid"), r.Header.Get("X-Groupid"), block)
	if signer, err := escrow.RecoverSigner(msg, sig); err != nil || signer != s.key {
		_ = json.NewEncoder(w).Encode(map[string]string{"data": "unknown daemon"})
		return
	}
	req := Request{Method: r.Method, Path: r.URL.Path, User: r.Header.Get("X-Username")}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = json.Unmarshal(b, &req.Body)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]string{"data": "success"})
}

// Requests returns the requests accepted so far.
func (s *Service) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is how many accepted requests had path.
func (s *Service) Count(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}
