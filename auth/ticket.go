package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// CreatedLayout is the layout of a ticket's Created field: PHP's date('c'),
// such as 2025-01-02T03:04:05+00:00, in the zone of the time formatted.
const CreatedLayout = "2006-01-02T15:04:05-07:00"

// Length bounds of a ticket, with a margin over what Oro mints. A ticket
// outside them is refused by [TicketVerifier.Verify] as
// [ReasonInvalidFormat] before its user is looked up or anything is
// hashed, so refusing it costs microseconds: the digest's cost grows with
// the text hashed (nonce|created|password, 5,000 times), and a forged
// ticket with a 4 KB nonce would otherwise cost ten real ones. Oro itself
// has no such bounds; it refuses the same tickets later (expired, user not
// found or invalid digest), and never mints one.
const (
	// DigestLength is the length of every digest: base64 of a SHA-512
	// hash. A digest of any other length can never match.
	DigestLength = 88
	// MaxUsernameLength is the longest username, in characters: Oro's
	// oro_user.username is varchar(255).
	MaxUsernameLength = 255
	// MaxNonceLength is the longest nonce, in bytes. Oro's nonce is
	// substr(md5(uniqid(...)), 0, 16): 16 hex characters.
	MaxNonceLength = 64
	// MaxCreatedLength is the longest Created field, in bytes. PHP's
	// date('c') is 25 characters; with a microsecond fraction 32.
	MaxCreatedLength = 40
	// MaxTicketLength is the longest ticket as it arrives (the base64 text
	// [ParseTicket] takes), in characters. Four fields at their bounds
	// (usernames of up to 1,020 bytes of UTF-8) encode to 1,620
	// characters; 2,048 caps the decoded ticket, ignored fifth field
	// included, at 1,536 bytes.
	MaxTicketLength = 2048
)

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
// It fails when the secret cannot be a salt (it contains "{" or "}"), when
// the username is longer than [MaxUsernameLength] characters (no verifier
// would take the ticket) or when the password is so long that the hashed
// text exceeds 4,096 bytes.
func NewTicket(secret, username, password string, now time.Time) (Ticket, error) {
	if utf8.RuneCountInString(username) > MaxUsernameLength {
		return Ticket{}, fmt.Errorf("mint ticket: username longer than %d characters", MaxUsernameLength)
	}
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
	return HashPassword(digestText(nonce, created, password), secret)
}

// digestText is the text a ticket's digest hashes.
func digestText(nonce, created, password string) string {
	return nonce + "|" + created + "|" + password
}

// checkLength refuses, as [ReasonInvalidFormat], an encoded ticket longer
// than [MaxTicketLength]; it runs before decoding.
func checkLength(encoded string) error {
	if len(encoded) > MaxTicketLength {
		return formatError(fmt.Sprintf("ticket longer than %d characters", MaxTicketLength))
	}
	return nil
}

// checkFields refuses, as [ReasonInvalidFormat], a ticket whose fields
// are outside the length bounds: tickets Oro never mints, or whose digest
// can never match.
func (t Ticket) checkFields() error {
	switch {
	case len(t.Digest) != DigestLength:
		return formatError(fmt.Sprintf("digest not %d characters", DigestLength))
	case len(t.Nonce) > MaxNonceLength:
		return formatError(fmt.Sprintf("nonce longer than %d bytes", MaxNonceLength))
	case len(t.Created) > MaxCreatedLength:
		return formatError(fmt.Sprintf("created longer than %d bytes", MaxCreatedLength))
	case len(t.Username) > MaxUsernameLength && utf8.RuneCountInString(t.Username) > MaxUsernameLength:
		return formatError(fmt.Sprintf("username longer than %d characters", MaxUsernameLength))
	}
	return nil
}

func formatError(detail string) error {
	return &TicketError{Reason: ReasonInvalidFormat, Detail: detail}
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
