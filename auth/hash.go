package auth

import (
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// HashIterations is the number of SHA-512 rounds of Oro's ticket digest
// (MessageDigestPasswordHasher('sha512', true, 5000)).
const HashIterations = 5000

// MaxPasswordLength is the longest plain text, in bytes, that Symfony's
// password hashers accept (PasswordHasherInterface::MAX_PASSWORD_LENGTH).
const MaxPasswordLength = 4096

// ErrPasswordTooLong is returned by [HashPassword] for a plain text longer
// than [MaxPasswordLength] bytes, where Symfony throws
// InvalidPasswordException.
var ErrPasswordTooLong = errors.New("auth: password longer than 4096 bytes")

// ErrInvalidSalt is returned by [HashPassword] for a salt containing "{" or
// "}", where Symfony throws "Cannot use { or } in salt.". Oro's salt is the
// application secret (kernel.secret), so a secret with braces can neither
// mint nor verify tickets, in Oro as here.
var ErrInvalidSalt = errors.New("auth: cannot use { or } in salt")

// HashPassword returns what Symfony's
// MessageDigestPasswordHasher('sha512', true, 5000)->hash(plain, salt)
// returns: with salted = plain + "{" + salt + "}", d = sha512(salted), then
// 4,999 times d = sha512(d + salted), and finally base64(d), 88 characters.
//
// As in PHP, a salt that is falsy ("" or "0") is not appended at all, and
// plain and salt are taken as raw bytes. It is deliberately slow: about
// 5,000 SHA-512 blocks per call (see BenchmarkHashPassword).
func HashPassword(plain, salt string) (string, error) {
	if len(plain) > MaxPasswordLength {
		return "", fmt.Errorf("hash password of %d bytes: %w", len(plain), ErrPasswordTooLong)
	}
	salted := plain
	if salt != "" && salt != "0" { // PHP: if (!$salt) return $password;
		if strings.ContainsAny(salt, "{}") {
			return "", fmt.Errorf("hash password: %w", ErrInvalidSalt)
		}
		salted = plain + "{" + salt + "}"
	}
	buf := make([]byte, 0, sha512.Size+len(salted))
	d := sha512.Sum512(append(buf, salted...))
	for i := 1; i < HashIterations; i++ {
		buf = append(append(buf[:0], d[:]...), salted...)
		d = sha512.Sum512(buf)
	}
	return base64.StdEncoding.EncodeToString(d[:]), nil
}

// CheckSecret reports whether secret can salt Oro ticket digests, that is
// whether [HashPassword] accepts it as a salt. Configuration loading should
// call it so that a bad secret fails at start-up rather than on every ticket.
func CheckSecret(secret string) error {
	if secret != "" && secret != "0" && strings.ContainsAny(secret, "{}") {
		return fmt.Errorf("auth secret: %w", ErrInvalidSalt)
	}
	return nil
}
