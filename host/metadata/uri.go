package metadata

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme says where a metadata URI is fetched from.
type Scheme string

const (
	// SchemeIPFS: fetched through the IPFS Kubo RPC API (the default when
	// the URI has no scheme, as for old registrations).
	SchemeIPFS Scheme = "ipfs"
	// SchemeFilecoin: fetched through a Lighthouse HTTP gateway.
	SchemeFilecoin Scheme = "filecoin"
)

const (
	ipfsPrefix     = "ipfs://"
	filecoinPrefix = "filecoin://"
)

// ErrEmptyURI is returned by ParseURI when nothing is left of the URI after
// normalisation (an unregistered entry has an all-zero URI).
var ErrEmptyURI = errors.New("metadata URI is empty")

// URI is a normalised metadata location.
type URI struct {
	Scheme Scheme
	CID    string
}

func (u URI) String() string { return string(u.Scheme) + "://" + u.CID }

// ParseURI normalises a metadata URI as stored on chain: it strips the
// ipfs:// and filecoin:// prefixes and then drops every character that is
// not in [A-Za-z0-9=]. Registry values are fixed-size byte strings padded
// with NULs, which this removes as well. A URI that started with
// filecoin:// is fetched from Filecoin, anything else from IPFS.
func ParseURI(raw []byte) (URI, error) {
	s := string(raw)
	u := URI{Scheme: SchemeIPFS}
	if strings.HasPrefix(s, filecoinPrefix) {
		u.Scheme = SchemeFilecoin
	}
	s = strings.ReplaceAll(s, ipfsPrefix, "")
	s = strings.ReplaceAll(s, filecoinPrefix, "")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '=' {
			b.WriteByte(c)
		}
	}
	u.CID = b.String()
	if u.CID == "" {
		return URI{}, fmt.Errorf("%w (raw %q)", ErrEmptyURI, truncate(raw, 80))
	}
	return u, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
