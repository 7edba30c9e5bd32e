package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "ThisTokenIsNotSoSecretChangeIt"

// mapUsers is a UserProvider over a map, counting lookups.
type mapUsers struct {
	users map[string]*User
	calls atomic.Int64
	err   error
}

func (m *mapUsers) LookupUser(_ context.Context, username string) (*User, error) {
	m.calls.Add(1)
	if m.err != nil {
		return nil, m.err
	}
	if u, ok := m.users[username]; ok {
		return u.clone(), nil
	}
	return nil, fmt.Errorf("lookup %q: %w", username, ErrUserNotFound)
}

var alice = &User{ID: "7", Username: "alice", PasswordHash: "$2y$13$aliceStoredBcryptHashxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Roles: []string{"ROLE_USER"}}
var bob = &User{ID: "8", Username: "bob", PasswordHash: "$2y$13$bobStoredBcryptHashxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}

func testUsers() *mapUsers {
	return &mapUsers{users: map[string]*User{"alice": alice, "bob": bob}}
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func verifierAt(now time.Time) *TicketVerifier {
	return &TicketVerifier{Secret: testSecret, Users: testUsers(), Now: func() time.Time { return now }}
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var te *TicketError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TicketError %q", err, reason)
	}
	if te.Reason != reason {
		t.Fatalf("reason %q (%v), want %q", te.Reason, err, reason)
	}
}

func TestVerifyAnonymous(t *testing.T) {
	u, err := verifierAt(t0).Verify(context.Background(), MintAnonymousTicket(testSecret, t0))
	if err != nil || u != nil {
		t.Fatalf("anonymous: user %v, err %v; want nil, nil", u, err)
	}
}

func TestVerifyUser(t *testing.T) {
	v := verifierAt(t0)
	u, err := v.Verify(context.Background(), MintTicket(testSecret, "alice", alice.PasswordHash, t0))
	if err != nil {
		t.Fatal(err)
	}
	if u == nil || u.ID != "7" || u.Username != "alice" || len(u.Roles) != 1 || u.Roles[0] != "ROLE_USER" {
		t.Fatalf("user %+v", u)
	}
	// Signed with the plain password (or anything but the stored hash): refused.
	_, err = v.Verify(context.Background(), MintTicket(testSecret, "alice", "plain-password", t0))
	wantReason(t, err, ReasonInvalidDigest)
}

func TestVerifyExpiry(t *testing.T) {
	enc := MintAnonymousTicket(testSecret, t0)
	for _, c := range []struct {
		age    time.Duration
		reason string
	}{{0, ""}, {299 * time.Second, ""}, {300 * time.Second, ""}, {300*time.Second + 999*time.Millisecond, ""}, {301 * time.Second, ReasonExpired}, {time.Hour, ReasonExpired}} {
		_, err := verifierAt(t0.Add(c.age)).Verify(context.Background(), enc)
		if c.reason == "" {
			if err != nil {
				t.Errorf("age %v: %v, want accepted", c.age, err)
			}
			continue
		}
		var te *TicketError
		if !errors.As(err, &te) || te.Reason != c.reason {
			t.Errorf("age %v: %v, want %s", c.age, err, c.reason)
		}
	}
	v := verifierAt(t0.Add(11 * time.Second))
	v.TTL = 10 * time.Second
	_, err := v.Verify(context.Background(), enc)
	wantReason(t, err, ReasonExpired)
}

func TestVerifyFutureTolerance(t *testing.T) {
	v := verifierAt(t0)
	for _, c := range []struct {
		ahead  time.Duration
		reason string
	}{{29 * time.Second, ""}, {30 * time.Second, ""}, {31 * time.Second, ReasonFuture}, {time.Hour, ReasonFuture}} {
		_, err := v.Verify(context.Background(), MintAnonymousTicket(testSecret, t0.Add(c.ahead)))
		if c.reason == "" {
			if err != nil {
				t.Errorf("%v ahead: %v, want accepted", c.ahead, err)
			}
			continue
		}
		var te *TicketError
		if !errors.As(err, &te) || te.Reason != c.reason {
			t.Errorf("%v ahead: %v, want %s", c.ahead, err, c.reason)
		}
	}
	v.FutureTolerance = -1 // Oro 3.1: no tolerance
	_, err := v.Verify(context.Background(), MintAnonymousTicket(testSecret, t0.Add(time.Second)))
	wantReason(t, err, ReasonFuture)
	v.FutureTolerance = time.Minute
	if _, err := v.Verify(context.Background(), MintAnonymousTicket(testSecret, t0.Add(59*time.Second))); err != nil {
		t.Fatalf("59 s ahead with 1 min tolerance: %v", err)
	}
}

func TestVerifyCreatedForms(t *testing.T) {
	v := verifierAt(t0)
	for _, created := range []string{"2025-01-02T03:04:05Z", "2025-01-02T04:04:05+0100", "2025-01-01T22:04:05-05:00"} {
		tk := anonTicketCreated(t, created)
		if _, err := v.Verify(context.Background(), tk.Encode()); err != nil {
			t.Errorf("created %q: %v", created, err)
		}
	}
	// Unreadable: Oro's strtotime gives false, i.e. 1970: expired.
	_, err := v.Verify(context.Background(), anonTicketCreated(t, "soon").Encode())
	wantReason(t, err, ReasonExpired)
}

func anonTicketCreated(t *testing.T, created string) Ticket {
	t.Helper()
	tk := Ticket{Nonce: "0123456789abcdef", Created: created}
	d, err := ticketDigest(testSecret, tk.Nonce, tk.Created, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	tk.Digest = d
	return tk
}

func TestVerifyWrongSecret(t *testing.T) {
	v := verifierAt(t0)
	_, err := v.Verify(context.Background(), MintAnonymousTicket("another-secret", t0))
	wantReason(t, err, ReasonInvalidDigest)
	_, err = v.Verify(context.Background(), MintTicket("another-secret", "alice", alice.PasswordHash, t0))
	wantReason(t, err, ReasonInvalidDigest)
}

func TestVerifyTampered(t *testing.T) {
	v := verifierAt(t0)
	tk, err := NewTicket(testSecret, "alice", alice.PasswordHash, t0)
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Ticket){
		"username to bob": func(x *Ticket) { x.Username = "bob" },
		"anonymous":       func(x *Ticket) { x.Username = "" },
		"nonce":           func(x *Ticket) { x.Nonce = "ffffffffffffffff" },
		"created":         func(x *Ticket) { x.Created = "2025-01-02T03:04:06+00:00" },
		"digest":          func(x *Ticket) { x.Digest = x.Digest[:80] + "AAAAAAA=" },
	} {
		x := tk
		mutate(&x)
		_, err := v.Verify(context.Background(), x.Encode())
		wantReason(t, err, ReasonInvalidDigest)
		_ = name
	}
	x := tk
	x.Username = "mallory"
	_, err = v.Verify(context.Background(), x.Encode())
	wantReason(t, err, ReasonUserNotFound)
}

func TestVerifyUserNotFound(t *testing.T) {
	users := testUsers()
	v := &TicketVerifier{Secret: testSecret, Users: users, Now: func() time.Time { return t0 }}
	_, err := v.Verify(context.Background(), MintTicket(testSecret, "ghost", "whatever", t0))
	wantReason(t, err, ReasonUserNotFound)
	if users.calls.Load() != 1 {
		t.Fatalf("lookups %d, want 1", users.calls.Load())
	}
	if want := `Ticket for "ghost" is not valid - user was not found.`; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	// Expired tickets are refused before any lookup, as Oro does.
	v.Now = func() time.Time { return t0.Add(time.Hour) }
	_, err = v.Verify(context.Background(), MintTicket(testSecret, "ghost", "whatever", t0))
	wantReason(t, err, ReasonExpired)
	if users.calls.Load() != 1 {
		t.Fatalf("lookup made for an expired ticket")
	}
	// No provider at all.
	v = &TicketVerifier{Secret: testSecret, Now: func() time.Time { return t0 }}
	_, err = v.Verify(context.Background(), MintTicket(testSecret, "alice", alice.PasswordHash, t0))
	wantReason(t, err, ReasonUserNotFound)
}

func TestVerifyProviderFailureIsNotATicketVerdict(t *testing.T) {
	boom := errors.New("database down")
	v := &TicketVerifier{Secret: testSecret, Users: &mapUsers{err: boom}, Now: func() time.Time { return t0 }}
	_, err := v.Verify(context.Background(), MintTicket(testSecret, "alice", alice.PasswordHash, t0))
	var te *TicketError
	if errors.As(err, &te) || !errors.Is(err, boom) {
		t.Fatalf("err = %v: want the provider's error wrapped, not a TicketError", err)
	}
}

func TestVerifyUsernameZeroIsAnonymous(t *testing.T) {
	// PHP: if (!$username) treats "0" as no user, so the secret is the password.
	tk := anonTicketCreated(t, t0.Format(CreatedLayout))
	tk.Username = "0"
	u, err := verifierAt(t0).Verify(context.Background(), tk.Encode())
	if err != nil || u != nil {
		t.Fatalf(`username "0": %v, %v; want anonymous`, u, err)
	}
}

func TestVerifyReplay(t *testing.T) {
	enc := MintTicket(testSecret, "alice", alice.PasswordHash, t0)
	// Without a nonce cache a ticket is reusable, as in Oro.
	v := verifierAt(t0)
	for i := range 3 {
		if _, err := v.Verify(context.Background(), enc); err != nil {
			t.Fatalf("use %d without nonce cache: %v", i, err)
		}
	}
	v.Nonces = NewNonceCache(10, 0)
	if _, err := v.Verify(context.Background(), enc); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err := v.Verify(context.Background(), enc)
	wantReason(t, err, ReasonReplayed)
	// Another ticket still passes; a refused ticket burns no nonce.
	if _, err := v.Verify(context.Background(), MintAnonymousTicket(testSecret, t0)); err != nil {
		t.Fatalf("fresh ticket: %v", err)
	}
	bad := MintAnonymousTicket("wrong", t0)
	_, err = v.Verify(context.Background(), bad)
	wantReason(t, err, ReasonInvalidDigest)
	if v.Nonces.Len() != 2 {
		t.Fatalf("nonce cache holds %d, want 2", v.Nonces.Len())
	}
}

func TestVerifyInvalidFormat(t *testing.T) {
	v := verifierAt(t0)
	for _, enc := range []string{"", "bm9wZQ==", b64("a;b")} {
		_, err := v.Verify(context.Background(), enc)
		wantReason(t, err, ReasonInvalidFormat)
	}
	// A ticket whose "+" reached the server unescaped, as a space: garbage.
	// Tickets of ASCII text never contain "+" or "/" in base64 unless the
	// text has "~", ">", "?" or bytes >= 0x80 at the right place: the user
	// "~zoë" (its "~" is the third byte of a base64 group) does.
	v.Users = &mapUsers{users: map[string]*User{"~zoë": {ID: "9", Username: "~zoë", PasswordHash: "h"}}}
	enc := MintTicket(testSecret, "~zoë", "h", t0)
	if !strings.Contains(enc, "+") {
		t.Fatalf("ticket %q has no +", enc)
	}
	if _, err := v.Verify(context.Background(), TicketFromQuery("ticket="+enc)); err == nil {
		t.Fatal("ticket with unescaped + accepted")
	}
	if _, err := v.Verify(context.Background(), TicketFromQuery("ticket="+url.QueryEscape(enc))); err != nil {
		t.Fatalf("escaped ticket: %v", err)
	}
}

// TestASCIITicketsHaveNoPlus documents why Oro's "+" problem is rare: the
// base64 of ASCII text without "~", ">", "?" and DEL has no "+" or "/".
func TestASCIITicketsHaveNoPlus(t *testing.T) {
	for range 50 {
		if enc := MintTicket(testSecret, "alice", alice.PasswordHash, t0); strings.ContainsAny(enc, "+/") {
			t.Fatalf("ticket %q has + or /", enc)
		}
	}
}

func TestTicketErrorMessages(t *testing.T) {
	for reason, want := range map[string]string{
		ReasonInvalidFormat: "Authentication ticket has invalid format",
		ReasonExpired:       `Ticket for "u" is expired`,
		ReasonFuture:        `Ticket for "u" is not valid, because token creation date "c" is in future`,
		ReasonInvalidDigest: `Ticket for "u" is not valid - invalid digest.`,
		ReasonReplayed:      `Ticket for "u" is not valid - already used.`,
	} {
		if got := (&TicketError{Reason: reason, Username: "u", Created: "c"}).Error(); got != want {
			t.Errorf("%s: %q, want %q", reason, got, want)
		}
	}
	te := &TicketError{Reason: ReasonInvalidFormat, Detail: "nonce longer than 64 bytes"}
	if got, want := te.Error(), "Authentication ticket has invalid format: nonce longer than 64 bytes"; got != want {
		t.Errorf("with a detail: %q, want %q", got, want)
	}
}

// TestPHPMintedTicketsVerify: tickets minted by a PHP re-implementation of
// Oro's TicketProvider with the real Symfony hasher pass the Go verifier.
func TestPHPMintedTicketsVerify(t *testing.T) {
	type mint struct {
		Secret   string  `json:"secret"`
		Username *string `json:"username,omitempty"`
		Password string  `json:"password,omitempty"`
		TZ       string  `json:"tz,omitempty"`
		Skew     int     `json:"skew,omitempty"`
	}
	str := func(s string) *string { return &s }
	in := []mint{
		{Secret: testSecret},
		{Secret: testSecret, Username: str("alice"), Password: alice.PasswordHash},
		{Secret: testSecret, Username: str("bob"), Password: bob.PasswordHash, TZ: "Asia/Kolkata"},
		{Secret: testSecret, TZ: "America/New_York"},
		{Secret: testSecret, Skew: 60},                                                       // from the future
		{Secret: testSecret, Skew: -400},                                                     // expired
		{Secret: "other", Username: str("alice"), Password: alice.PasswordHash},              // wrong secret
		{Secret: testSecret, Username: str("alice"), Password: bob.PasswordHash},             // wrong password
		{Secret: testSecret, Username: str("ghost"), Password: "x"},                          // unknown user
		{Secret: testSecret, Username: str("alice"), Password: alice.PasswordHash, Skew: 20}, // within tolerance
	}
	want := []string{"", "", "", "", ReasonFuture, ReasonExpired, ReasonInvalidDigest, ReasonInvalidDigest, ReasonUserNotFound, ""}
	var out []struct{ Ticket string }
	runPHP(t, "mint", in, &out)
	if len(out) != len(in) {
		t.Fatalf("php minted %d, want %d", len(out), len(in))
	}
	v := &TicketVerifier{Secret: testSecret, Users: testUsers()}
	for i, o := range out {
		// As a browser sends it: encodeURIComponent, then PHP's parse_str.
		u, err := v.Verify(context.Background(), TicketFromQuery("ticket="+url.QueryEscape(o.Ticket)))
		if want[i] == "" {
			if err != nil {
				t.Errorf("php ticket %d: %v", i, err)
				continue
			}
			if in[i].Username == nil && u != nil || in[i].Username != nil && (u == nil || u.Username != *in[i].Username) {
				t.Errorf("php ticket %d: user %+v", i, u)
			}
			continue
		}
		var te *TicketError
		if !errors.As(err, &te) || te.Reason != want[i] {
			t.Errorf("php ticket %d: %v, want %s", i, err, want[i])
		}
	}
}

// TestGoMintedTicketsPassOroCheck: tickets minted here pass a PHP
// re-implementation of Oro's WebsocketAuthenticationByTicketProvider using
// the real Symfony hasher, parse_str, base64_decode and strtotime.
func TestGoMintedTicketsPassOroCheck(t *testing.T) {
	type verify struct {
		Query  string            `json:"query"`
		Secret string            `json:"secret"`
		Users  map[string]string `json:"users"`
		TZ     string            `json:"tz,omitempty"`
	}
	users := map[string]string{"alice": alice.PasswordHash, "bob": bob.PasswordHash}
	now := time.Now()
	kolkata := time.FixedZone("IST", 5*3600+1800)
	q := func(enc string) string { return "foo=bar&ticket=" + url.QueryEscape(enc) }
	cases := []struct {
		in       verify
		ok       bool
		username string
		reason   string
	}{
		{verify{Query: q(MintAnonymousTicket(testSecret, now)), Secret: testSecret, Users: users}, true, "", ""},
		{verify{Query: q(MintTicket(testSecret, "alice", alice.PasswordHash, now)), Secret: testSecret, Users: users}, true, "alice", ""},
		{verify{Query: q(MintTicket(testSecret, "bob", bob.PasswordHash, now.In(kolkata))), Secret: testSecret, Users: users, TZ: "Europe/Paris"}, true, "bob", ""},
		{verify{Query: q(MintAnonymousTicket(testSecret, now)), Secret: "other", Users: users}, false, "", "invalid digest"},
		{verify{Query: q(MintTicket(testSecret, "alice", "plain", now)), Secret: testSecret, Users: users}, false, "", "invalid digest"},
		{verify{Query: q(MintTicket(testSecret, "carol", "x", now)), Secret: testSecret, Users: users}, false, "", "user not found"},
		{verify{Query: q(MintAnonymousTicket(testSecret, now.Add(-10*time.Minute))), Secret: testSecret, Users: users}, false, "", "expired"},
		{verify{Query: q(MintAnonymousTicket(testSecret, now.Add(2*time.Minute))), Secret: testSecret, Users: users}, false, "", "created in the future"},
		{verify{Query: "ticket=" + b64("a;b"), Secret: testSecret, Users: users}, false, "", "Authentication ticket has invalid format"},
	}
	var in []verify
	for _, c := range cases {
		in = append(in, c.in)
	}
	var out []struct {
		OK       bool
		Username string
		Reason   string
	}
	runPHP(t, "verify", in, &out)
	if len(out) != len(cases) {
		t.Fatalf("php answered %d, want %d", len(out), len(cases))
	}
	for i, c := range cases {
		o := out[i]
		if o.OK != c.ok || o.Username != c.username || o.Reason != c.reason {
			t.Errorf("case %d: php said %+v, want ok=%v username=%q reason=%q", i, o, c.ok, c.username, c.reason)
		}
		// And the Go verifier agrees with the PHP one.
		gv := &TicketVerifier{Secret: c.in.Secret, Users: testUsers()}
		_, err := gv.Verify(context.Background(), TicketFromQuery(c.in.Query))
		if (err == nil) != c.ok {
			t.Errorf("case %d: Go verifier says %v, php ok=%v", i, err, c.ok)
		}
	}
}
