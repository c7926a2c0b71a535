package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// ErrNotRegistered is returned (wrapped) by a Registry when the
// organisation or service has no entry. Loader turns it into a message that
// names the id and the Registry address.
var ErrNotRegistered = errors.New("not registered")

// Registry gives the metadata URIs recorded on chain. The values are the raw
// bytes of the Registry contract (possibly NUL-padded); Loader normalises
// them. Implementations return an error wrapping ErrNotRegistered when the
// entry does not exist.
type Registry interface {
	OrgMetadataURI(ctx context.Context, orgID string) ([]byte, error)
	ServiceMetadataURI(ctx context.Context, orgID, serviceID string) ([]byte, error)
}

// Loader loads the metadata of the daemon's organisation, service and group.
// Each document comes from its local file when one is set, and from the
// Registry and IPFS/Filecoin otherwise.
type Loader struct {
	OrgID, ServiceID, Group string

	// OrgFile and ServiceFile, when set, are read instead of asking the
	// Registry (offline metadata).
	OrgFile, ServiceFile string

	Registry Registry
	// RegistryAddress names the Registry in error messages.
	RegistryAddress common.Address
	Fetcher         *Fetcher
}

// Load fetches and parses both documents and checks that the group exists
// in both, is usable, and has the same id in both. On success
// org.Group(l.Group) and service.Group(l.Group) do not fail.
func (l *Loader) Load(ctx context.Context) (*Org, *Service, error) {
	orgDoc, err := l.document(ctx, l.OrgFile, fmt.Sprintf("organization %q", l.OrgID),
		func() ([]byte, error) { return l.Registry.OrgMetadataURI(ctx, l.OrgID) })
	if err != nil {
		return nil, nil, err
	}
	org, err := ParseOrg(orgDoc)
	if err != nil {
		return nil, nil, fmt.Errorf("organization %q: %w", l.OrgID, err)
	}
	svcName := fmt.Sprintf("service %q of organization %q", l.ServiceID, l.OrgID)
	svcDoc, err := l.document(ctx, l.ServiceFile, svcName,
		func() ([]byte, error) { return l.Registry.ServiceMetadataURI(ctx, l.OrgID, l.ServiceID) })
	if err != nil {
		return nil, nil, err
	}
	svc, err := ParseService(svcDoc)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", svcName, err)
	}

	og, err := org.Group(l.Group)
	if err != nil {
		return nil, nil, fmt.Errorf("organization %q: %w", l.OrgID, err)
	}
	sg, err := svc.Group(l.Group)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", svcName, err)
	}
	// Clients open channels for the service group's id; the daemon keys its
	// storage and checks channels with the org group's. They must agree.
	if og.ID != sg.ID {
		return nil, nil, fmt.Errorf("%w: group %q has id %s in organization %q metadata but %s in the metadata of %s",
			ErrInvalid, l.Group, og.IDBase64(), l.OrgID, sg.IDBase64(), svcName)
	}
	return org, svc, nil
}

func (l *Loader) document(ctx context.Context, file, what string, uri func() ([]byte, error)) ([]byte, error) {
	if file != "" {
		b, err := ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: metadata file: %w", what, err)
		}
		return b, nil
	}
	if l.Registry == nil {
		return nil, fmt.Errorf("%s: no Registry and no local metadata file", what)
	}
	raw, err := uri()
	if errors.Is(err, ErrNotRegistered) {
		msg := fmt.Sprintf("%s is not registered in Registry %s", what, l.registryName())
		if err != ErrNotRegistered { //nolint:errorlint // only the bare sentinel adds nothing worth printing
			msg += ": " + err.Error()
		}
		return nil, &wrapError{msg: msg, err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading Registry %s: %w", what, l.registryName(), err)
	}
	u, err := ParseURI(raw)
	if err != nil {
		return nil, fmt.Errorf("%s in Registry %s: %w", what, l.registryName(), err)
	}
	f := l.Fetcher
	if f == nil {
		f = &Fetcher{}
	}
	b, err := f.Fetch(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

func (l *Loader) registryName() string {
	if l.RegistryAddress == (common.Address{}) {
		return "(address not given)"
	}
	return l.RegistryAddress.Hex()
}
