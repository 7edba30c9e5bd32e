package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Reasons a ticket is refused, as [TicketError.Reason].
const (
	// ReasonInvalidFormat: no ticket, fewer than three ";" once decoded,
	// or a ticket outside the length bounds ([MaxTicketLength],
	// [DigestLength], [MaxNonceLength], [MaxCreatedLength],
	// [MaxUsernameLength]; TicketError.Detail says which).
	ReasonInvalidFormat = "invalid format"
	// ReasonExpired: created more than TTL ago, or Created unreadable
	// (Oro's strtotime returns false, which counts as the Unix epoch).
	ReasonExpired = "expired"
	// ReasonFuture: created more than FutureTolerance ahead of now.
	ReasonFuture = "created in the future"
	// ReasonUserNotFound: the ticket names a user the provider does not know.
	ReasonUserNotFound = "user not found"
	// ReasonInvalidDigest: the digest does not match the secret, the
	// ticket's fields and the password.
	ReasonInvalidDigest = "invalid digest"
	// ReasonReplayed: the ticket was already used (only with a NonceCache;
	// Oro itself never refuses a replay).
	ReasonReplayed = "replayed"
)

// TicketError is a refused ticket. Its Error text follows the wording of
// Oro's BadCredentialsException messages, without the ticket digest, which
// stays a valid credential until the ticket expires and so is kept out of
// logs. Tell the client no more than that authentication failed.
type TicketError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Username is the ticket's username ("" when anonymous or unknown).
	Username string
	// Created is the ticket's Created field, as sent.
	Created string
	// Detail says which length bound a ticket refused as
	// ReasonInvalidFormat broke, such as "nonce longer than 64 bytes"; it
	// is "" for a ticket without three ";". It holds no ticket text.
	Detail string
}

// Error implements error.
func (e *TicketError) Error() string {
	switch e.Reason {
	case ReasonInvalidFormat:
		if e.Detail != "" {
			return "Authentication ticket has invalid format: " + e.Detail
		}
		return "Authentication ticket has invalid format"
	case ReasonExpired:
		return fmt.Sprintf("Ticket for %q is expired", e.Username)
	case ReasonFuture:
		return fmt.Sprintf("Ticket for %q is not valid, because token creation date %q is in future", e.Username, e.Created)
	case ReasonUserNotFound:
		return fmt.Sprintf("Ticket for %q is not valid - user was not found.", e.Username)
	case ReasonInvalidDigest:
		return fmt.Sprintf("Ticket for %q is not valid - invalid digest.", e.Username)
	case ReasonReplayed:
		return fmt.Sprintf("Ticket for %q is not valid - already used.", e.Username)
	}
	return fmt.Sprintf("Ticket for %q is not valid - %s.", e.Username, e.Reason)
}

// Default ticket lifetimes (Oro's oro_sync ticket_ttl and its tolerance for
// clocks ahead).
const (
	DefaultTicketTTL       = 300 * time.Second
	DefaultFutureTolerance = 30 * time.Second
)

// TicketVerifier checks Oro Sync tickets exactly as Oro's
// WebsocketAuthenticationByTicketProvider does, in the same order: format,
// creation time, user, digest; then, optionally, replay. To the format
// check it adds length bounds (see [MaxTicketLength]) that only tickets
// Oro never mints, or that can never match, break: those are refused
// before any user lookup or hashing.
//
// Times are compared in whole seconds, as PHP's strtotime gives them: a
// ticket is expired when now - created > TTL and from the future when
// created - now > FutureTolerance, so exactly 300 s old or 30 s ahead still
// passes.
//
// A TicketVerifier must not be changed once in use; Verify is safe for
// concurrent use. Each Verify of a well-formed ticket costs one
// [HashPassword] (5,000 SHA-512 rounds) and, for user tickets, one user
// lookup: put a [CachedUsers] in front of a slow provider.
type TicketVerifier struct {
	// Secret is the application secret (Oro's kernel.secret): the digest's
	// salt and the password of anonymous tickets.
	Secret string
	// TTL is how long a ticket lives after its creation. Zero means 300 s.
	TTL time.Duration
	// FutureTolerance is how far ahead of this server's clock a ticket's
	// creation time may be. Zero means 30 s; a negative value means none
	// (Oro 3.1's behaviour).
	FutureTolerance time.Duration
	// Users looks up the users of user tickets. Nil refuses every user
	// ticket as "user not found"; anonymous tickets still verify.
	Users UserProvider
	// Nonces, when set, makes tickets one-time: a ticket that verifies is
	// refused the next time as replayed. Its retention should be at least
	// TTL + FutureTolerance (see NewNonceCache). Nil accepts a ticket again
	// and again until it expires, as Oro does.
	Nonces *NonceCache
	// Now is the clock. Nil means time.Now.
	Now func() time.Time

	// hash is HashPassword, or what a test counts it with.
	hash func(plain, salt string) (string, error)
}

func (v *TicketVerifier) ttl() time.Duration {
	if v.TTL == 0 {
		return DefaultTicketTTL
	}
	return v.TTL
}

func (v *TicketVerifier) tolerance() time.Duration {
	switch {
	case v.FutureTolerance == 0:
		return DefaultFutureTolerance
	case v.FutureTolerance < 0:
		return 0
	}
	return v.FutureTolerance
}

// digest is the digest t must carry: ticketDigest, through v.hash.
func (v *TicketVerifier) digest(t Ticket, password string) (string, error) {
	hash := v.hash
	if hash == nil {
		hash = HashPassword
	}
	return hash(digestText(t.Nonce, t.Created, password), v.Secret)
}

func (v *TicketVerifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Verify checks encoded, the ticket parameter as [TicketFromQuery] returns
// it. It returns the ticket's user, or nil for a valid anonymous ticket.
//
// A refused ticket gives a [*TicketError]; a failing user lookup gives that
// error, wrapped, which is not a verdict on the ticket.
func (v *TicketVerifier) Verify(ctx context.Context, encoded string) (*User, error) {
	if err := checkLength(encoded); err != nil {
		return nil, err
	}
	t, err := ParseTicket(encoded)
	if err != nil {
		return nil, err
	}
	if err := t.checkFields(); err != nil {
		return nil, err
	}
	fail := func(reason string) error {
		return &TicketError{Reason: reason, Username: t.Username, Created: t.Created}
	}

	now := v.now().Unix()
	created, ok := parseCreated(t.Created)
	if !ok {
		created = 0
	}
	if created > now && time.Duration(created-now)*time.Second > v.tolerance() {
		return nil, fail(ReasonFuture)
	}
	if time.Duration(now-created)*time.Second > v.ttl() {
		return nil, fail(ReasonExpired)
	}

	var user *User
	password := v.Secret
	if !t.IsAnonymous() {
		if v.Users == nil {
			return nil, fail(ReasonUserNotFound)
		}
		user, err = v.Users.LookupUser(ctx, t.Username)
		switch {
		case errors.Is(err, ErrUserNotFound), err == nil && user == nil:
			return nil, fail(ReasonUserNotFound)
		case err != nil:
			return nil, fmt.Errorf("verify ticket for %q: look up user: %w", t.Username, err)
		}
		password = user.PasswordHash
	}

	expected, err := v.digest(t, password)
	if err != nil {
		// A secret with braces or an over-long field: Oro throws here too,
		// and no digest can match.
		return nil, fail(ReasonInvalidDigest)
	}
	if subtle.ConstantTimeCompare([]byte(t.Digest), []byte(expected)) != 1 {
		return nil, fail(ReasonInvalidDigest)
	}

	if v.Nonces != nil && !v.Nonces.Use(t.Nonce+"|"+t.Created, v.now()) {
		return nil, fail(ReasonReplayed)
	}
	return user, nil
}
