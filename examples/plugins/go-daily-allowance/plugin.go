// Command go-daily-allowance is a tariffd free_call plugin: each user gets
// per_day free calls for every day (UTC) since a start date.
//
// Config (HCL, in the plugin block):
//
//	config = {
//	  per_day   = 10            # free calls per user per day
//	  since     = "2025-01-01"  # first day of the allowance (UTC)
//	  max_total = 300           # optional: a lifetime ceiling per user
//	}
//
// What a pure plugin can and cannot do. Plugins keep no state between calls
// (an instance's memory is not shared and is thrown away at will), and the
// only persistent counter is the host's FREE_CALLS_USED: how many free calls
// the user has made in total, ever. There is no per-day counter, so "at most
// N calls today" cannot be decided from the inputs. What can be decided,
// deterministically, is a growing allowance:
//
//	allowance(day) = per_day × (day − since + 1), capped by max_total
//	allow          = used < allowance(day of REQUEST_TIME_UNIX_MS)
//	remaining      = allowance − used   (the calls left, this one included)
//
// So unused calls roll over: a user who made no calls for a week may make
// 7 × per_day today. max_total bounds what a user can ever get. A user over
// the allowance is refused with ResourceExhausted and a message naming the
// day more free calls come (the client may pay instead). Calls before
// since are refused with FailedPrecondition.
package main

import (
	"math/bits"
	"strconv"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tjson"
)

const info = `{"name":"go-daily-allowance","version":"0.1.0","abi_minor":0,"kinds":["free_call"],"needs_body":false}`

const msPerDay = 24 * 60 * 60 * 1000

// Set once per instance by load (tariff_init).
var (
	perDay   uint64
	sinceDay int64 // days since 1970-01-01
	maxTotal uint64
	hasMax   bool
)

// load reads the config; it runs as tariff_init.
func load() int32 {
	cfg := tariff.Config()
	n, ok := tjson.Get(cfg, "per_day").Uint()
	if !ok || n == 0 {
		return initError("per_day: want a positive whole number")
	}
	s, _ := tjson.Get(cfg, "since").Str()
	day, ok := parseDate(s)
	if !ok {
		return initError(`since: want a date "YYYY-MM-DD"`)
	}
	max, hasM := uint64(0), false
	if v := tjson.Get(cfg, "max_total"); v.Exists() {
		if max, hasM = v.Uint(); !hasM {
			return initError("max_total: want a whole number")
		}
	}
	perDay, sinceDay, maxTotal, hasMax = n, day, max, hasM
	return 0
}

func initError(msg string) int32 {
	tariff.Log(tariff.LevelError, "go-daily-allowance: config: "+msg)
	return 1
}

// freeCall is tariff_free_call.
func freeCall() int32 {
	ms, ok := tariff.InputU64(tariff.FieldRequestTimeUnixMs)
	if !ok {
		tariff.Log(tariff.LevelError, "go-daily-allowance: no request time")
		return tariff.Error // on_error: the free call is refused
	}
	today := int64(ms / msPerDay)
	if today < sinceDay {
		return tariff.Denied(tariff.CodeFailedPrecondition, "free calls start on "+formatDate(sinceDay)+" (UTC)")
	}
	allowance := allowanceOn(today)
	used := tariff.FreeCallsUsed()
	if used < allowance {
		tariff.SetFreeCall(true, allowance-used)
		return tariff.OK
	}
	msg := "free calls used up: " + strconv.FormatUint(used, 10) + " of " + strconv.FormatUint(allowance, 10) +
		" (" + strconv.FormatUint(perDay, 10) + " a day since " + formatDate(sinceDay) + ")"
	if hasMax && allowance == maxTotal {
		msg += "; this is the lifetime maximum"
	} else {
		// The first day whose allowance exceeds used.
		next := sinceDay + int64(min(used/perDay, 1<<40))
		msg += "; more on " + formatDate(next) + " (UTC)"
	}
	return tariff.Denied(tariff.CodeResourceExhausted, msg)
}

// allowanceOn returns how many free calls a user may have made by the end
// of day (>= sinceDay).
func allowanceOn(day int64) uint64 {
	hi, a := bits.Mul64(perDay, uint64(day-sinceDay)+1)
	if hi != 0 {
		a = 1<<64 - 1
	}
	if hasMax && a > maxTotal {
		a = maxTotal
	}
	return a
}

// parseDate reads "YYYY-MM-DD" as days since 1970-01-01. (The time
// package would do, but this keeps the module small and is all it needs.)
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, err1 := strconv.Atoi(s[0:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || y < 1970 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(int64(y), int64(m), int64(d)), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil and civilFromDays convert between proleptic Gregorian dates
// and days since 1970-01-01 (Howard Hinnant's algorithms).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

func formatDate(day int64) string {
	y, m, d := civilFromDays(day)
	return strconv.FormatInt(y, 10) + "-" + pad2(m) + "-" + pad2(d)
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// main is never called: a c-shared (reactor) module runs only _initialize
// and its exports. It is here so that the package also builds natively.
func main() {}
