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

// countedHash is HashPassword with a count of its calls, for
// TicketVerifier.hash.
func countedHash(calls *atomic.Int64) func(plain, salt string) (string, error) {
	return func(plain, salt string) (string, error) {
		calls.Add(1)
		return HashPassword(plain, salt)
	}
}

// signed returns tk with the digest the test secret and password give it.
func signed(t *testing.T, tk Ticket, password string) Ticket {
	t.Helper()
	d, err := ticketDigest(testSecret, tk.Nonce, tk.Created, password)
	if err != nil {
		t.Fatal(err)
	}
	tk.Digest = d
	return tk
}

// createdAtBound is t0 with a 14-digit fraction: MaxCreatedLength bytes.
const createdAtBound = "2025-01-02T03:04:05.12345678901234+00:00"

// TestVerifyLengthBounds checks every length bound at its limit, where the
// ticket still verifies (one lookup for a user ticket, one hash), and one
// past it, where it is refused as invalid format with neither.
func TestVerifyLengthBounds(t *testing.T) {
	created := t0.Format(CreatedLayout)
	if len(createdAtBound) != MaxCreatedLength {
		t.Fatalf("createdAtBound has %d bytes", len(createdAtBound))
	}
	longName := strings.Repeat("é", MaxUsernameLength) // 510 bytes: the bound is in characters
	tooLongName := longName + "é"
	users := map[string]*User{
		"alice":     alice,
		longName:    {ID: "10", Username: longName, PasswordHash: "h1"},
		tooLongName: {ID: "11", Username: tooLongName, PasswordHash: "h2"},
	}
	anon := func(nonce, created string) Ticket {
		return signed(t, Ticket{Nonce: nonce, Created: created}, testSecret)
	}
	user := func(name, nonce string) Ticket {
		return signed(t, Ticket{Username: name, Nonce: nonce, Created: created}, users[name].PasswordHash)
	}
	real := user("alice", "0123456789abcdef")
	// A ticket with an ignored fifth field, filled up to exactly
	// MaxTicketLength characters of base64 (3/4 of them decoded).
	fill := func(tk Ticket) string {
		raw := tk.Digest + ";" + tk.Username + ";" + tk.Nonce + ";" + tk.Created + ";"
		raw += strings.Repeat("x", MaxTicketLength/4*3-len(raw))
		return base64.StdEncoding.EncodeToString([]byte(raw))
	}
	withDigest := func(d string) Ticket { tk := real; tk.Digest = d; return tk }

	for _, c := range []struct {
		name   string
		enc    string
		user   bool   // a user ticket: looked up when within bounds
		detail string // "" when it verifies
	}{
		{"digest of 88", real.Encode(), true, ""},
		{"digest of 87", withDigest(real.Digest[:87]).Encode(), true, "digest not 88 characters"},
		{"digest of 89", withDigest(real.Digest + "A").Encode(), true, "digest not 88 characters"},
		{"no digest", withDigest("").Encode(), true, "digest not 88 characters"},
		{"nonce of 64", user("alice", strings.Repeat("f", MaxNonceLength)).Encode(), true, ""},
		{"nonce of 65", user("alice", strings.Repeat("f", MaxNonceLength+1)).Encode(), true, "nonce longer than 64 bytes"},
		{"anonymous nonce of 64", anon(strings.Repeat("f", MaxNonceLength), created).Encode(), false, ""},
		{"anonymous nonce of 65", anon(strings.Repeat("f", MaxNonceLength+1), created).Encode(), false, "nonce longer than 64 bytes"},
		{"created of 40", anon("0123456789abcdef", createdAtBound).Encode(), false, ""},
		{"created of 41", anon("0123456789abcdef", createdAtBound[:20]+"9"+createdAtBound[20:]).Encode(), false, "created longer than 40 bytes"},
		{"username of 255 characters", user(longName, "0123456789abcdef").Encode(), true, ""},
		{"username of 256 characters", user(tooLongName, "0123456789abcdef").Encode(), true, "username longer than 255 characters"},
		{"ticket of 2048 characters", fill(real), true, ""},
		// One more character the decoder skips: the same decoded ticket.
		{"ticket of 2049 characters", fill(real) + "=", true, "ticket longer than 2048 characters"},
		{"forged 4 KB nonce", forgedLongNonce().Encode(), true, "ticket longer than 2048 characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			provider := &mapUsers{users: users}
			var hashes atomic.Int64
			v := &TicketVerifier{Secret: testSecret, Users: provider, Now: func() time.Time { return t0 }, hash: countedHash(&hashes)}
			u, err := v.Verify(context.Background(), c.enc)
			if c.detail == "" {
				if err != nil {
					t.Fatalf("within bounds: %v", err)
				}
				wantLookups := int64(0)
				if c.user {
					wantLookups = 1
					if u == nil {
						t.Fatal("a user ticket verified as anonymous")
					}
				}
				if n := provider.calls.Load(); n != wantLookups {
					t.Fatalf("%d lookups, want %d", n, wantLookups)
				}
				if n := hashes.Load(); n != 1 {
					t.Fatalf("%d hashes, want 1", n)
				}
				return
			}
			wantReason(t, err, ReasonInvalidFormat)
			var te *TicketError
			errors.As(err, &te)
			if te.Detail != c.detail {
				t.Fatalf("detail %q, want %q", te.Detail, c.detail)
			}
			if want := "Authentication ticket has invalid format: " + c.detail; err.Error() != want {
				t.Fatalf("message %q, want %q", err.Error(), want)
			}
			if te.Username != "" || te.Created != "" {
				t.Fatalf("a refusal by length carries ticket text: %+v", te)
			}
			if n := provider.calls.Load(); n != 0 {
				t.Fatalf("%d lookups for a ticket past a bound", n)
			}
			if n := hashes.Load(); n != 0 {
				t.Fatalf("%d hashes for a ticket past a bound", n)
			}
		})
	}
}

// TestVerifyLongNonceUnderTicketBound: a forged user ticket whose nonce is
// past its bound while the whole ticket is short enough reaches neither the
// provider nor the hash.
func TestVerifyLongNonceUnderTicketBound(t *testing.T) {
	tk := forgedLongNonce()
	tk.Nonce = tk.Nonce[:1000]
	enc := tk.Encode()
	if len(enc) > MaxTicketLength {
		t.Fatalf("ticket of %d characters: the test wants it under the ticket bound", len(enc))
	}
	provider := testUsers()
	var hashes atomic.Int64
	v := &TicketVerifier{Secret: testSecret, Users: provider, Now: func() time.Time { return t0 }, hash: countedHash(&hashes)}
	_, err := v.Verify(context.Background(), enc)
	wantReason(t, err, ReasonInvalidFormat)
	if strings.Contains(err.Error(), tk.Nonce[:16]) {
		t.Fatalf("the message %q quotes the nonce", err)
	}
	if provider.calls.Load() != 0 || hashes.Load() != 0 {
		t.Fatalf("lookups %d, hashes %d; want none", provider.calls.Load(), hashes.Load())
	}
	// The same ticket with a nonce at the bound is looked up and hashed
	// (and refused: its digest is made up).
	tk.Nonce = tk.Nonce[:MaxNonceLength]
	_, err = v.Verify(context.Background(), tk.Encode())
	wantReason(t, err, ReasonInvalidDigest)
	if provider.calls.Load() != 1 || hashes.Load() != 1 {
		t.Fatalf("lookups %d, hashes %d; want 1 and 1", provider.calls.Load(), hashes.Load())
	}
}

// TestNewTicketRefusesLongUsername: herald never mints a ticket its
// verifier refuses by length.
func TestNewTicketRefusesLongUsername(t *testing.T) {
	name := strings.Repeat("ü", MaxUsernameLength)
	if _, err := NewTicket(testSecret, name, "h", t0); err != nil {
		t.Fatalf("username of %d characters: %v", MaxUsernameLength, err)
	}
	_, err := NewTicket(testSecret, name+"ü", "h", t0)
	if err == nil || !strings.Contains(err.Error(), "username longer than 255 characters") {
		t.Fatalf("username of %d characters: %v", MaxUsernameLength+1, err)
	}
	if enc := MintTicket(testSecret, name+"ü", "h", t0); enc != "" {
		t.Fatalf("minted %q", enc)
	}
}

// TestMintedTicketsAreWithinBounds: what NewTicket mints passes every
// length bound, whatever its zone.
func TestMintedTicketsAreWithinBounds(t *testing.T) {
	for _, zone := range []*time.Location{time.UTC, time.FixedZone("", -(9*3600 + 30*60)), time.FixedZone("", 14*3600)} {
		tk, err := NewTicket(testSecret, strings.Repeat("a", MaxUsernameLength), "hash", time.Now().In(zone))
		if err != nil {
			t.Fatal(err)
		}
		if err := tk.checkFields(); err != nil {
			t.Fatalf("minted %+v: %v", tk, err)
		}
		if err := checkLength(tk.Encode()); err != nil {
			t.Fatalf("minted %+v: %v", tk, err)
		}
	}
}
