package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// Vectors computed with an independent implementation (Python's hashlib)
// and checked against Symfony's MessageDigestPasswordHasher('sha512', true,
// 5000) under php 8.2; TestHashPasswordMatchesSymfony compares live.
var hashVectors = []struct{ plain, salt, want string }{
	{"foo", "bar", "lIig63zhwa4Son5SPnB0QYVC0j/Zid1YjmaDinvPnIKBNUG4P7CPCndkedu9CZ5k+A73KgiUle5BSCKXAuyM8A=="},
	{"", "ThisTokenIsNotSoSecretChangeIt", "f4FQGxQbMtdupA/i+E7uaCZpouObcif8QxgUDZYn1Rbd4Da6JK9PNOdXnuKnNgkPlxKXNp8QFr4ZLh46iyVKFw=="},
	{"password", "", "BFEQkknI/c+Nd7BaG7AaiyTfUFby/pkMHy3UsYqKqDcmvHoPRX/ame9TnVuOV2GrBH0JK9g4koW+CgTYI9mK+w=="},
	{"pässwörd ✓", "sèl", "7pk9L0oS+3Oym7o2hT4CQHl5XsgBQ+HhWCeqNrHEDmmHyP3ukD/TfNGKM2dUSyrkDTqPIwMEYeU0KlqI+1PmqA=="},
	{
		"a6f1c0d2e3b4a597|2025-01-02T03:04:05+00:00|ThisTokenIsNotSoSecretChangeIt", "ThisTokenIsNotSoSecretChangeIt",
		"I39Pa2VCL+4BtTEmtMvFG2h1pfpuTkS/oIMasS15RB/cI12VCzt4GDmm0RCMb9nSROZZiWlIOLVa65yAY4Z+Eg==",
	},
}

func TestHashPasswordVectors(t *testing.T) {
	for _, v := range hashVectors {
		got, err := HashPassword(v.plain, v.salt)
		if err != nil {
			t.Fatalf("HashPassword(%q, %q): %v", v.plain, v.salt, err)
		}
		if got != v.want {
			t.Errorf("HashPassword(%q, %q) = %q, want %q", v.plain, v.salt, got, v.want)
		}
	}
}

func TestHashPasswordShape(t *testing.T) {
	got, err := HashPassword("x", "s")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(got)
	if err != nil || len(got) != 88 || len(raw) != 64 {
		t.Fatalf("hash %q: want 88 base64 chars of 64 bytes (err %v)", got, err)
	}
	other, _ := HashPassword("x", "t")
	if other == got {
		t.Fatal("salt does not change the hash")
	}
}

func TestHashPasswordFalsySaltIsNotAppended(t *testing.T) {
	// PHP's mergePasswordAndSalt: if (!$salt) return $password;
	empty, _ := HashPassword("pw", "")
	zero, _ := HashPassword("pw", "0")
	if empty != zero {
		t.Fatalf(`salt "" gives %q, salt "0" gives %q: both must hash the bare password`, empty, zero)
	}
	braces, _ := HashPassword("pw{}", "")
	if braces == empty {
		t.Fatal("unexpected collision")
	}
}

func TestHashPasswordErrors(t *testing.T) {
	for _, salt := range []string{"a{b", "}", "{x}"} {
		if _, err := HashPassword("p", salt); !errors.Is(err, ErrInvalidSalt) {
			t.Errorf("salt %q: err = %v, want ErrInvalidSalt", salt, err)
		}
		if err := CheckSecret(salt); !errors.Is(err, ErrInvalidSalt) {
			t.Errorf("CheckSecret(%q) = %v, want ErrInvalidSalt", salt, err)
		}
	}
	if err := CheckSecret("ThisTokenIsNotSoSecretChangeIt"); err != nil {
		t.Errorf("CheckSecret(good) = %v", err)
	}
	if _, err := HashPassword(strings.Repeat("a", 4096), "s"); err != nil {
		t.Errorf("4096 bytes: %v, want accepted", err)
	}
	if _, err := HashPassword(strings.Repeat("a", 4097), "s"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("4097 bytes: err = %v, want ErrPasswordTooLong", err)
	}
}

func TestHashPasswordMatchesSymfony(t *testing.T) {
	cases := []struct{ plain, salt string }{
		{"foo", "bar"},
		{"", "ThisTokenIsNotSoSecretChangeIt"},
		{"3f9a0c1d2e4b5a69|2025-01-02T03:04:05+00:00|ThisTokenIsNotSoSecretChangeIt", "ThisTokenIsNotSoSecretChangeIt"},
		{"pässwörd ✓ 日本語 🚀", "sèl"},
		{"pässwörd ✓", "sèl"},
		{"nonce|created|$2y$13$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUV", "secret with spaces and ;"},
		{"no salt", ""},
		{"zero salt", "0"},
		{"\x00\xff\xfe binary", "\x01"},
		{strings.Repeat("é", 2048), "s"}, // exactly 4096 bytes
		{strings.Repeat("a", 4097), "s"}, // too long: both refuse
		{"p", "a{b"},                     // bad salt: both refuse
	}
	type in struct {
		Plain string `json:"plain_b64"`
		Salt  string `json:"salt_b64"`
	}
	var input []in
	for _, c := range cases {
		input = append(input, in{base64.StdEncoding.EncodeToString([]byte(c.plain)), base64.StdEncoding.EncodeToString([]byte(c.salt))})
	}
	var out []struct{ Hash, Error string }
	runPHP(t, "hash", input, &out)
	if len(out) != len(cases) {
		t.Fatalf("php answered %d cases, want %d", len(out), len(cases))
	}
	for i, c := range cases {
		got, err := HashPassword(c.plain, c.salt)
		if out[i].Error != "" {
			if err == nil {
				t.Errorf("case %d: php refused (%s), Go hashed", i, out[i].Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d: Go: %v, php hashed %q", i, err, out[i].Hash)
			continue
		}
		if got != out[i].Hash {
			t.Errorf("case %d (%q, %q): Go %q, Symfony %q", i, c.plain, c.salt, got, out[i].Hash)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	plain := "3f9a0c1d2e4b5a69|2025-01-02T03:04:05+00:00|ThisTokenIsNotSoSecretChangeIt"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashPassword(plain, "ThisTokenIsNotSoSecretChangeIt"); err != nil {
			b.Fatal(err)
		}
	}
}
