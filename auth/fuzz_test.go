package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func FuzzParseTicket(f *testing.F) {
	f.Add(Ticket{"d", "alice", "0123456789abcdef", "2025-01-02T03:04:05+00:00"}.Encode())
	f.Add(b64(";;;"))
	f.Add(b64("a;b"))
	f.Add("QQ=%=QQ")
	f.Add("")
	f.Fuzz(func(t *testing.T, enc string) {
		tk, err := ParseTicket(enc)
		raw := string(phpBase64Decode(enc))
		if err != nil {
			if strings.Count(raw, ";") >= 3 {
				t.Fatalf("%q decodes to %q with 3+ ';' but was refused", enc, raw)
			}
			return
		}
		if !strings.HasPrefix(raw, tk.Digest+";"+tk.Username+";"+tk.Nonce+";"+tk.Created) {
			t.Fatalf("fields %+v are not a prefix of %q", tk, raw)
		}
		// Fields without ";" survive Encode and ParseTicket.
		again, err := ParseTicket(tk.Encode())
		if err != nil || (strings.Count(raw, ";") == 3 && again != tk) {
			t.Fatalf("re-encode of %+v: %+v, %v", tk, again, err)
		}
	})
}

// FuzzPHPBase64Decode: on canonical base64 PHP's lenient decoder agrees
// with the standard one, and junk outside the alphabet never changes it.
func FuzzPHPBase64Decode(f *testing.F) {
	f.Add([]byte("hello;world"), " \n-_!")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, data []byte, junk string) {
		enc := base64.StdEncoding.EncodeToString(data)
		if got := phpBase64Decode(enc); string(got) != string(data) {
			t.Fatalf("decode(%q) = %x, want %x", enc, got, data)
		}
		var clean strings.Builder
		for i := 0; i < len(junk); i++ {
			if b64Value(junk[i]) < 0 {
				clean.WriteByte(junk[i])
			}
		}
		mid := len(enc) / 2
		dirty := clean.String() + enc[:mid] + clean.String() + enc[mid:] + clean.String()
		if got := phpBase64Decode(dirty); string(got) != string(data) {
			t.Fatalf("decode(%q) = %x, want %x", dirty, got, data)
		}
	})
}

func FuzzTicketFromQuery(f *testing.F) {
	f.Add("ticket=a+b%2B&x[]=1")
	f.Add("ticket[=1&ticket")
	f.Fuzz(func(t *testing.T, q string) {
		got := TicketFromQuery(q)
		if !strings.Contains(q, "ticket") && !strings.Contains(q, "%") && got != "" {
			t.Fatalf("TicketFromQuery(%q) = %q without a ticket parameter", q, got)
		}
	})
}

// FuzzVerifyLengthBounds: whatever arrives, the verifier never hashes more
// than a nonce and a Created at their bounds around the password, and a
// ticket refused by a length bound is neither looked up nor hashed.
func FuzzVerifyLengthBounds(f *testing.F) {
	f.Add(MintTicket(testSecret, "alice", alice.PasswordHash, t0))
	f.Add(MintAnonymousTicket(testSecret, t0))
	f.Add(forgedLongNonce().Encode())
	f.Add(b64(strings.Repeat("A", 88) + ";alice;" + strings.Repeat("0", 65) + ";2025-01-02T03:04:05+00:00"))
	f.Fuzz(func(t *testing.T, enc string) {
		provider := testUsers()
		var hashes atomic.Int64
		var longest atomic.Int64
		hash := func(plain, salt string) (string, error) {
			hashes.Add(1)
			longest.Store(max(longest.Load(), int64(len(plain))))
			return HashPassword(plain, salt)
		}
		v := &TicketVerifier{Secret: testSecret, Users: provider, Now: func() time.Time { return t0 }, hash: hash}
		_, err := v.Verify(context.Background(), enc)
		password := max(len(testSecret), len(alice.PasswordHash), len(bob.PasswordHash))
		if n := longest.Load(); n > int64(MaxNonceLength+MaxCreatedLength+2+password) {
			t.Fatalf("hashed %d bytes for %q", n, enc)
		}
		var te *TicketError
		if errors.As(err, &te) && te.Detail != "" && (hashes.Load() != 0 || provider.calls.Load() != 0) {
			t.Fatalf("refused (%v) after %d hashes and %d lookups", err, hashes.Load(), provider.calls.Load())
		}
	})
}
