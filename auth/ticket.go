package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// CreatedLayout is the layout of a ticket's Created field: PHP's date('c'),
// such as 2025-01-02T03:04:05+00:00, in the zone of the time formatted.
const CreatedLayout = "2006-01-02T15:04:05-07:00"

// Ticket is a decoded Oro Sync ticket: base64 of
// Digest + ";" + Username + ";" + Nonce + ";" + Created.
type Ticket struct {
	// Digest is HashPassword(Nonce+"|"+Created+"|"+password, secret),
	// 88 base64 characters; Oro also calls it the ticket id.
	Digest string
	// Username is the user's identifier, "" for an anonymous ticket.
	Username string
	// Nonce is 16 lowercase hex characters in tickets that Oro mints.
	Nonce string
	// Created is when the ticket was minted, in CreatedLayout.
	Created string
}

// ParseTicket decodes an Oro ticket as it arrives in the URL (after
// [TicketFromQuery]) the way Oro's WebsocketAuthenticationByTicketProvider
// does: PHP's non-strict base64_decode, which skips every character outside
// the base64 alphabet ("=", spaces, "-" and "_" included) instead of failing,
// then at least three ";" are required, then the first four ";"-separated
// fields are taken as PHP's explode and list() take them (a fifth field and
// anything after it are ignored).
//
// The error is a [*TicketError] with reason [ReasonInvalidFormat].
func ParseTicket(encoded string) (Ticket, error) {
	raw := string(phpBase64Decode(encoded))
	// Oro: empty($ticket) || substr_count($ticket, ';') < 3
	if strings.Count(raw, ";") < 3 {
		return Ticket{}, &TicketError{Reason: ReasonInvalidFormat}
	}
	f := strings.SplitN(raw, ";", 5)
	return Ticket{Digest: f[0], Username: f[1], Nonce: f[2], Created: f[3]}, nil
}

// Encode returns the ticket as Oro hands it out: standard base64 (with
// padding) of the four fields joined by ";". Put it in a URL with
// url.QueryEscape: a bare "+" would reach the server as a space.
func (t Ticket) Encode() string {
	return base64.StdEncoding.EncodeToString(
		[]byte(t.Digest + ";" + t.Username + ";" + t.Nonce + ";" + t.Created))
}

// IsAnonymous reports whether Oro treats the ticket as anonymous: its
// username is falsy in PHP, that is "" or "0". Such a ticket is checked
// against the application secret, never against a user.
func (t Ticket) IsAnonymous() bool { return t.Username == "" || t.Username == "0" }

// NewTicket mints a ticket as Oro's TicketProvider::generateTicket does:
// Created is now in [CreatedLayout] (in now's zone), Nonce is 16 random hex
// characters, and the digest is
// HashPassword(Nonce+"|"+Created+"|"+password, secret).
//
// For an anonymous ticket pass username "" and the secret as password; for a
// user ticket pass the user's identifier and the password hash stored for
// that user (what the UserProvider returns as PasswordHash), never the
// user's plain password.
//
// It fails when the secret cannot be a salt (it contains "{" or "}") or when
// the password is so long that the hashed text exceeds 4,096 bytes.
func NewTicket(secret, username, password string, now time.Time) (Ticket, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Ticket{}, fmt.Errorf("mint ticket: nonce: %w", err)
	}
	t := Ticket{
		Username: username,
		Nonce:    hex.EncodeToString(b[:]),
		Created:  now.Format(CreatedLayout),
	}
	d, err := ticketDigest(secret, t.Nonce, t.Created, password)
	if err != nil {
		return Ticket{}, fmt.Errorf("mint ticket for %q: %w", username, err)
	}
	t.Digest = d
	return t, nil
}

// MintTicket is [NewTicket] followed by [Ticket.Encode]: the string Oro's
// TicketProvider::generateTicket would return. Anonymous tickets take
// username "" and password = secret.
//
// It returns "" when NewTicket fails (a secret with "{" or "}", see
// [CheckSecret], or an over-long password); a server refuses "" as a ticket
// of invalid format. Call NewTicket to see the error.
func MintTicket(secret, username, password string, now time.Time) string {
	t, err := NewTicket(secret, username, password, now)
	if err != nil {
		return ""
	}
	return t.Encode()
}

// MintAnonymousTicket mints an anonymous ticket, as Oro's backend client
// does for itself: MintTicket(secret, "", secret, now).
func MintAnonymousTicket(secret string, now time.Time) string {
	return MintTicket(secret, "", secret, now)
}

// ticketDigest is Oro's TicketDigestGenerator::generateDigest.
func ticketDigest(secret, nonce, created, password string) (string, error) {
	return HashPassword(nonce+"|"+created+"|"+password, secret)
}

// parseCreated parses a ticket's Created field as PHP's strtotime parses
// date('c') output and returns Unix seconds: YYYY-MM-DD, "T" (or "t" or a
// space), hh:mm:ss, an optional fraction (dropped, as strtotime drops it),
// and a zone: "Z", "+hh:mm", "+hhmm", "+hh" or none (UTC). ok is false for
// anything else; Oro's strtotime then returns false, which PHP's arithmetic
// takes as 0 (the Unix epoch).
func parseCreated(s string) (int64, bool) {
	if len(s) < 19 {
		return 0, false
	}
	date, rest := s[:10], s[11:]
	switch s[10] {
	case 'T', 't', ' ':
	default:
		return 0, false
	}
	clock := rest[:8]
	rest = rest[8:]
	if rest != "" && rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return 0, false
		}
		rest = rest[i:]
	}
	var zone string
	switch {
	case rest == "", rest == "Z", rest == "z":
		zone = "+00:00"
	case len(rest) == 6 && rest[3] == ':':
		zone = rest
	case len(rest) == 5:
		zone = rest[:3] + ":" + rest[3:]
	case len(rest) == 3:
		zone = rest + ":00"
	default:
		return 0, false
	}
	t, err := time.Parse(CreatedLayout, date+"T"+clock+zone)
	if err != nil {
		return 0, false
	}
	return t.Unix(), true
}
