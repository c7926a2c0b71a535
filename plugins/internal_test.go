package plugins

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCutText(t *testing.T) {
	require.Equal(t, "abc", cutText([]byte("abc"), 10))
	require.Equal(t, "abc", cutText([]byte("abcdef"), 3))
	require.Equal(t, "é", cutText([]byte("éé"), 3)) // the second é is cut in half: dropped
	require.Equal(t, "a\uFFFDb", cutText([]byte("a\xffb"), 10))
	s := cutText([]byte(strings.Repeat("\xff", 2000)), 1024)
	require.LessOrEqual(t, len(s), 1024)
}

func TestSettableKey(t *testing.T) {
	for _, k := range []string{"x-a", "x_b.c", "trace-id", "data-bin"} {
		require.True(t, settableKey([]byte(k)), k)
	}
	for _, k := range []string{"", "snet-payment-type", ":authority", "grpc-timeout", "X-A", "a b", "é"} {
		require.False(t, settableKey([]byte(k)), k)
	}
}

func TestTimeouts(t *testing.T) {
	l, err := Limits{}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, 20*time.Millisecond, l.timeout(KindPricing))
	require.Equal(t, 20*time.Millisecond, l.timeout(KindFreeCall))
	require.Equal(t, 100*time.Millisecond, l.timeout(KindTransform))
	l.Timeout = 5 * time.Millisecond
	require.Equal(t, 5*time.Millisecond, l.timeout(KindTransform))

	for _, bad := range []Limits{
		{Timeout: time.Minute}, {InitTimeout: time.Hour}, {Instances: 65}, {ModuleBytes: 1 << 30},
		{BodyBytes: 1 << 30}, {LogLines: 5000}, {LogRate: 1e9}, {MemoryMiB: 2048}, {LogRate: -1},
	} {
		_, err := bad.withDefaults()
		require.Error(t, err, "%+v", bad)
	}
}

func TestKinds(t *testing.T) {
	for k := KindPricing; k <= KindTransform; k++ {
		got, ok := ParseKind(k.String())
		require.True(t, ok)
		require.Equal(t, k, got)
		require.True(t, strings.HasPrefix(k.Entry(), "tariff_"))
	}
	_, ok := ParseKind("price")
	require.False(t, ok)
	require.Equal(t, "Kind(9)", Kind(9).String())
	require.Equal(t, "", Kind(9).Entry())
}

// TestFieldTable: the input field table matches ABI v1 section 4.
func TestFieldTable(t *testing.T) {
	all := uint8(allKinds)
	want := map[Field]fieldInfo{
		FieldMethod: {false, all}, FieldServiceID: {false, all}, FieldOrgID: {false, all},
		FieldGroupID: {false, all}, FieldCaller: {false, all}, FieldPaymentType: {false, all},
		FieldChannelID:         {true, 1<<KindPricing | 1<<KindTransform},
		FieldBodyLen:           {true, all},
		FieldFreeCallsUsed:     {true, 1 << KindFreeCall},
		FieldFreeCallsAllowed:  {true, 1 << KindFreeCall},
		FieldRequestTimeUnixMS: {true, all},
		FieldFreeCallUserID:    {false, 1 << KindFreeCall},
	}
	for f := Field(1); f <= maxField; f++ {
		require.Equal(t, want[f], fields[f], "field %d", f)
	}
}
