package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldws/herald/auth"
)

// startPlainHTTP serves h over plain HTTP and returns its ws:// URL.
func startPlainHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

func verifyTicket(t *testing.T, v *auth.TicketVerifier, ticket string) (*auth.User, error) {
	t.Helper()
	return v.Verify(context.Background(), ticket)
}

func TestTicketAnonymous(t *testing.T) {
	clearClientEnv(t)
	const secret = "s3cret"
	v := &auth.TicketVerifier{Secret: secret}
	file := writeConfig(t, "auth:\n  secret: "+secret+"\n")

	for _, args := range [][]string{{"--secret", secret}, {"-c", file}} {
		out, err := runOut(t, append([]string{"ticket"}, args...)...)
		if err != nil {
			t.Fatalf("ticket %q: %v", args, err)
		}
		if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
			t.Errorf("output %q is not one line", out)
		}
		user, err := verifyTicket(t, v, strings.TrimSpace(out))
		if err != nil || user != nil {
			t.Errorf("ticket %q: Verify = %v, %v; want an anonymous ticket", args, user, err)
		}
		tk, _ := auth.ParseTicket(strings.TrimSpace(out))
		if tk.Username != "" {
			t.Errorf("username %q, want anonymous", tk.Username)
		}
		if _, err := verifyTicket(t, &auth.TicketVerifier{Secret: "other"}, strings.TrimSpace(out)); err == nil {
			t.Error("ticket verifies with another secret")
		}
	}

	t.Setenv(secretEnv, secret)
	out, err := runOut(t, "ticket", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(out), &body); err != nil || len(body) != 1 {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if _, err := verifyTicket(t, v, body["ticket"]); err != nil {
		t.Errorf("--json ticket: %v", err)
	}
}

func TestTicketUser(t *testing.T) {
	clearClientEnv(t)
	const secret = "s3cret"
	const hash = "$2y$13$abcdefghijklmnopqrstuv1234567890ABCDEFGHIJKLMNOPQRSTU"
	users := auth.UserProviderFunc(func(_ context.Context, username string) (*auth.User, error) {
		if username != "admin" {
			return nil, auth.ErrUserNotFound
		}
		return &auth.User{ID: "1", Username: "admin", PasswordHash: hash, Roles: []string{"ROLE_ADMINISTRATOR"}}, nil
	})
	v := &auth.TicketVerifier{Secret: secret, Users: users}

	out, err := runOut(t, "ticket", "--secret", secret, "admin", "--password-hash", hash)
	if err != nil {
		t.Fatal(err)
	}
	user, err := verifyTicket(t, v, strings.TrimSpace(out))
	if err != nil || user == nil || user.ID != "1" {
		t.Fatalf("Verify = %+v, %v; want user 1", user, err)
	}

	// The hash from standard input.
	withInput(t, hash+"\n")
	out, err = runOut(t, "ticket", "--secret", secret, "admin", "--password-hash", "-", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Ticket string }
	json.Unmarshal([]byte(out), &body)
	if user, err := verifyTicket(t, v, body.Ticket); err != nil || user == nil {
		t.Errorf("ticket with the hash from stdin: %v", err)
	}

	// A wrong hash makes a ticket the server refuses.
	out, _ = runOut(t, "ticket", "--secret", secret, "admin", "--password-hash", "other")
	var te *auth.TicketError
	if _, err := verifyTicket(t, v, strings.TrimSpace(out)); !errors.As(err, &te) || te.Reason != auth.ReasonInvalidDigest {
		t.Errorf("ticket with a wrong hash: %v, want invalid digest", err)
	}
}

func TestTicketErrors(t *testing.T) {
	clearClientEnv(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ticket"}, "no secret"},
		{[]string{"ticket", "--secret", "s", "admin"}, `a ticket for "admin" needs the user's stored password hash`},
		{[]string{"ticket", "--secret", "s", "--password-hash", "h"}, "--password-hash is for user tickets"},
		{[]string{"ticket", "--secret", "a{b"}, "mint ticket"},
		{[]string{"ticket", "--secret", "s", "a", "b"}, "accepts at most 1 arg"},
	} {
		out, err := runOut(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		}
		if out != "" {
			t.Errorf("%q printed %q", c.args, out)
		}
	}
}
