package pricing

import (
	"errors"
	"fmt"
	"math/big"
)

// Price models of service metadata (the "price_model" field).
const (
	ModelFixedPrice          = "fixed_price"
	ModelFixedPricePerMethod = "fixed_price_per_method"
)

// Errors returned by NewTable and Table.Price. Callers match them with
// errors.Is; the concrete errors carry the details.
var (
	// ErrNoPricing: the pricing list is empty, or a per-method entry lists no
	// method (snet-daemon refuses to start in both cases).
	ErrNoPricing = errors.New("no pricing defined")
	// ErrNoDefault: no entry has "default": true.
	ErrNoDefault = errors.New("no default pricing")
	// ErrInvalidPrice: a price is missing, negative, or the model is unknown.
	ErrInvalidPrice = errors.New("invalid pricing")
	// ErrUnknownMethod: Price was asked for a method the table does not list.
	ErrUnknownMethod = errors.New("price is not defined")
)

// PriceEntry is one element of a service metadata group's "pricing" list,
// reduced to what pricing needs. host/metadata converts into it, so this
// package does not depend on the metadata JSON layout.
type PriceEntry struct {
	Model       string   // "fixed_price" or "fixed_price_per_method"
	PriceInCogs *big.Int // fixed_price only
	Default     bool
	PackageName string          // fixed_price_per_method only; may be empty
	Details     []ServicePrices // fixed_price_per_method only
}

// ServicePrices is the per-method price list of one gRPC service.
type ServicePrices struct {
	ServiceName string
	Methods     []MethodPrice
}

// MethodPrice is the price of one gRPC method, named without package or
// service ("add", not "/pkg.Calc/add").
type MethodPrice struct {
	MethodName  string
	PriceInCogs *big.Int
}

// Table answers "what does this method cost" for the default pricing entry
// of a service group. It is immutable and safe for concurrent use.
type Table struct {
	model   string
	fixed   *big.Int            // fixed_price
	methods map[string]*big.Int // fixed_price_per_method, by full gRPC method
}

// NewTable builds the table of the first entry marked default, as
// snet-daemon does: other entries are ignored. Prices are copied, so later
// changes to entries do not affect the table.
//
// Full method names are "/" + package + "." + service + "/" + method, or
// "/" + service + "/" + method when the package name is empty. A method
// listed twice keeps its last price (snet-daemon's map assignment).
func NewTable(entries []PriceEntry) (*Table, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("pricing: %w: the pricing list is empty", ErrNoPricing)
	}
	idx := -1
	for i := range entries {
		if entries[i].Default {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("pricing: %w: no entry has \"default\": true", ErrNoDefault)
	}
	e := entries[idx]
	switch e.Model {
	case ModelFixedPrice:
		p, err := checkPrice(e.PriceInCogs)
		if err != nil {
			return nil, fmt.Errorf("pricing: %s price_in_cogs: %w", ModelFixedPrice, err)
		}
		return &Table{model: e.Model, fixed: p}, nil
	case ModelFixedPricePerMethod:
		t := &Table{model: e.Model, methods: make(map[string]*big.Int)}
		prefix := "/"
		if e.PackageName != "" {
			prefix += e.PackageName + "."
		}
		for _, svc := range e.Details {
			for _, m := range svc.Methods {
				full := prefix + svc.ServiceName + "/" + m.MethodName
				p, err := checkPrice(m.PriceInCogs)
				if err != nil {
					return nil, fmt.Errorf("pricing: method %s: %w", full, err)
				}
				t.methods[full] = p
			}
		}
		if len(t.methods) == 0 {
			return nil, fmt.Errorf("pricing: %w: %s entry lists no method", ErrNoPricing, ModelFixedPricePerMethod)
		}
		return t, nil
	default:
		return nil, fmt.Errorf("pricing: %w: unknown price_model %q (want %s or %s)",
			ErrInvalidPrice, e.Model, ModelFixedPrice, ModelFixedPricePerMethod)
	}
}

func checkPrice(p *big.Int) (*big.Int, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: price_in_cogs is missing", ErrInvalidPrice)
	}
	if p.Sign() < 0 {
		return nil, fmt.Errorf("%w: price_in_cogs %s is negative", ErrInvalidPrice, p)
	}
	return new(big.Int).Set(p), nil
}

// Model returns the price model of the table: ModelFixedPrice or
// ModelFixedPricePerMethod.
func (t *Table) Model() string { return t.model }

// Price returns the price in cogs of a call to method, a full gRPC method
// name such as "/example_service.Calculator/add".
//
// The result is shared by every caller and must not be modified; copy it
// (new(big.Int).Set) before doing arithmetic in place. Sharing is what makes
// the lookup allocation-free on the hot path. An unknown method returns an
// *UnknownMethodError (errors.Is ErrUnknownMethod).
func (t *Table) Price(method string) (*big.Int, error) {
	if t.fixed != nil {
		return t.fixed, nil
	}
	if p, ok := t.methods[method]; ok {
		return p, nil
	}
	return nil, &UnknownMethodError{Method: method}
}

// UnknownMethodError is returned by Price for a method the per-method table
// does not list. Its text is snet-daemon's, which clients may match.
type UnknownMethodError struct {
	Method string
}

func (e *UnknownMethodError) Error() string {
	return "price is not defined for the Method " + e.Method
}

// Is makes errors.Is(err, ErrUnknownMethod) hold.
func (e *UnknownMethodError) Is(target error) bool { return target == ErrUnknownMethod }
