package escrow

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Errors of prepaid tokens (HS256 JWTs). Their texts are golang-jwt's, which
// upstream returns as they are; a prepaid call reports them as Internal
// "internal error: <err>".
var (
	ErrJWTMalformed    = errors.New("token is malformed")
	ErrJWTUnverifiable = errors.New("token is unverifiable")
	ErrJWTSignature    = errors.New("token signature is invalid")
	ErrJWTClaims       = errors.New("token has invalid claims")
	ErrJWTExpired      = errors.New("token is expired")
)

// jwtHeader is the only header we mint, base64url of
// {"alg":"HS256","typ":"JWT"}: what upstream's golang-jwt writes.
const jwtHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

// maxJWTLen bounds the work done on a token before its MAC is checked; ours
// are about 300 bytes.
const maxJWTLen = 4096

var jwtB64 = base64.RawURLEncoding

// tokenClaims are the claims of a prepaid token. The field order is the
// sorted key order golang-jwt's map claims produce, so minted tokens are
// byte-identical to upstream's.
type tokenClaims struct {
	Exp         int64  `json:"exp"`
	GroupID     string `json:"groupId"`
	OrgID       string `json:"orgId"`
	Payload     string `json:"payload"` // the channel id in decimal
	UserAddress string `json:"userAddress"`
}

// signJWT mints an HS256 token for claims.
func signJWT(secret []byte, c tokenClaims) (string, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	signing := jwtHeader + "." + jwtB64.EncodeToString(body)
	return signing + "." + jwtB64.EncodeToString(jwtMAC(secret, signing)), nil
}

func jwtMAC(secret []byte, signing string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// parseJWT verifies an HS256 token and returns its claims, raw (values are
// strings or json.Number), so that the caller can compare them as upstream
// does. Only HS256 is accepted: "none", asymmetric algorithms and the other
// HMAC sizes are refused before anything else is looked at, so neither the
// header nor the claims can choose how the token is checked. exp is
// required (every token we or upstream mint has one) and must be in the
// future.
func parseJWT(secret []byte, token string, now time.Time) (map[string]any, error) {
	if len(token) > maxJWTLen {
		return nil, fmt.Errorf("%w: token is too long", ErrJWTMalformed)
	}
	head, rest, ok1 := strings.Cut(token, ".")
	body, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return nil, fmt.Errorf("%w: token contains an invalid number of segments", ErrJWTMalformed)
	}
	hb, err := jwtB64.DecodeString(head)
	if err != nil {
		return nil, fmt.Errorf("%w: could not base64 decode header", ErrJWTMalformed)
	}
	var h struct {
		Alg any `json:"alg"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: could not JSON decode header", ErrJWTMalformed)
	}
	if alg, ok := h.Alg.(string); !ok || alg != "HS256" {
		return nil, fmt.Errorf("%w: unexpected signing method: %v", ErrJWTUnverifiable, h.Alg)
	}
	mac, err := jwtB64.Strict().DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: could not base64 decode signature", ErrJWTMalformed)
	}
	if !hmac.Equal(mac, jwtMAC(secret, token[:len(head)+1+len(body)])) {
		return nil, fmt.Errorf("%w: signature is invalid", ErrJWTSignature)
	}
	// From here on the token is one we (or a replica sharing the secret) minted.
	cb, err := jwtB64.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: could not base64 decode claim", ErrJWTMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(cb))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: could not JSON decode claim", ErrJWTMalformed)
	}
	exp, ok := claims["exp"]
	if !ok {
		return nil, fmt.Errorf("%w: token is missing required claim: exp claim is required", ErrJWTClaims)
	}
	expAt, err := numericDate(exp)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJWTClaims, err)
	}
	if !now.Before(expAt) {
		return nil, fmt.Errorf("%w: %w", ErrJWTClaims, ErrJWTExpired)
	}
	return claims, nil
}

// numericDate reads a JWT NumericDate (seconds since the epoch, possibly
// fractional).
func numericDate(v any) (time.Time, error) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, errors.New("exp is invalid")
	}
	if i, err := n.Int64(); err == nil {
		return time.Unix(i, 0), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
		return time.Time{}, errors.New("exp is invalid")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
