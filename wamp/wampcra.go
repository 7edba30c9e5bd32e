package wamp

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Defaults of WAMP-CRA key derivation, as in autobahn and nexus.
const (
	CRADefaultIterations = 1000
	CRADefaultKeyLen     = 32
)

// CRASign signs a WAMP-CRA challenge: the standard base64 of
// HMAC-SHA256(key, challenge). key is the secret itself, or the string
// CRADeriveKey returned when the challenge carried a salt.
func CRASign(key []byte, challenge string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// CRAVerify reports whether signature is CRASign(key, challenge),
// comparing in constant time.
func CRAVerify(key []byte, challenge, signature string) bool {
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(challenge))
	return hmac.Equal(got, mac.Sum(nil))
}

// CRADeriveKey derives the salted WAMP-CRA key of a secret as autobahn's
// derive_key does: the standard base64 of PBKDF2-HMAC-SHA256(secret,
// salt, iterations, keyLen). The result, as bytes, is the key of CRASign.
// Zero iterations or keyLen mean the defaults.
func CRADeriveKey(secret, salt string, iterations, keyLen int) (string, error) {
	if iterations == 0 {
		iterations = CRADefaultIterations
	}
	if keyLen == 0 {
		keyLen = CRADefaultKeyLen
	}
	if iterations < 0 || keyLen < 0 {
		return "", fmt.Errorf("wamp: wampcra: iterations and keylen must be positive, got %d and %d", iterations, keyLen)
	}
	dk, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iterations, keyLen)
	if err != nil {
		return "", fmt.Errorf("wamp: wampcra: derive key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(dk), nil
}

// CRAChallenge is the challenge string a router signs for WAMP-CRA: a
// JSON object naming the session being authenticated, as crossbar sends
// it. The client signs its text as is.
type CRAChallenge struct {
	AuthID, AuthRole, AuthProvider string
	// Nonce should be random, such as 16 random bytes in base64.
	Nonce string
	// Timestamp is written in UTC with millisecond precision.
	Timestamp time.Time
	// Session is the id the WELCOME will carry.
	Session uint64
}

// String returns the challenge text: {"authid":…,"authrole":…,
// "authmethod":"wampcra","authprovider":…,"nonce":…,"timestamp":…,
// "session":…}.
func (c *CRAChallenge) String() string {
	b := make([]byte, 0, 192)
	b = append(b, `{"authid":`...)
	b = AppendString(b, c.AuthID)
	b = append(b, `,"authrole":`...)
	b = AppendString(b, c.AuthRole)
	b = append(b, `,"authmethod":"wampcra","authprovider":`...)
	b = AppendString(b, c.AuthProvider)
	b = append(b, `,"nonce":`...)
	b = AppendString(b, c.Nonce)
	b = append(b, `,"timestamp":`...)
	b = AppendString(b, c.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"))
	b = append(b, `,"session":`...)
	b = strconv.AppendUint(b, c.Session, 10)
	return string(append(b, '}'))
}

// CRAExtra builds the CHALLENGE.Extra of WAMP-CRA.
type CRAExtra struct {
	// Challenge ("challenge") is the text to sign, such as
	// CRAChallenge.String().
	Challenge string
	// Salt ("salt"), when not empty, tells the client to sign with
	// CRADeriveKey(secret, Salt, Iterations, KeyLen); "iterations" and
	// "keylen" are sent with it (zero: the defaults).
	Salt       string
	Iterations int
	KeyLen     int
}

// AppendJSON appends the extra as a JSON object.
func (x *CRAExtra) AppendJSON(dst []byte) []byte {
	o := obj{dst: dst}
	o.key("challenge")
	o.dst = AppendString(o.dst, x.Challenge)
	if x.Salt != "" {
		iter, keyLen := x.Iterations, x.KeyLen
		if iter <= 0 {
			iter = CRADefaultIterations
		}
		if keyLen <= 0 {
			keyLen = CRADefaultKeyLen
		}
		o.str("salt", x.Salt)
		o.uint("iterations", uint64(iter))
		o.uint("keylen", uint64(keyLen))
	}
	return o.end()
}

// JSON returns the extra as a JSON object.
func (x *CRAExtra) JSON() json.RawMessage { return x.AppendJSON(nil) }
