package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tarifftest"
)

func newFake(t *testing.T, cfg string) *tarifftest.Fake {
	t.Helper()
	f := tarifftest.New(t, info)
	f.Config = []byte(cfg)
	if res := f.Init(load); res.IsError() {
		t.Fatalf("tariff_init: %s %v", res.Err, res.Logs)
	}
	f.PaymentType = "free-call"
	f.FreeCallUserID = "user-1"
	return f
}

func at(date string, hour int) uint64 {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		panic(err)
	}
	return uint64(d.Add(time.Duration(hour) * time.Hour).UnixMilli())
}

func TestFreeCall(t *testing.T) {
	f := newFake(t, `{"per_day": 10, "since": "2025-01-01"}`)
	for _, c := range []struct {
		day       string
		hour      int
		used      uint64
		status    int32
		remaining uint64
		msg       string
	}{
		{"2025-01-01", 0, 0, tariff.OK, 10, ""},
		{"2025-01-01", 23, 9, tariff.OK, 1, ""},
		{"2025-01-01", 23, 10, tariff.Deny, 0, "free calls used up: 10 of 10 (10 a day since 2025-01-01); more on 2025-01-02 (UTC)"},
		{"2025-01-02", 0, 10, tariff.OK, 10, ""},
		{"2025-01-03", 12, 0, tariff.OK, 30, ""}, // unused calls roll over
		{"2025-01-03", 12, 45, tariff.Deny, 0, "45 of 30 (10 a day since 2025-01-01); more on 2025-01-05 (UTC)"},
		{"2024-12-31", 23, 0, tariff.Deny, 0, "free calls start on 2025-01-01 (UTC)"},
		{"2028-02-29", 0, 0, tariff.OK, 10 * (3*365 + 31 + 28 + 1), ""},
	} {
		f.RequestTimeUnixMs, f.FreeCallsUsed = at(c.day, c.hour), c.used
		res := f.Call(tarifftest.FreeCall, freeCall)
		if res.IsError() || res.Status != c.status || res.Remaining != c.remaining || res.Status == tariff.OK != res.Allow {
			t.Errorf("%s %02d:00, used %d: got %+v, want status %d remaining %d", c.day, c.hour, c.used, res, c.status, c.remaining)
		}
		if c.msg != "" && !strings.Contains(res.Message, c.msg) {
			t.Errorf("%s, used %d: message %q, want %q", c.day, c.used, res.Message, c.msg)
		}
	}
}

func TestMaxTotal(t *testing.T) {
	f := newFake(t, `{"per_day": 10, "since": "2025-01-01", "max_total": 25}`)
	f.RequestTimeUnixMs, f.FreeCallsUsed = at("2025-03-01", 0), 24
	if res := f.Call(tarifftest.FreeCall, freeCall); res.Status != tariff.OK || res.Remaining != 1 {
		t.Errorf("below the maximum: %+v", res)
	}
	f.FreeCallsUsed = 25
	res := f.Call(tarifftest.FreeCall, freeCall)
	if res.Status != tariff.Deny || res.Code != tariff.CodeResourceExhausted || !strings.Contains(res.Message, "lifetime maximum") {
		t.Errorf("at the maximum: %+v", res)
	}
}

// TestOverflow: far in the future, the allowance saturates instead of
// overflowing.
func TestOverflow(t *testing.T) {
	f := newFake(t, `{"per_day": 18446744073709551615, "since": "1970-01-01"}`)
	f.RequestTimeUnixMs, f.FreeCallsUsed = at("2100-01-01", 0), 1<<63
	if res := f.Call(tarifftest.FreeCall, freeCall); res.Status != tariff.OK || res.Remaining != 1<<63-1 {
		t.Errorf("saturated: %+v", res)
	}
}

func TestNoRequestTime(t *testing.T) {
	f := newFake(t, `{"per_day": 1, "since": "2025-01-01"}`)
	f.Absent = []tariff.Field{tariff.FieldRequestTimeUnixMs}
	if res := f.Call(tarifftest.FreeCall, freeCall); !res.IsError() {
		t.Errorf("no request time: %+v", res)
	}
}

func TestConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		``:                                      "per_day",
		`{"since": "2025-01-01"}`:               "per_day",
		`{"per_day": 0, "since": "2025-01-01"}`: "per_day",
		`{"per_day": 5}`:                        "since",
		`{"per_day": 5, "since": "2025-02-30"}`: "since",
		`{"per_day": 5, "since": "25-01-01"}`:   "since",
		`{"per_day": 5, "since": "2025-01-01", "max_total": "x"}`: "max_total",
	} {
		f := tarifftest.New(t, info)
		if cfg != "" {
			f.Config = []byte(cfg)
		}
		if res := f.Init(load); !res.IsError() || !res.Logged(want) {
			t.Errorf("%s: got %q %v, want a log with %q", cfg, res.Err, res.Logs, want)
		}
		f.Close()
	}
}

func TestDates(t *testing.T) {
	for d := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2400; d = d.AddDate(0, 0, 7) {
		day := d.Unix() / 86400
		if got := formatDate(day); got != d.Format("2006-01-02") {
			t.Fatalf("formatDate(%d) = %s, want %s", day, got, d.Format("2006-01-02"))
		}
		if got, ok := parseDate(d.Format("2006-01-02")); !ok || got != day {
			t.Fatalf("parseDate(%s) = %d, %v, want %d", d.Format("2006-01-02"), got, ok, day)
		}
	}
}
