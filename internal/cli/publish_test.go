package cli

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/auth"
	wampclient "github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/server"
)

// withInput makes the verbs read s as standard input during the test.
func withInput(t *testing.T, s string) {
	t.Helper()
	inputOverride = strings.NewReader(s)
	t.Cleanup(func() { inputOverride = nil })
}

// `herald publish` against `herald serve`, both from the same
// configuration file, reaches a raw WAMP v1 subscriber with the exact
// event.
func TestPublishReachesSubscriber(t *testing.T) {
	clearClientEnv(t)
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("server:\n  host: 0.0.0.0\n  port: %d\nauth:\n  secret: s3cret\n", port))
	r := startServe(t, "-c", cfg)
	addr := "127.0.0.1:" + strconv.Itoa(port)

	sub := upgrade(t, addr, nil)
	sub.sendText(`[5,"acme/channel"]`)
	sub.sendText(`[2,"c1","sync"]`) // answered after the SUBSCRIBE is processed
	sub.read(ws.OpText)

	out, err := runOut(t, "publish", "-c", cfg, "acme/channel", `{"msg": "héllo", "n": [1, 2.5, null]}`)
	if err != nil || out != "" {
		t.Fatalf("publish: %v, output %q", err, out)
	}
	if got, want := string(sub.read(ws.OpText)), `[8,"acme/channel",{"msg":"héllo","n":[1,2.5,null]}]`; got != want {
		t.Errorf("EVENT = %s, want %s", got, want)
	}

	// From standard input, with "-" and without.
	for _, args := range [][]string{{"acme/channel", "-"}, {"acme/channel"}} {
		withInput(t, "{\n  \"from\": \"stdin\"\n}\n")
		if _, err := runOut(t, append([]string{"publish", "-c", cfg}, args...)...); err != nil {
			t.Fatalf("publish %q: %v", args, err)
		}
		if got, want := string(sub.read(ws.OpText)), `[8,"acme/channel",{"from":"stdin"}]`; got != want {
			t.Errorf("EVENT = %s, want %s", got, want)
		}
	}
	sub.conn.Close()
	r.stop()
}

// The options reach the server: --eligible and --exclude, -v prints the
// session id, and the anonymous ticket from the secret is accepted by a
// server that checks tickets and accepts nothing else.
func TestPublishOptionsAndTicket(t *testing.T) {
	clearClientEnv(t)
	const secret = "s3cret"
	url, _, _ := startHerald(t, server.Config{Authenticator: &server.TicketAuth{Tickets: &auth.TicketVerifier{Secret: secret}}})
	ticket := func() wampclient.Options {
		return wampclient.Options{Ticket: auth.MintAnonymousTicket(secret, time.Now())}
	}
	a := subscribe(t, url, "acme/t", ticket())
	b := subscribe(t, url, "acme/t", ticket())

	out, err := runOut(t, "publish", "--url", url, "--secret", secret, "-v", "acme/t", `"to all"`)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if sid := strings.TrimSpace(out); len(sid) != 24 || sid == a.c.SessionID() {
		t.Errorf("-v printed %q, want the publisher's session id", out)
	}
	if a.next(t) != `acme/t "to all"` || b.next(t) != `acme/t "to all"` {
		t.Fatal("event not delivered to both")
	}

	if _, err := runOut(t, "publish", "--url", url, "--secret", secret, "--eligible", a.c.SessionID()+",nobody", "acme/t", "1"); err != nil {
		t.Fatal(err)
	}
	if got := a.next(t); got != "acme/t 1" {
		t.Errorf("eligible a got %s", got)
	}
	b.none(t)

	t.Setenv(secretEnv, secret)
	if _, err := runOut(t, "publish", "--url", url, "--exclude", a.c.SessionID(), "acme/t", "2"); err != nil {
		t.Fatal(err)
	}
	if got := b.next(t); got != "acme/t 2" {
		t.Errorf("b got %s", got)
	}
	a.none(t)
	t.Setenv(secretEnv, "")

	// Refusals. (Against a server in Oro's mode, which refuses after the
	// WELCOME, a publisher that writes at once races the server's 403
	// frame: see TestCheck for that mode.)
	httpURL, _, _ := startHerald(t, server.Config{
		Authenticator: &server.TicketAuth{Tickets: &auth.TicketVerifier{Secret: secret}},
		AuthFailure:   server.AuthFailureHTTP,
	})
	_, err = runOut(t, "publish", "--url", httpURL, "--secret", "wrong", "acme/t", "3")
	if err == nil || !strings.HasPrefix(err.Error(), "403: forbidden: "+httpURL+": Ticket for") {
		t.Errorf("wrong secret: %v", err)
	}
	_, err = runOut(t, "publish", "--url", httpURL, "acme/t", "4")
	if err == nil || !strings.HasPrefix(err.Error(), "403: forbidden: "+httpURL+": server: a ticket or token is required") {
		t.Errorf("no secret: %v", err)
	}
}

func TestPublishErrors(t *testing.T) {
	clearClientEnv(t)
	down := "ws://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/"
	for _, c := range []struct {
		args  []string
		input string
		want  string
	}{
		// The position and the problem in JSON's terms, not Go's.
		{[]string{"publish", "--url", down, "t", `nul`}, "", "the event: byte 1: invalid JSON: the bare word nul is not a JSON value (strings take double quotes; the only bare words are true, false and null)"},
		{[]string{"publish", "--url", down, "t", `{"a":`}, "", "the event: invalid JSON: the input ends after byte 5, where a value was expected"},
		{[]string{"publish", "--url", down, "t", `{a}`}, "", "the event: byte 2: invalid JSON: found 'a' where a key string was expected (keys take double quotes)"},
		{[]string{"publish", "--url", down, "t", `1 2`}, "", "the event: byte 3: invalid JSON: found '2' after the end of the value (one JSON value only)"},
		{[]string{"publish", "--url", down, "t"}, "", "the event: invalid JSON: the input is empty"},
		{[]string{"publish", "--url", down, "t", "-"}, "{\n  \"msg\": 'hi'\n}\n", "the event: byte 12 (line 2, column 10): invalid JSON: found \"'\" where a value was expected (strings take double quotes)"},
		{[]string{"publish", "--url", down, "", "1"}, "", "the topic is empty"},
		{[]string{"publish", "--url", down, "t", "1"}, "", "refused: " + down + ": dial tcp"},
		{[]string{"publish", "--url", "ws://null:8080/", "t", "1"}, "", "not configured: the websocket host is empty"},
		{[]string{"publish"}, "", "accepts between 1 and 2 arg(s)"},
	} {
		withInput(t, c.input)
		_, err := runOut(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error has several lines: %q", c.args, err)
		}
	}
}

// A server that closes the connection with an error code is a failure.
func TestPublishClosedByServer(t *testing.T) {
	clearClientEnv(t)
	// Without routing, herald relays any topic; a message larger than the
	// server's limit closes the connection with 1009.
	url, _, _ := startHerald(t, server.Config{MaxMessageSize: 1024})
	_, err := runOut(t, "publish", "--url", url, "t", `"`+strings.Repeat("x", 2000)+`"`)
	if err == nil || !strings.Contains(err.Error(), "1009") {
		t.Errorf("error %v, want the server's 1009", err)
	}
}
