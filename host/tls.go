package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/tariffd/tariff/host/config"
)

// listenerTLS is the daemon's TLS, as snet-daemon's: a certificate pair
// read from disk, and again whenever either file changes (ssl_cert,
// ssl_key), or Let's Encrypt certificates for one domain (auto_ssl_domain,
// which also needs the http-01 challenge server, returned as acme). Nil
// when neither is configured.
func listenerTLS(t config.TLS, log *slog.Logger) (cfg *tls.Config, acme *autocert.Manager, err error) {
	// Both protocols on one port, as the listener multiplexes them; a gRPC
	// client needs h2 in the handshake.
	cfg = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	switch {
	case t.CertFile != "":
		files := &certFiles{cert: t.CertFile, key: t.KeyFile, log: log}
		if _, err := files.reload(); err != nil {
			return nil, nil, err
		}
		cfg.GetCertificate = files.get
	case t.AutoDomain != "":
		acme = &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(t.AutoDomain),
			Cache:      autocert.DirCache(t.AutoCacheDir),
		}
		cfg.GetCertificate = acme.GetCertificate
		cfg.NextProtos = append(cfg.NextProtos, "acme-tls/1")
	default:
		return nil, nil, nil
	}
	return cfg, acme, nil
}

// certFiles serves a certificate pair from disk, read again on the first
// handshake after either file changed. A pair that does not load keeps the
// one in use (and says so), so a half-written renewal breaks nothing.
type certFiles struct {
	cert, key string
	log       *slog.Logger

	mu      sync.Mutex
	stamps  [2]fileStamp // of the pair in use
	failed  [2]fileStamp // of the last pair that did not load: warned once
	current *tls.Certificate
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// reload reads the pair if the files changed since the last read, and
// reports whether it did.
func (c *certFiles) reload() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var now [2]fileStamp
	for i, p := range []string{c.cert, c.key} {
		s, err := stamp(p)
		if err != nil {
			return false, fmt.Errorf("TLS certificate: %w", err)
		}
		now[i] = s
	}
	if c.current != nil && (now == c.stamps || now == c.failed) {
		return false, nil
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		c.failed = now
		return false, fmt.Errorf("TLS certificate %s, key %s: %w", c.cert, c.key, err)
	}
	c.current, c.stamps = &pair, now
	return true, nil
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	changed, err := c.reload()
	switch {
	case err != nil:
		c.log.Warn("TLS certificate not reloaded; the previous one is in use", "err", err)
	case changed:
		c.log.Info("TLS certificate reloaded", "cert", c.cert)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current, nil
}

// serveACME answers Let's Encrypt's http-01 challenges on port 80 (and
// redirects other requests to https) until ctx is done.
func serveACME(ctx context.Context, m *autocert.Manager, log *slog.Logger) {
	lis, err := net.Listen("tcp", ":80")
	if err != nil {
		log.Warn("auto_ssl_domain: port 80 is not available for http-01 challenges; tls-alpn-01 on the daemon's port still works", "err", err)
		return
	}
	srv := &http.Server{Handler: m.HTTPHandler(nil), ReadHeaderTimeout: 10 * time.Second}
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		log.Warn("auto_ssl_domain: challenge server stopped", "err", err)
	}
}
