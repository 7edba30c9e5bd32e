package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type jwtKeys struct {
	hmac  []byte
	rsa   *rsa.PrivateKey
	ed    ed25519.PrivateKey
	edPub ed25519.PublicKey
}

func newJWTKeys(t *testing.T) jwtKeys {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jwtKeys{hmac: []byte("0123456789abcdef0123456789abcdef"), rsa: rk, ed: priv, edPub: pub}
}

func (k jwtKeys) verifier(algs ...string) *JWTVerifier {
	return &JWTVerifier{
		Algorithms:   algs,
		HMACSecret:   k.hmac,
		RSAPublicKey: &k.rsa.PublicKey,
		EdPublicKey:  k.edPub,
		Now:          func() time.Time { return t0 },
	}
}

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func baseClaims() jwt.MapClaims {
	return jwt.MapClaims{"sub": "42", "exp": t0.Add(time.Hour).Unix()}
}

func TestJWTHappyPaths(t *testing.T) {
	k := newJWTKeys(t)
	v := k.verifier(AlgHS256, AlgRS256, AlgEdDSA)
	for name, tok := range map[string]string{
		"HS256": sign(t, jwt.SigningMethodHS256, k.hmac, baseClaims()),
		"RS256": sign(t, jwt.SigningMethodRS256, k.rsa, baseClaims()),
		"EdDSA": sign(t, jwt.SigningMethodEdDSA, k.ed, baseClaims()),
	} {
		c, err := v.Verify(tok)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c.UserID != "42" || !c.ExpiresAt.Equal(t0.Add(time.Hour)) || c.Roles != nil || c.Channels != nil {
			t.Errorf("%s: claims %+v", name, c)
		}
	}
}

func TestJWTRolesAndChannels(t *testing.T) {
	k := newJWTKeys(t)
	v := k.verifier(AlgHS256)
	cl := baseClaims()
	cl["username"] = "alice"
	cl["roles"] = []string{"ROLE_USER", "ROLE_ADMIN"}
	cl["channels"] = []string{"oro/email_event/42/*", "news"}
	c, err := v.Verify(sign(t, jwt.SigningMethodHS256, k.hmac, cl))
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "alice" || !slices.Equal(c.Roles, []string{"ROLE_USER", "ROLE_ADMIN"}) ||
		!slices.Equal(c.Channels, []string{"oro/email_event/42/*", "news"}) {
		t.Fatalf("claims %+v", c)
	}

	// Custom claim names; a single string is a one-element list.
	v.RolesClaim, v.ChannelsClaim = "https://example.com/roles", "allowed"
	cl = baseClaims()
	cl["https://example.com/roles"] = "ROLE_X"
	cl["allowed"] = []string{"a"}
	cl["roles"] = []string{"ignored"}
	c, err = v.Verify(sign(t, jwt.SigningMethodHS256, k.hmac, cl))
	if err != nil || !slices.Equal(c.Roles, []string{"ROLE_X"}) || !slices.Equal(c.Channels, []string{"a"}) {
		t.Fatalf("custom claims: %+v %v", c, err)
	}

	// Wrong types are refused.
	for name, bad := range map[string]any{"number": 3, "mixed array": []any{"a", 1}, "object": map[string]any{"a": 1}} {
		cl = baseClaims()
		cl["allowed"] = bad
		if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, k.hmac, cl)); err == nil {
			t.Errorf("channels as %s accepted", name)
		}
	}
	cl = baseClaims()
	cl["username"] = 7
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, k.hmac, cl)); err == nil {
		t.Error("numeric username accepted")
	}
}

func TestJWTRefusals(t *testing.T) {
	k := newJWTKeys(t)
	hsOnly := k.verifier(AlgHS256)
	rsOnly := k.verifier(AlgRS256)

	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, baseClaims())
	noExp := jwt.MapClaims{"sub": "42"}
	expired := jwt.MapClaims{"sub": "42", "exp": t0.Add(-time.Minute).Unix()}
	noSub := jwt.MapClaims{"exp": t0.Add(time.Hour).Unix()}
	future := baseClaims()
	future["nbf"] = t0.Add(time.Minute).Unix()
	aud := baseClaims()
	aud["aud"] = "someone-else"
	otherKey := newJWTKeys(t)

	cases := []struct {
		name string
		v    *JWTVerifier
		tok  string
		is   error
	}{
		{"alg none", k.verifier(AlgHS256, AlgRS256, AlgEdDSA), noneTok, jwt.ErrTokenSignatureInvalid},
		{"HS256 token, RS256 allowed", rsOnly, sign(t, jwt.SigningMethodHS256, k.hmac, baseClaims()), jwt.ErrTokenSignatureInvalid},
		{"RS256 token, HS256 allowed", hsOnly, sign(t, jwt.SigningMethodRS256, k.rsa, baseClaims()), jwt.ErrTokenSignatureInvalid},
		{"HS512 token", hsOnly, sign(t, jwt.SigningMethodHS512, k.hmac, baseClaims()), jwt.ErrTokenSignatureInvalid},
		{"EdDSA token, HS256 allowed", hsOnly, sign(t, jwt.SigningMethodEdDSA, k.ed, baseClaims()), jwt.ErrTokenSignatureInvalid},
		{"bad HMAC signature", hsOnly, sign(t, jwt.SigningMethodHS256, []byte("another secret of 32 bytes......"), baseClaims()), jwt.ErrTokenSignatureInvalid},
		{"bad RSA signature", rsOnly, sign(t, jwt.SigningMethodRS256, otherKey.rsa, baseClaims()), jwt.ErrTokenSignatureInvalid},
		{"bad EdDSA signature", k.verifier(AlgEdDSA), sign(t, jwt.SigningMethodEdDSA, otherKey.ed, baseClaims()), jwt.ErrTokenSignatureInvalid},
		// Key confusion: HS256 signed with the RSA public key's bytes.
		{"key confusion", k.verifier(AlgHS256, AlgRS256), sign(t, jwt.SigningMethodHS256, x509PublicDER(t, k), baseClaims()), jwt.ErrTokenSignatureInvalid},
		{"missing exp", hsOnly, sign(t, jwt.SigningMethodHS256, k.hmac, noExp), jwt.ErrTokenRequiredClaimMissing},
		{"expired", hsOnly, sign(t, jwt.SigningMethodHS256, k.hmac, expired), jwt.ErrTokenExpired},
		{"not yet valid", hsOnly, sign(t, jwt.SigningMethodHS256, k.hmac, future), jwt.ErrTokenNotValidYet},
		{"missing sub", hsOnly, sign(t, jwt.SigningMethodHS256, k.hmac, noSub), nil},
		{"garbage", hsOnly, "not.a.jwt", jwt.ErrTokenMalformed},
	}
	withAud := k.verifier(AlgHS256)
	withAud.Audience = "herald"
	cases = append(cases, struct {
		name string
		v    *JWTVerifier
		tok  string
		is   error
	}{"wrong audience", withAud, sign(t, jwt.SigningMethodHS256, k.hmac, aud), jwt.ErrTokenInvalidAudience})
	withIss := k.verifier(AlgHS256)
	withIss.Issuer = "https://app.example"
	iss := baseClaims()
	iss["iss"] = "https://evil.example"
	cases = append(cases, struct {
		name string
		v    *JWTVerifier
		tok  string
		is   error
	}{"wrong issuer", withIss, sign(t, jwt.SigningMethodHS256, k.hmac, iss), jwt.ErrTokenInvalidIssuer})

	for _, c := range cases {
		_, err := c.v.Verify(c.tok)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %v", c.name, err, c.is)
		}
	}

	// Leeway lets a just-expired token through.
	lenient := k.verifier(AlgHS256)
	lenient.Leeway = 2 * time.Minute
	if _, err := lenient.Verify(sign(t, jwt.SigningMethodHS256, k.hmac, expired)); err != nil {
		t.Errorf("leeway: %v", err)
	}
	// The right audience passes.
	aud["aud"] = []string{"x", "herald"}
	if _, err := withAud.Verify(sign(t, jwt.SigningMethodHS256, k.hmac, aud)); err != nil {
		t.Errorf("audience: %v", err)
	}
}

func x509PublicDER(t *testing.T, k jwtKeys) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestJWTConfigErrors(t *testing.T) {
	k := newJWTKeys(t)
	tok := sign(t, jwt.SigningMethodHS256, k.hmac, baseClaims())
	for name, v := range map[string]*JWTVerifier{
		"no algorithms":   {HMACSecret: k.hmac},
		"none allowed":    {Algorithms: []string{"none"}, HMACSecret: k.hmac},
		"HS512 allowed":   {Algorithms: []string{"HS512"}, HMACSecret: k.hmac},
		"HS256 no secret": {Algorithms: []string{AlgHS256}},
		"RS256 no key":    {Algorithms: []string{AlgHS256, AlgRS256}, HMACSecret: k.hmac},
		"EdDSA no key":    {Algorithms: []string{AlgEdDSA}},
	} {
		if _, err := v.Verify(tok); !errors.Is(err, ErrJWTConfig) {
			t.Errorf("%s: %v, want ErrJWTConfig", name, err)
		}
	}
}

func TestTokenFromRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "/ws?token=q1&jwt=q2", nil)
	if got := TokenFromRequest(r, ""); got != "q1" {
		t.Errorf("default param: %q", got)
	}
	if got := TokenFromRequest(r, "jwt"); got != "q2" {
		t.Errorf("named param: %q", got)
	}
	r.Header.Set("Authorization", "bearer  h1 ")
	if got := TokenFromRequest(r, ""); got != "h1" {
		t.Errorf("header: %q", got)
	}
	r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	if got := TokenFromRequest(r, ""); got != "q1" {
		t.Errorf("non-bearer header: %q, want the query's", got)
	}
	if got := TokenFromRequest(httptest.NewRequest("GET", "/ws", nil), ""); got != "" {
		t.Errorf("none: %q", got)
	}
}
