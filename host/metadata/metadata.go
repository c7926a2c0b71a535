package metadata

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tariffd/tariff/pricing"
)

// Errors of parsing and group selection. The returned errors wrap them and
// name the document, group and field.
var (
	// ErrSyntax: the document is not a JSON object of the expected shape.
	ErrSyntax = errors.New("malformed metadata")
	// ErrInvalid: a field has a value the daemon cannot use.
	ErrInvalid = errors.New("invalid metadata")
	// ErrGroupNotFound: no group has the requested name.
	ErrGroupNotFound = errors.New("group not found")
)

// Org is organisation metadata (only the fields the daemon uses).
type Org struct {
	Name   string
	ID     string
	Groups []OrgGroup
}

// OrgGroup is one payment group of an organisation.
type OrgGroup struct {
	Name string
	// ID is the group id, decoded from base64; clients sign it into
	// channels, and it prefixes every etcd key of the group.
	ID                     [32]byte
	PaymentAddress         common.Address
	ExpirationThreshold    uint64 // payment_expiration_threshold, in blocks
	StorageType            string // payment_channel_storage_type, as written
	Storage                StorageClient
	LicenseServerEndpoints []string

	err error // why this group cannot be used; reported by Org.Group
}

// IDBase64 returns the group id in standard base64, the form used in etcd
// keys and the heartbeat's daemon id.
func (g *OrgGroup) IDBase64() string { return base64.StdEncoding.EncodeToString(g.ID[:]) }

// StorageClient is the etcd client settings of an org group
// (payment.payment_channel_storage_client). Zero durations mean "not set".
type StorageClient struct {
	Endpoints         []string
	ConnectionTimeout time.Duration
	RequestTimeout    time.Duration
}

// Service is service metadata (only the fields the daemon uses).
type Service struct {
	Version     int
	DisplayName string
	Encoding    string // "proto" (default) or "json"
	ServiceType string // "grpc" (default), "http", "jsonrpc" or "process"
	// APISource locates the tar of .proto files: service_api_source, or the
	// legacy model_ipfs_hash as an ipfs:// URI. Empty when neither is set.
	APISource  string
	MPEAddress common.Address
	Groups     []ServiceGroup
}

// ServiceGroup is one group of a service: its prices and free calls.
type ServiceGroup struct {
	Name      string
	ID        [32]byte
	Endpoints []string // informational for the daemon
	// FreeCalls is the number of free calls per user; free calls are
	// enabled only when FreeCallsEnabled (a signer address is set).
	FreeCalls        int
	FreeCallsEnabled bool
	FreeCallSigner   common.Address
	// PriceEntries is the pricing list as written; Pricing is its table.
	PriceEntries []pricing.PriceEntry
	Pricing      *pricing.Table

	err error
}

// IDBase64 returns the group id in standard base64.
func (g *ServiceGroup) IDBase64() string { return base64.StdEncoding.EncodeToString(g.ID[:]) }

// Group returns the group named name, or an error naming the groups that
// exist, or the reason the group is unusable.
func (o *Org) Group(name string) (*OrgGroup, error) {
	names := make([]string, 0, len(o.Groups))
	for i := range o.Groups {
		g := &o.Groups[i]
		if g.Name == name {
			if g.err != nil {
				return nil, fmt.Errorf("organization metadata: group %q: %w", name, g.err)
			}
			return g, nil
		}
		names = append(names, g.Name)
	}
	return nil, &wrapError{
		msg: fmt.Sprintf("group %q not found in organization metadata (groups: %s)", name, listNames(names)),
		err: ErrGroupNotFound,
	}
}

// Group returns the group named name, or an error naming the groups that
// exist, or the reason the group is unusable.
func (s *Service) Group(name string) (*ServiceGroup, error) {
	names := make([]string, 0, len(s.Groups))
	for i := range s.Groups {
		g := &s.Groups[i]
		if g.Name == name {
			if g.err != nil {
				return nil, fmt.Errorf("service metadata: group %q: %w", name, g.err)
			}
			return g, nil
		}
		names = append(names, g.Name)
	}
	return nil, &wrapError{
		msg: fmt.Sprintf("group %q not found in service metadata (groups: %s)", name, listNames(names)),
		err: ErrGroupNotFound,
	}
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// The JSON layouts. Groups are kept raw and decoded one by one, so that a
// group of the wrong shape only makes that group unusable.

type orgJSON struct {
	OrgName string            `json:"org_name"`
	OrgID   string            `json:"org_id"`
	Groups  []json.RawMessage `json:"groups"`
}

type groupName struct {
	GroupName string `json:"group_name"`
}

type orgGroupJSON struct {
	GroupName              string   `json:"group_name"`
	GroupID                string   `json:"group_id"`
	LicenseServerEndpoints []string `json:"license_server_endpoints"`
	Payment                struct {
		PaymentAddress              string  `json:"payment_address"`
		PaymentExpirationThreshold  *number `json:"payment_expiration_threshold"`
		PaymentChannelStorageType   string  `json:"payment_channel_storage_type"`
		PaymentChannelStorageClient struct {
			ConnectionTimeout string   `json:"connection_timeout"`
			RequestTimeout    string   `json:"request_timeout"`
			Endpoints         []string `json:"endpoints"`
		} `json:"payment_channel_storage_client"`
	} `json:"payment"`
}

type serviceJSON struct {
	Version          *number           `json:"version"`
	DisplayName      string            `json:"display_name"`
	Encoding         string            `json:"encoding"`
	ServiceType      string            `json:"service_type"`
	ServiceAPISource string            `json:"service_api_source"`
	ModelIPFSHash    string            `json:"model_ipfs_hash"`
	MPEAddress       string            `json:"mpe_address"`
	Groups           []json.RawMessage `json:"groups"`
}

type serviceGroupJSON struct {
	GroupName             string        `json:"group_name"`
	GroupID               string        `json:"group_id"`
	Endpoints             []string      `json:"endpoints"`
	FreeCalls             *number       `json:"free_calls"`
	FreeCallSignerAddress *string       `json:"free_call_signer_address"`
	Pricing               []pricingJSON `json:"pricing"`
}

type pricingJSON struct {
	PriceModel  string  `json:"price_model"`
	PriceInCogs *number `json:"price_in_cogs"`
	Default     bool    `json:"default"`
	PackageName string  `json:"package_name"`
	Details     []struct {
		ServiceName   string `json:"service_name"`
		MethodPricing []struct {
			MethodName  string  `json:"method_name"`
			PriceInCogs *number `json:"price_in_cogs"`
		} `json:"method_pricing"`
	} `json:"details"`
}

// number is a JSON integer of any size, given as a number or as a decimal
// string. Decoding never fails, so a bad value is reported by the group that
// uses it, with the field's name.
type number struct{ raw string }

func (n *number) UnmarshalJSON(b []byte) error {
	n.raw = string(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err == nil {
			n.raw = strings.TrimSpace(s)
		}
	}
	return nil
}

func (n *number) bigInt(field string) (*big.Int, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: %s is missing", ErrInvalid, field)
	}
	v, ok := new(big.Int).SetString(n.raw, 10)
	if !ok {
		return nil, fmt.Errorf("%w: %s %s is not an integer", ErrInvalid, field, n.raw)
	}
	return v, nil
}

func (n *number) int(field string, lo, hi int64) (int64, error) {
	v, err := n.bigInt(field)
	if err != nil {
		return 0, err
	}
	if !v.IsInt64() || v.Int64() < lo || v.Int64() > hi {
		return 0, fmt.Errorf("%w: %s %s is out of range [%d, %d]", ErrInvalid, field, v, lo, hi)
	}
	return v.Int64(), nil
}

func decodeObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(b, v)
}

// ParseOrg parses organisation metadata. Groups are checked lazily: see
// Org.Group.
func ParseOrg(b []byte) (*Org, error) {
	var raw orgJSON
	if err := decodeObject(b, &raw); err != nil {
		return nil, fmt.Errorf("organization metadata: %w: %w", ErrSyntax, err)
	}
	o := &Org{Name: raw.OrgName, ID: raw.OrgID, Groups: make([]OrgGroup, 0, len(raw.Groups))}
	for i, rg := range raw.Groups {
		o.Groups = append(o.Groups, parseOrgGroup(i, rg))
	}
	return o, nil
}

func parseOrgGroup(i int, b json.RawMessage) OrgGroup {
	var g OrgGroup
	var name groupName
	_ = json.Unmarshal(b, &name) // best effort: the name makes errors findable
	g.Name = name.GroupName
	var raw orgGroupJSON
	if err := decodeObject(b, &raw); err != nil {
		g.err = fmt.Errorf("%w: groups[%d]: %w", ErrSyntax, i, err)
		return g
	}
	var errs []error
	var err error
	if g.ID, err = decodeGroupID(raw.GroupID); err != nil {
		errs = append(errs, err)
	}
	p := raw.Payment
	if g.PaymentAddress, err = address("payment.payment_address", p.PaymentAddress); err != nil {
		errs = append(errs, err)
	} else if g.PaymentAddress == (common.Address{}) {
		errs = append(errs, fmt.Errorf("%w: payment.payment_address is the zero address", ErrInvalid))
	}
	if p.PaymentExpirationThreshold != nil {
		v, err := p.PaymentExpirationThreshold.int("payment.payment_expiration_threshold", 0, 1<<62)
		if err != nil {
			errs = append(errs, err)
		}
		g.ExpirationThreshold = uint64(v)
	}
	g.StorageType = p.PaymentChannelStorageType
	sc := p.PaymentChannelStorageClient
	g.Storage.Endpoints = sc.Endpoints
	if g.Storage.ConnectionTimeout, err = duration("payment.payment_channel_storage_client.connection_timeout", sc.ConnectionTimeout); err != nil {
		errs = append(errs, err)
	}
	if g.Storage.RequestTimeout, err = duration("payment.payment_channel_storage_client.request_timeout", sc.RequestTimeout); err != nil {
		errs = append(errs, err)
	}
	for _, e := range sc.Endpoints {
		if !strings.Contains(e, "://") {
			errs = append(errs, fmt.Errorf("%w: payment.payment_channel_storage_client.endpoints: %q has no scheme (want http:// or https://)", ErrInvalid, e))
		}
	}
	g.LicenseServerEndpoints = raw.LicenseServerEndpoints
	g.err = errors.Join(errs...)
	return g
}

// ParseService parses service metadata. The service-wide fields are checked
// here; groups lazily, see Service.Group.
func ParseService(b []byte) (*Service, error) {
	var raw serviceJSON
	if err := decodeObject(b, &raw); err != nil {
		return nil, fmt.Errorf("service metadata: %w: %w", ErrSyntax, err)
	}
	s := &Service{DisplayName: raw.DisplayName, Groups: make([]ServiceGroup, 0, len(raw.Groups))}
	var errs []error
	if raw.Version != nil {
		v, err := raw.Version.int("version", 0, 1<<31-1)
		if err != nil {
			errs = append(errs, err)
		}
		s.Version = int(v)
	}
	switch enc := strings.ToLower(raw.Encoding); enc {
	case "", "proto":
		s.Encoding = "proto"
	case "json":
		s.Encoding = enc
	default:
		errs = append(errs, fmt.Errorf("%w: encoding %q (want proto or json)", ErrInvalid, raw.Encoding))
	}
	switch st := strings.ToLower(raw.ServiceType); st {
	case "":
		s.ServiceType = "grpc"
	case "grpc", "http", "jsonrpc", "process":
		s.ServiceType = st
	default:
		errs = append(errs, fmt.Errorf("%w: service_type %q (want grpc, http, jsonrpc or process)", ErrInvalid, raw.ServiceType))
	}
	switch {
	case raw.ServiceAPISource != "":
		s.APISource = raw.ServiceAPISource
	case raw.ModelIPFSHash != "":
		s.APISource = ipfsPrefix + raw.ModelIPFSHash
	}
	// The MPE address names the contract clients pay into and is part of
	// every channel key in etcd: without it nothing can be paid.
	if raw.MPEAddress == "" {
		errs = append(errs, fmt.Errorf("%w: mpe_address is missing", ErrInvalid))
	} else {
		var err error
		if s.MPEAddress, err = address("mpe_address", raw.MPEAddress); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("service metadata: %w", err)
	}
	for i, rg := range raw.Groups {
		s.Groups = append(s.Groups, parseServiceGroup(i, rg))
	}
	return s, nil
}

func parseServiceGroup(i int, b json.RawMessage) ServiceGroup {
	var g ServiceGroup
	var name groupName
	_ = json.Unmarshal(b, &name)
	g.Name = name.GroupName
	var raw serviceGroupJSON
	if err := decodeObject(b, &raw); err != nil {
		g.err = fmt.Errorf("%w: groups[%d]: %w", ErrSyntax, i, err)
		return g
	}
	var errs []error
	var err error
	if g.ID, err = decodeGroupID(raw.GroupID); err != nil {
		errs = append(errs, err)
	}
	g.Endpoints = raw.Endpoints
	if raw.FreeCalls != nil {
		n, err := raw.FreeCalls.int("free_calls", 0, 1<<31-1)
		if err != nil {
			errs = append(errs, err)
		}
		g.FreeCalls = int(n)
	}
	if raw.FreeCallSignerAddress != nil {
		g.FreeCallsEnabled = true
		if g.FreeCallSigner, err = address("free_call_signer_address", *raw.FreeCallSignerAddress); err != nil {
			errs = append(errs, err)
		}
	}
	g.PriceEntries, err = priceEntries(raw.Pricing)
	if err != nil {
		errs = append(errs, err)
	} else if g.Pricing, err = pricing.NewTable(g.PriceEntries); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalid, err))
	}
	g.err = errors.Join(errs...)
	return g
}

func priceEntries(raw []pricingJSON) ([]pricing.PriceEntry, error) {
	out := make([]pricing.PriceEntry, 0, len(raw))
	for i, r := range raw {
		e := pricing.PriceEntry{Model: r.PriceModel, Default: r.Default, PackageName: r.PackageName}
		if r.PriceInCogs != nil {
			v, err := r.PriceInCogs.bigInt(fmt.Sprintf("pricing[%d].price_in_cogs", i))
			if err != nil {
				return nil, err
			}
			e.PriceInCogs = v
		}
		for j, d := range r.Details {
			sp := pricing.ServicePrices{ServiceName: d.ServiceName}
			for k, m := range d.MethodPricing {
				v, err := m.PriceInCogs.bigInt(fmt.Sprintf("pricing[%d].details[%d].method_pricing[%d].price_in_cogs", i, j, k))
				if err != nil {
					return nil, err
				}
				sp.Methods = append(sp.Methods, pricing.MethodPrice{MethodName: m.MethodName, PriceInCogs: v})
			}
			e.Details = append(e.Details, sp)
		}
		out = append(out, e)
	}
	return out, nil
}

func decodeGroupID(s string) ([32]byte, error) {
	var id [32]byte
	if s == "" {
		return id, fmt.Errorf("%w: group_id is missing", ErrInvalid)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return id, fmt.Errorf("%w: group_id %q is not standard base64: %w", ErrInvalid, s, err)
	}
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: group_id %q decodes to %d bytes, want 32", ErrInvalid, s, len(b))
	}
	copy(id[:], b)
	return id, nil
}

func address(field, s string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, fmt.Errorf("%w: %s %q is not a hex address", ErrInvalid, field, s)
	}
	return common.HexToAddress(s), nil
}

func duration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: %s %q is not a duration such as \"5s\"", ErrInvalid, field, s)
	}
	return d, nil
}

// wrapError carries a sentinel for errors.Is without repeating its text.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }
