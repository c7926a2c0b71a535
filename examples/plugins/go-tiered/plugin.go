// Command go-tiered is a tariffd pricing plugin: a price per method, tiered
// by the size of the request message, scaled by a priority the client asks
// for in a metadata header. Methods it does not know PASS, so the price from
// the service metadata applies to them.
//
// Config (HCL, in the plugin block):
//
//	config = {
//	  methods = {
//	    "/example_service.Calculator/add" = {
//	      base  = 10                                   # cogs up to the first tier
//	      tiers = [{ over_bytes = 1024, price = 25 },  # bodies over 1 KiB
//	               { over_bytes = 65536, price = 100 }]
//	    }
//	    "/example_service.Calculator/mul" = { base = 20 }
//	  }
//	  priority_header  = "x-priority"                # optional
//	  priority_percent = { low = 50, high = 300 }    # percent of the price
//	}
//
// The price is the base, or the price of the highest tier whose over_bytes
// the body exceeds, times the percent of the priority header's value
// (rounded down). Without the header the price is unchanged; an unknown
// value is refused with InvalidArgument. The body length is an input every
// kind may read, so the plugin does not need the body itself.
package main

import (
	"math/bits"
	"strconv"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tjson"
)

const info = `{"name":"go-tiered","version":"0.1.0","abi_minor":0,"kinds":["pricing"],"needs_body":false}`

type tier struct {
	overBytes uint64
	price     uint64
}

type method struct {
	base  uint64
	tiers []tier // by over_bytes, ascending
}

// Set once per instance by load (tariff_init) from the config; never
// changed by a call.
var (
	methods         map[string]method
	priorityHeader  string
	priorityPercent map[string]uint64
	priorityNames   string // for the message of an unknown priority
)

// load reads the config. It runs as tariff_init: a non-zero answer fails the
// instance, so a bad config is refused when tariffd loads the plugin.
func load() int32 {
	cfg := tariff.Config()
	if cfg == nil {
		return initError("a config block is required")
	}
	problem := ""
	bad := func(msg string) bool { problem = msg; return false } // stops an iteration

	ms := map[string]method{}
	ok := tjson.Get(cfg, "methods").Object(func(name string, v tjson.Value) bool {
		base, ok := v.Get("base").Uint()
		if !ok {
			return bad("methods." + name + ".base: want a whole number of cogs")
		}
		m := method{base: base}
		if tiers := v.Get("tiers"); tiers.Exists() {
			ok := tiers.Array(func(i int, t tjson.Value) bool {
				where := "methods." + name + ".tiers[" + strconv.Itoa(i) + "]"
				over, ok1 := t.Get("over_bytes").Uint()
				price, ok2 := t.Get("price").Uint()
				switch {
				case !ok1 || !ok2:
					return bad(where + ": want over_bytes and price, whole numbers")
				case len(m.tiers) > 0 && over <= m.tiers[len(m.tiers)-1].overBytes:
					return bad(where + ": over_bytes must grow from tier to tier")
				}
				m.tiers = append(m.tiers, tier{overBytes: over, price: price})
				return true
			})
			if !ok {
				return bad("methods." + name + ".tiers: want a list of tiers")
			}
		}
		ms[name] = m
		return problem == ""
	})
	switch {
	case problem != "":
		return initError(problem)
	case !ok || len(ms) == 0:
		return initError("methods: want an object of methods, each with a base price")
	}

	header, names, percent := "", "", map[string]uint64{}
	if h := tjson.Get(cfg, "priority_header"); h.Exists() {
		s, ok := h.Str()
		if !ok || s == "" {
			return initError("priority_header: want a metadata key")
		}
		header = s
		ok = tjson.Get(cfg, "priority_percent").Object(func(name string, v tjson.Value) bool {
			pct, ok := v.Uint()
			if !ok {
				return bad("priority_percent." + name + ": want a whole number")
			}
			percent[name] = pct
			if names != "" {
				names += ", "
			}
			names += name
			return true
		})
		switch {
		case problem != "":
			return initError(problem)
		case !ok || len(percent) == 0:
			return initError("priority_percent: want an object of percentages, e.g. { high = 300 }")
		}
	}
	methods, priorityHeader, priorityPercent, priorityNames = ms, header, percent, names
	return 0
}

func initError(msg string) int32 {
	tariff.Log(tariff.LevelError, "go-tiered: config: "+msg)
	return 1
}

// price is tariff_price.
func price() int32 {
	m, ok := methods[tariff.Method()]
	if !ok {
		return tariff.Pass
	}
	p := m.base
	size := tariff.BodyLen()
	for _, t := range m.tiers {
		if size > t.overBytes {
			p = t.price
		}
	}
	if priorityHeader != "" {
		if v, ok := tariff.Meta(priorityHeader); ok {
			pct, known := priorityPercent[v]
			if !known {
				return tariff.Denied(tariff.CodeInvalidArgument,
					priorityHeader+": unknown priority "+strconv.Quote(shorten(v))+" (known: "+priorityNames+")")
			}
			hi, lo := bits.Mul64(p, pct)
			if hi >= 100 { // the quotient would not fit in 64 bits
				tariff.Log(tariff.LevelError, "go-tiered: price overflow")
				return tariff.Error
			}
			p, _ = bits.Div64(hi, lo, 100)
		}
	}
	tariff.SetPrice(p)
	return tariff.OK
}

// main is never called: a c-shared (reactor) module runs only _initialize
// and its exports. It is here so that the package also builds natively.
func main() {}

// shorten keeps a client's value short enough to quote in a message: a
// header can be 64 KiB, and quoting it all would outlast the deadline.
func shorten(v string) string {
	const max = 64
	if len(v) <= max {
		return v
	}
	return v[:max] + "..."
}
