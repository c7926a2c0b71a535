package plugins

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// ABI identifiers. The major version is part of the import module name and
// of the marker export; ABIMinor is the highest minor this host knows.
const (
	HostModule = "tariff_v1"
	ABIMarker  = "tariff_abi_v1"
	ABIMinor   = 0
)

// Kind is what a plugin decides. A module may implement several kinds.
type Kind uint8

// Kinds of plugins.
const (
	KindPricing   Kind = iota + 1 // the price of a call: tariff_price
	KindFreeCall                  // whether a free call is allowed: tariff_free_call
	KindTransform                 // a new request body or metadata: tariff_transform
)

var kindNames = [...]string{KindPricing: "pricing", KindFreeCall: "free_call", KindTransform: "transform"}

var kindEntries = [...]string{KindPricing: "tariff_price", KindFreeCall: "tariff_free_call", KindTransform: "tariff_transform"}

// String returns the kind's name in tariff_info and HCL ("pricing", ...).
func (k Kind) String() string {
	if k >= KindPricing && k <= KindTransform {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Entry returns the name of the kind's entry export ("tariff_price", ...).
func (k Kind) Entry() string {
	if k >= KindPricing && k <= KindTransform {
		return kindEntries[k]
	}
	return ""
}

// ParseKind returns the kind with the given name.
func ParseKind(s string) (Kind, bool) {
	for k := KindPricing; k <= KindTransform; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

const numKinds = int(KindTransform) + 1

// Field is the id of an input field (ABI section "Input fields").
type Field int32

// Input fields of ABI v1. The comment gives the type and the kinds that may
// read the field; other kinds get -2.
const (
	FieldMethod            Field = 1  // string, all: "/package.Service/Method"
	FieldServiceID         Field = 2  // string, all
	FieldOrgID             Field = 3  // string, all
	FieldGroupID           Field = 4  // string, all: base64, as in metadata
	FieldCaller            Field = 5  // string, all: payer or free-call user address
	FieldPaymentType       Field = 6  // string, all: escrow, prepaid-call, free-call, train-call
	FieldChannelID         Field = 7  // u64, pricing and transform; absent for free calls
	FieldBodyLen           Field = 8  // u64, all: always len(Input.Body)
	FieldFreeCallsUsed     Field = 9  // u64, free_call
	FieldFreeCallsAllowed  Field = 10 // u64, free_call
	FieldRequestTimeUnixMS Field = 11 // u64, all: taken once per request by the host
	FieldFreeCallUserID    Field = 12 // string, free_call; may be empty
)

const maxField = FieldFreeCallUserID

type fieldInfo struct {
	u64   bool
	kinds uint8 // bit k set: readable by Kind k
}

const allKinds = 1<<KindPricing | 1<<KindFreeCall | 1<<KindTransform

var fields = [maxField + 1]fieldInfo{
	FieldMethod:            {kinds: allKinds},
	FieldServiceID:         {kinds: allKinds},
	FieldOrgID:             {kinds: allKinds},
	FieldGroupID:           {kinds: allKinds},
	FieldCaller:            {kinds: allKinds},
	FieldPaymentType:       {kinds: allKinds},
	FieldChannelID:         {u64: true, kinds: 1<<KindPricing | 1<<KindTransform},
	FieldBodyLen:           {u64: true, kinds: allKinds},
	FieldFreeCallsUsed:     {u64: true, kinds: 1 << KindFreeCall},
	FieldFreeCallsAllowed:  {u64: true, kinds: 1 << KindFreeCall},
	FieldRequestTimeUnixMS: {u64: true, kinds: allKinds},
	FieldFreeCallUserID:    {kinds: 1 << KindFreeCall},
}

func (f Field) known() bool { return f >= 1 && f <= maxField }

// hostFunc is the signature of one tariff_v1 import.
type hostFunc struct {
	params, results []api.ValueType
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func vt(ts ...api.ValueType) []api.ValueType { return ts }

// hostFuncs lists the tariff_v1 imports and their signatures (ABI v1.0).
var hostFuncs = map[string]hostFunc{
	"input":         {vt(i32, i32, i32), vt(i64)},
	"input_u64":     {vt(i32), vt(i64)},
	"meta":          {vt(i32, i32, i32, i32, i32), vt(i64)},
	"meta_keys":     {vt(i32, i32), vt(i64)},
	"body":          {vt(i32, i32, i32), vt(i64)},
	"config":        {vt(i32, i32), vt(i64)},
	"set_price":     {vt(i64), nil},
	"set_free_call": {vt(i32, i64), nil},
	"body_write":    {vt(i32, i32), vt(i32)},
	"meta_set":      {vt(i32, i32, i32, i32), vt(i32)},
	"fail":          {vt(i32, i32, i32), nil},
	"log":           {vt(i32, i32, i32), nil},
}
