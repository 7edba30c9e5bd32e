package client_test

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/server"
)

// heraldServer is a real herald server served with httptest on a given
// listener, so that a test can stop it and start another on the same port.
type heraldServer struct {
	srv *server.Server
	hs  *httptest.Server
	url string

	once sync.Once
}

// serveHerald serves a herald server with cfg on ln (a new loopback
// listener when nil) until stop or the end of the test.
func serveHerald(t *testing.T, cfg server.Config, ln net.Listener) *heraldServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	if ln != nil {
		hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	h := &heraldServer{srv: srv, hs: hs, url: "ws://" + hs.Listener.Addr().String() + "/"}
	t.Cleanup(h.stop)
	return h
}

// stop shuts the server down: its port is closed when stop returns.
func (h *heraldServer) stop() {
	h.once.Do(func() {
		h.hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
	})
}

// listen listens on addr ("127.0.0.1:0" for any port), retrying briefly
// while a previous listener's port is being released.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listening on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln := listen(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// recordQuery is an Authenticator that records the query of each upgrade.
type recordQuery chan string

func (q recordQuery) Authenticate(r *http.Request, sessionID string) (server.Identity, error) {
	q <- r.URL.RawQuery
	return server.Identity{Anonymous: true}, nil
}

// Options.Ticket reaches the server as the ticket query parameter, escaped
// so that PHP's parse_str (auth.TicketFromQuery) gives it back intact, after
// the URL's own parameters.
func TestTicketReachesServer(t *testing.T) {
	queries := make(recordQuery, 10)
	h := serveHerald(t, server.Config{Authenticator: queries}, nil)
	ticket := auth.MintAnonymousTicket("s3cret", time.Now()) + "+/="

	c := dialHerald(t, h.url+"ws?foo=bar", client.Options{Ticket: ticket})
	got := <-queries
	if want := "foo=bar&ticket=" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(ticket); got != want {
		t.Errorf("query = %q, want %q", got, want)
	}
	if back := auth.TicketFromQuery(got); back != ticket {
		t.Errorf("TicketFromQuery = %q, want %q", back, ticket)
	}
	c.Close()

	// No ticket, no parameter.
	c = dialHerald(t, h.url, client.Options{})
	if got := <-queries; got != "" {
		t.Errorf("query without a ticket = %q, want empty", got)
	}
	c.Close()

	// TicketFunc is asked on every Dial and wins over Ticket.
	n := 0
	opts := client.Options{Ticket: "stale", TicketFunc: func() (string, error) { n++; return "fresh", nil }}
	for range 2 {
		dialHerald(t, h.url, opts).Close()
		if got := <-queries; got != "ticket=fresh" {
			t.Errorf("query = %q, want ticket=fresh", got)
		}
	}
	if n != 2 {
		t.Errorf("TicketFunc called %d times, want 2", n)
	}
	opts.TicketFunc = func() (string, error) { return "", errors.New("no secret") }
	if _, err := client.Dial(t.Context(), h.url, opts); err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Errorf("Dial with a failing TicketFunc = %v", err)
	}
}

func checkReason(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ce *client.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Check error %v (%T) is not a *CheckError", err, err)
	}
	return ce.Reason
}

func TestCheck(t *testing.T) {
	const secret = "s3cret"
	tickets := &server.TicketAuth{Tickets: &auth.TicketVerifier{Secret: secret}, AllowAnonymous: true}

	t.Run("up", func(t *testing.T) {
		h := serveHerald(t, server.Config{Authenticator: tickets}, nil)
		start := time.Now()
		sid, err := client.CheckSession(t.Context(), h.url, client.Options{Ticket: auth.MintAnonymousTicket(secret, time.Now())})
		if err != nil {
			t.Fatalf("CheckSession = %v", err)
		}
		if len(sid) != 24 {
			t.Errorf("session id %q", sid)
		}
		if d := time.Since(start); d < 400*time.Millisecond || d > 3*time.Second {
			t.Errorf("Check took %v, want the 500 ms wait for a refusal", d)
		}
		if err := client.Check(t.Context(), h.url, client.Options{}); err != nil {
			t.Errorf("Check without a ticket = %v", err)
		}
		// Both sessions were closed: the server sees them go.
		deadline := time.Now().Add(5 * time.Second)
		for h.srv.Stats().Connections != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := h.srv.Stats().Connections; n != 0 {
			t.Errorf("%d connections left open", n)
		}
	})
	t.Run("refused", func(t *testing.T) {
		err := client.Check(t.Context(), "ws://"+closedPort(t)+"/", client.Options{})
		if r := checkReason(t, err); r != client.CheckRefused {
			t.Errorf("reason %q (%v), want refused", r, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		// A listener that accepts and never answers.
		ln := listen(t, "127.0.0.1:0")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				conns = append(conns, c)
			}
		}()
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		err := client.Check(ctx, "ws://"+ln.Addr().String()+"/", client.Options{})
		if r := checkReason(t, err); r != client.CheckTimeout {
			t.Errorf("reason %q (%v), want timeout", r, err)
		}
		// Options.DialTimeout counts too.
		err = client.Check(t.Context(), "ws://"+ln.Addr().String()+"/", client.Options{DialTimeout: 100 * time.Millisecond})
		if r := checkReason(t, err); r != client.CheckTimeout {
			t.Errorf("reason %q (%v), want timeout", r, err)
		}
	})
	t.Run("forbidden http", func(t *testing.T) {
		h := serveHerald(t, server.Config{
			Authenticator: server.AuthenticatorFunc(func(*http.Request, string) (server.Identity, error) {
				return server.Identity{}, errors.New("no")
			}),
			AuthFailure: server.AuthFailureHTTP,
		}, nil)
		err := client.Check(t.Context(), h.url, client.Options{})
		var he *client.HandshakeError
		if r := checkReason(t, err); r != client.CheckForbidden || !errors.As(err, &he) || he.StatusCode != 403 {
			t.Errorf("reason %q (%v), want forbidden with a 403 HandshakeError", r, err)
		}
	})
	t.Run("forbidden oro", func(t *testing.T) {
		// herald's default, Oro's way: WELCOME, the "403" text frame, CLOSE.
		h := serveHerald(t, server.Config{Authenticator: tickets}, nil)
		var texts []string
		var mu sync.Mutex
		err := client.Check(t.Context(), h.url, client.Options{
			Ticket: auth.MintAnonymousTicket("wrong", time.Now()),
			OnText: func(p []byte) { mu.Lock(); texts = append(texts, string(p)); mu.Unlock() },
		})
		if r := checkReason(t, err); r != client.CheckForbidden || !errors.Is(err, client.ErrTicketRefused) {
			t.Errorf("reason %q (%v), want forbidden with ErrTicketRefused", r, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(texts) != 1 || !strings.HasSuffix(texts[0], "\r\n\r\n403") {
			t.Errorf("OnText saw %q, want the 403 frame", texts)
		}
	})
	t.Run("handshake", func(t *testing.T) {
		hs := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(hs.Close)
		err := client.Check(t.Context(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/", client.Options{})
		var he *client.HandshakeError
		if r := checkReason(t, err); r != client.CheckHandshake || !errors.As(err, &he) || he.StatusCode != 404 {
			t.Errorf("reason %q (%v), want handshake with a 404 HandshakeError", r, err)
		}
	})
	t.Run("tls", func(t *testing.T) {
		// wss:// to a server that speaks plain HTTP.
		h := serveHerald(t, server.Config{}, nil)
		err := client.Check(t.Context(), "wss"+strings.TrimPrefix(h.url, "ws"), client.Options{})
		if r := checkReason(t, err); r != client.CheckTLS {
			t.Errorf("reason %q (%v), want tls", r, err)
		}
		// A certificate that does not verify.
		f := newFakeServer(t, true)
		err = client.Check(t.Context(), f.url("/"), client.Options{})
		if r := checkReason(t, err); r != client.CheckTLS {
			t.Errorf("reason %q (%v), want tls", r, err)
		}
	})
	t.Run("protocol", func(t *testing.T) {
		f := newFakeServer(t, false)
		for _, first := range []string{"event", "close"} {
			err := client.Check(t.Context(), f.url("/?first="+first), client.Options{})
			if r := checkReason(t, err); r != client.CheckProtocol {
				t.Errorf("first=%s: reason %q (%v), want protocol", first, r, err)
			}
		}
	})
	t.Run("url", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1/", "ws:///x", "://"} {
			if r := checkReason(t, client.Check(t.Context(), u, client.Options{})); r != client.CheckURL {
				t.Errorf("%q: reason %q, want url", u, r)
			}
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if r := checkReason(t, client.Check(ctx, "ws://"+closedPort(t)+"/", client.Options{})); r != client.CheckCanceled {
			t.Errorf("reason %q, want canceled", r)
		}
	})
}

func TestIsForbiddenFrame(t *testing.T) {
	for s, want := range map[string]bool{
		"HTTP/1.0 200 OK\r\nCache-Control: no-cache, private\r\nDate:          Mon, 04 Mar 2024 14:03:05 GMT\r\n\r\n403": true,
		"HTTP/1.1 403 Forbidden\r\n\r\n":            true,
		"HTTP/1.0 200 OK\r\nDate: x 2403\r\n\r\nok": false,
		"HTTP/1.0 403": true,
		`You are not allowed to subscribe on topic "x/403".`: false,
		`[8,"t","403"]`: false,
	} {
		if got := client.IsForbiddenFrame([]byte(s)); got != want {
			t.Errorf("IsForbiddenFrame(%q) = %v, want %v", s, got, want)
		}
	}
}
