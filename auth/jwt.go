package auth

import (
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWT algorithms a JWTVerifier can allow.
const (
	AlgHS256 = "HS256"
	AlgRS256 = "RS256"
	AlgEdDSA = "EdDSA"
)

// ErrJWTConfig marks a JWTVerifier that cannot verify anything: no
// algorithm allowed, an algorithm it does not support, or an allowed
// algorithm without its key.
var ErrJWTConfig = errors.New("auth: jwt verifier misconfigured")

// Default claim names of JWTVerifier.
const (
	DefaultRolesClaim    = "roles"
	DefaultChannelsClaim = "channels"
)

// Claims is what a verified JWT says about its bearer.
type Claims struct {
	// UserID is the "sub" claim, never empty.
	UserID string
	// Username is the optional "username" claim.
	Username string
	// Roles is the roles claim (a string or an array of strings).
	Roles []string
	// Channels is the allowed-channels claim (a string or an array of
	// strings); nil when absent. What a channel entry matches is the
	// caller's policy.
	Channels []string
	// ExpiresAt is the "exp" claim.
	ExpiresAt time.Time
}

// JWTVerifier checks JSON Web Tokens for applications that are not Oro.
//
// The algorithm is never taken on the token's word: only those in
// Algorithms are accepted ("none" never is), each with its own key. "exp"
// is required, "nbf" and "iat" are honoured when present, "sub" must be a
// non-empty string. Set the fields before first use and never change them;
// Verify is safe for concurrent use.
type JWTVerifier struct {
	// Algorithms is the allow-list, from HS256, RS256 and EdDSA. Empty
	// refuses every token.
	Algorithms []string
	// HMACSecret is the HS256 key.
	HMACSecret []byte
	// RSAPublicKey is the RS256 key.
	RSAPublicKey *rsa.PublicKey
	// EdPublicKey is the EdDSA (Ed25519) key.
	EdPublicKey ed25519.PublicKey
	// RolesClaim names the roles claim. Empty means "roles".
	RolesClaim string
	// ChannelsClaim names the allowed-channels claim. Empty means
	// "channels".
	ChannelsClaim string
	// Audience, when set, must be among the token's "aud".
	Audience string
	// Issuer, when set, must equal the token's "iss".
	Issuer string
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Verify checks token's signature and claims and returns its claims.
func (v *JWTVerifier) Verify(token string) (*Claims, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.Algorithms),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.Leeway),
	}
	if v.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(v.Now))
	}
	if v.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.Audience))
	}
	if v.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.Issuer))
	}
	mc := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, mc, v.key, opts...)
	if err != nil {
		return nil, fmt.Errorf("verify jwt: %w", err)
	}

	c := &Claims{}
	if c.UserID, err = mc.GetSubject(); err != nil || c.UserID == "" {
		return nil, fmt.Errorf("verify jwt: claim sub: missing or not a non-empty string")
	}
	if u, ok := mc["username"]; ok {
		s, isStr := u.(string)
		if !isStr {
			return nil, fmt.Errorf("verify jwt: claim username: not a string")
		}
		c.Username = s
	}
	exp, err := mc.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, fmt.Errorf("verify jwt: claim exp: %w", err)
	}
	c.ExpiresAt = exp.Time
	if c.Roles, err = stringsClaim(mc, nonEmpty(v.RolesClaim, DefaultRolesClaim)); err != nil {
		return nil, fmt.Errorf("verify jwt: %w", err)
	}
	if c.Channels, err = stringsClaim(mc, nonEmpty(v.ChannelsClaim, DefaultChannelsClaim)); err != nil {
		return nil, fmt.Errorf("verify jwt: %w", err)
	}
	return c, nil
}

// check validates the configuration.
func (v *JWTVerifier) check() error {
	if len(v.Algorithms) == 0 {
		return fmt.Errorf("verify jwt: no algorithm allowed: %w", ErrJWTConfig)
	}
	for _, alg := range v.Algorithms {
		var missing bool
		switch alg {
		case AlgHS256:
			missing = len(v.HMACSecret) == 0
		case AlgRS256:
			missing = v.RSAPublicKey == nil
		case AlgEdDSA:
			missing = len(v.EdPublicKey) != ed25519.PublicKeySize
		default:
			return fmt.Errorf("verify jwt: algorithm %q not supported (HS256, RS256, EdDSA): %w", alg, ErrJWTConfig)
		}
		if missing {
			return fmt.Errorf("verify jwt: algorithm %s allowed without its key: %w", alg, ErrJWTConfig)
		}
	}
	return nil
}

// key is the jwt.Keyfunc. The parser has already refused algorithms outside
// the allow-list; the type switch keeps a key from being used with another
// algorithm family all the same.
func (v *JWTVerifier) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if t.Method.Alg() == AlgHS256 {
			return v.HMACSecret, nil
		}
	case *jwt.SigningMethodRSA:
		if t.Method.Alg() == AlgRS256 {
			return v.RSAPublicKey, nil
		}
	case *jwt.SigningMethodEd25519:
		return v.EdPublicKey, nil
	}
	return nil, fmt.Errorf("algorithm %q not allowed", t.Method.Alg())
}

func stringsClaim(mc jwt.MapClaims, name string) ([]string, error) {
	raw, ok := mc[name]
	if !ok || raw == nil {
		return nil, nil
	}
	switch x := raw.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("claim %s: not an array of strings", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("claim %s: not a string or an array of strings", name)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TokenFromRequest returns the bearer token of r: the Authorization header's
// "Bearer" credentials when the header is there (browsers cannot set it on
// a WebSocket, other clients can), else the queryParam query parameter
// (empty queryParam means "token"). It returns "" when neither is set.
func TokenFromRequest(r *http.Request, queryParam string) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(cred)
		}
	}
	return r.URL.Query().Get(nonEmpty(queryParam, "token"))
}
