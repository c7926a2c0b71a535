package escrow

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	jwtTestSecret = "test-secret-key-at-least-32-bytes-long"
	// jwtTestVector is §13.3 of the wire contract.
	jwtTestVector = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3NjcyMjU2MDAsImdyb3VwSWQiOiJFb0ZtTjNudmFYcGY2ZXc4akpiSVBWZ2hFNU5YZll1cEZGN1BrUm1WeUdRPSIsIm9yZ0lkIjoic25ldCIsInBheWxvYWQiOiI0MiIsInVzZXJBZGRyZXNzIjoiMHgyYzc1MzZFMzYwNUQ5QzE2YTdhM0Q3YjE4OThlNTI5Mzk2YTY1YzIzIn0.pjJkf02i0ZzQscekm4XOCJtXNvdW9KGKrUuPQ04OM94"
	jwtTestExp    = 1767225600
)

var jwtTestNow = time.Unix(jwtTestExp-60, 0)

func jwtTestClaims() tokenClaims {
	return tokenClaims{
		Exp: jwtTestExp, GroupID: "EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=", OrgID: "snet",
		Payload: "42", UserAddress: "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23",
	}
}

// jwtTestForge signs any header and claims text with HS256 under secret.
func jwtTestForge(secret, header, claims string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

func TestJWTSpecVector(t *testing.T) {
	tok, err := signJWT([]byte(jwtTestSecret), jwtTestClaims())
	require.NoError(t, err)
	require.Equal(t, jwtTestVector, tok)

	claims, err := parseJWT([]byte(jwtTestSecret), jwtTestVector, jwtTestNow)
	require.NoError(t, err)
	require.Equal(t, "42", claims["payload"])
	require.Equal(t, "snet", claims["orgId"])
	require.Equal(t, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23", claims["userAddress"])
}

func TestJWTRefusals(t *testing.T) {
	const hs256 = `{"alg":"HS256","typ":"JWT"}`
	const good = `{"exp":1767225600,"groupId":"g","orgId":"snet","payload":"42","userAddress":"0x1"}`
	parts := strings.Split(jwtTestVector, ".")
	for _, tc := range []struct {
		name  string
		token string
		is    error
		msg   string
	}{
		{"empty", "", ErrJWTMalformed, "token is malformed: token contains an invalid number of segments"},
		{"two segments", parts[0] + "." + parts[1], ErrJWTMalformed, "token is malformed: token contains an invalid number of segments"},
		{"four segments", jwtTestVector + ".x", ErrJWTMalformed, "token is malformed: token contains an invalid number of segments"},
		{"tampered signature", parts[0] + "." + parts[1] + ".pjJkf02i0ZzQscekm4XOCJtXNvdW9KGKrUuPQ04OM95", ErrJWTMalformed, "token is malformed: could not base64 decode signature"},
		{"other signature", parts[0] + "." + parts[1] + ".AjJkf02i0ZzQscekm4XOCJtXNvdW9KGKrUuPQ04OM94", ErrJWTSignature, "token signature is invalid: signature is invalid"},
		{"tampered claims", parts[0] + "." + strings.Replace(parts[1], "I0MiIs", "I0MyIs", 1) + "." + parts[2], ErrJWTSignature, "token signature is invalid: signature is invalid"},
		{"wrong secret", jwtTestForge("another-secret-key-at-least-32-bytes", hs256, good), ErrJWTSignature, "token signature is invalid: signature is invalid"},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", ErrJWTUnverifiable, "token is unverifiable: unexpected signing method: none"},
		{"alg none signed", jwtTestForge(jwtTestSecret, `{"alg":"none"}`, good), ErrJWTUnverifiable, "token is unverifiable: unexpected signing method: none"},
		{"alg RS256", jwtTestForge(jwtTestSecret, `{"alg":"RS256","typ":"JWT"}`, good), ErrJWTUnverifiable, "token is unverifiable: unexpected signing method: RS256"},
		{"alg HS512", jwtTestForge(jwtTestSecret, `{"alg":"HS512","typ":"JWT"}`, good), ErrJWTUnverifiable, "token is unverifiable: unexpected signing method: HS512"},
		{"alg hs256", jwtTestForge(jwtTestSecret, `{"alg":"hs256"}`, good), ErrJWTUnverifiable, "token is unverifiable: unexpected signing method: hs256"},
		{"alg missing", jwtTestForge(jwtTestSecret, `{"typ":"JWT"}`, good), ErrJWTUnverifiable, "token is unverifiable: unexpected signing method: <nil>"},
		{"alg not a string", jwtTestForge(jwtTestSecret, `{"alg":["HS256"]}`, good), ErrJWTUnverifiable, "token is unverifiable: unexpected signing method: [HS256]"},
		{"header not json", jwtTestForge(jwtTestSecret, `HS256`, good), ErrJWTMalformed, "token is malformed: could not JSON decode header"},
		{"header not base64", "!!." + parts[1] + "." + parts[2], ErrJWTMalformed, "token is malformed: could not base64 decode header"},
		{"claims not json", jwtTestForge(jwtTestSecret, hs256, `[1,2]`), ErrJWTMalformed, "token is malformed: could not JSON decode claim"},
		{"claims null", jwtTestForge(jwtTestSecret, hs256, `null`), ErrJWTMalformed, "token is malformed: could not JSON decode claim"},
		{"no exp", jwtTestForge(jwtTestSecret, hs256, `{"payload":"42"}`), ErrJWTClaims, "token has invalid claims: token is missing required claim: exp claim is required"},
		{"exp string", jwtTestForge(jwtTestSecret, hs256, `{"exp":"1767225600"}`), ErrJWTClaims, "token has invalid claims: exp is invalid"},
		{"exp huge", jwtTestForge(jwtTestSecret, hs256, `{"exp":1e400}`), ErrJWTClaims, "token has invalid claims: exp is invalid"},
		{"expired", jwtTestForge(jwtTestSecret, hs256, `{"exp":1767225540}`), ErrJWTExpired, "token has invalid claims: token is expired"},
		{"expires now", jwtTestForge(jwtTestSecret, hs256, `{"exp":1767225540.0}`), ErrJWTExpired, "token has invalid claims: token is expired"},
		{"too long", jwtTestForge(jwtTestSecret, hs256, `{"exp":1767225600,"x":"`+strings.Repeat("a", maxJWTLen)+`"}`), ErrJWTMalformed, "token is malformed: token is too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseJWT([]byte(jwtTestSecret), tc.token, jwtTestNow)
			require.ErrorIs(t, err, tc.is)
			require.EqualError(t, err, tc.msg)
		})
	}
}

func TestJWTAcceptsFractionalExp(t *testing.T) {
	tok := jwtTestForge(jwtTestSecret, `{"alg":"HS256"}`, `{"exp":1767225540.5}`)
	_, err := parseJWT([]byte(jwtTestSecret), tok, jwtTestNow)
	require.NoError(t, err)
	_, err = parseJWT([]byte(jwtTestSecret), tok, jwtTestNow.Add(time.Second))
	require.ErrorIs(t, err, ErrJWTExpired)
}

// Any change to a valid token is refused.
func TestJWTEveryByteMatters(t *testing.T) {
	for i := range len(jwtTestVector) {
		for _, b := range []byte{'A', 'a', '-', '_', '.', '0', '='} {
			if jwtTestVector[i] == b {
				continue
			}
			tok := jwtTestVector[:i] + string(b) + jwtTestVector[i+1:]
			_, err := parseJWT([]byte(jwtTestSecret), tok, jwtTestNow)
			require.Error(t, err, "byte %d set to %q", i, b)
		}
	}
}

// FuzzParseJWT: the parser never panics, and whatever it accepts carries
// the MAC of its own first two segments under the secret, an HS256 header
// and an exp in the future.
func FuzzParseJWT(f *testing.F) {
	f.Add(jwtTestVector)
	f.Add(jwtTestForge(jwtTestSecret, `{"alg":"none"}`, `{"exp":1767225600}`))
	f.Add(jwtTestForge(jwtTestSecret, `{"alg":"HS256"}`, `{"exp":1767225600.25,"payload":42}`))
	f.Add(jwtTestForge(jwtTestSecret, `{"alg":"HS256"}`, `{"exp":-1}`))
	f.Add(jwtTestForge("wrong-secret-wrong-secret-wrong-secret", `{"alg":"HS256"}`, `{"exp":1767225600}`))
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := parseJWT([]byte(jwtTestSecret), token, jwtTestNow)
		if err != nil {
			require.Nil(t, claims)
			for _, sentinel := range []error{ErrJWTMalformed, ErrJWTUnverifiable, ErrJWTSignature, ErrJWTClaims} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("error without a sentinel: %v", err)
		}
		i := strings.LastIndexByte(token, '.')
		require.Equal(t, token[i+1:], base64.RawURLEncoding.EncodeToString(jwtMAC([]byte(jwtTestSecret), token[:i])))
		head, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
		require.NoError(t, err)
		require.Contains(t, string(head), `"HS256"`)
		require.Contains(t, claims, "exp")
	})
}
