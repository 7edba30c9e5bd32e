package auth

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkVerifyRealTicket verifies a valid user ticket: one user lookup
// (an in-memory provider) and one HashPassword.
func BenchmarkVerifyRealTicket(b *testing.B) {
	v := verifierAt(t0)
	enc := MintTicket(testSecret, "alice", alice.PasswordHash, t0)
	for b.Loop() {
		if _, err := v.Verify(context.Background(), enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyForgedLongNonce verifies a forged user ticket for a real
// user, fresh, with an 88-character digest and a long nonce: 4,000 bytes,
// the ticket that hashed would cost about ten real ones (refused by
// MaxTicketLength before decoding), and 1,000 bytes (decoded, then refused
// by MaxNonceLength).
func BenchmarkVerifyForgedLongNonce(b *testing.B) {
	for _, n := range []int{4000, 1000} {
		b.Run(fmt.Sprintf("nonce=%d", n), func(b *testing.B) {
			v := verifierAt(t0)
			tk := forgedLongNonce()
			tk.Nonce = tk.Nonce[:n]
			enc := tk.Encode()
			for b.Loop() {
				_, err := v.Verify(context.Background(), enc)
				if err == nil {
					b.Fatal("forged ticket accepted")
				}
			}
		})
	}
}

// forgedLongNonce is a user ticket for alice, created at t0, whose nonce
// is 4,000 hex characters and whose digest has the right length but was
// made up.
func forgedLongNonce() Ticket {
	return Ticket{
		Digest:   strings.Repeat("A", 86) + "==",
		Username: "alice",
		Nonce:    strings.Repeat("0123456789abcdef", 250),
		Created:  t0.Format(CreatedLayout),
	}
}
