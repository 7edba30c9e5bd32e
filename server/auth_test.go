package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/internal/ws"
)

const testSecret = "ThisIsNotSoSecret"

// oroUsers is a user provider holding two Oro users with their stored
// password hashes.
var oroUsers = auth.UserProviderFunc(func(_ context.Context, username string) (*auth.User, error) {
	switch username {
	case "jane":
		return &auth.User{ID: "5", Username: "jane", PasswordHash: "$2y$13$janeHash", Roles: []string{"ROLE_USER"}}, nil
	case "john":
		return &auth.User{ID: "6", Username: "john", PasswordHash: "$2y$13$johnHash"}, nil
	}
	return nil, auth.ErrUserNotFound
})

func ticketServer(t *testing.T, cfg Config, ta *TicketAuth) *testServer {
	if ta.Tickets == nil {
		ta.Tickets = &auth.TicketVerifier{Secret: testSecret, Users: oroUsers}
	}
	cfg.Authenticator = ta
	if cfg.Router == nil {
		cfg.Router = newRouter(t, oroRoutes()...)
	}
	return startServer(t, cfg)
}

// dialTicket connects as Oro's JavaScript does: the ticket URL-encoded in
// the query of the /ws path.
func dialTicket(t *testing.T, addr, ticket string) *peer {
	t.Helper()
	req := strings.Replace(gosRequest(addr, "wamp"), "GET ws://"+addr+"/ ", "GET /ws?ticket="+url.QueryEscape(ticket)+" ", 1)
	return dialRequest(t, addr, req)
}

// expectOroRefusal checks Oro's answer to a refused ticket.
func (p *peer) expectOroRefusal() {
	p.t.Helper()
	op, frame := p.next()
	if op != ws.OpText || !strings.HasSuffix(string(frame), "\r\n\r\n403") {
		p.t.Fatalf("got %q, want Oro's 403 frame", frame)
	}
	p.expectClose(ws.CloseNormal)
}

func TestOroTickets(t *testing.T) {
	ts := ticketServer(t, Config{APIKey: "k"}, &TicketAuth{AllowAnonymous: true})
	now := time.Now()
	jane := dialTicket(t, ts.addr, auth.MintTicket(testSecret, "jane", "$2y$13$janeHash", now))

	// A user subscribes to her own secured topic and is refused another's.
	jane.subscribe("oro/email_event/5/1")
	jane.subscribe("oro/email_event/6/1")
	if got := jane.sync(); len(got) != 1 || got[0] != `You are not allowed to subscribe on topic "oro/email_event/6/1".` {
		t.Fatalf("jane got %q", got)
	}
	api(t, ts, "POST", "/api/publish", "k", `{"route":"oro_email.event","params":{"user_id":"5","organization_id":"1"},"data":{"hasNewEmail":true}}`)
	jane.expectText(eventFrame("oro/email_event/5/1", `{"hasNewEmail":true}`))

	// An anonymous ticket and no ticket at all are anonymous users.
	for _, p := range []*peer{dialTicket(t, ts.addr, auth.MintAnonymousTicket(testSecret, now)), dial(t, ts.addr)} {
		p.subscribe("oro/email_event/5/1")
		if got := p.sync(); len(got) != 1 || !strings.HasPrefix(got[0], "You are not allowed") {
			t.Fatalf("anonymous got %q", got)
		}
	}

	// Every bad ticket gets Oro's refusal.
	good := auth.MintTicket(testSecret, "jane", "$2y$13$janeHash", now)
	tampered, _ := auth.ParseTicket(good)
	tampered.Username = "john"
	bad := map[string]string{
		"expired":         auth.MintTicket(testSecret, "jane", "$2y$13$janeHash", now.Add(-310*time.Second)),
		"from the future": auth.MintTicket(testSecret, "jane", "$2y$13$janeHash", now.Add(35*time.Second)),
		"wrong secret":    auth.MintAnonymousTicket("another secret", now),
		"tampered user":   tampered.Encode(),
		"unknown user":    auth.MintTicket(testSecret, "nobody", "x", now),
		"not base64":      "%%%",
		"too few fields":  "YWJjO2RlZg==", // "abc;def"
	}
	for name, ticket := range bad {
		t.Run(name, func(t *testing.T) {
			dialTicket(t, ts.addr, ticket).expectOroRefusal()
		})
	}
	if got := metricValue(t, ts, `herald_handshake_failures_total{reason="auth"}`); got != fmt.Sprint(len(bad)) {
		t.Fatalf("auth failures %q, want %d", got, len(bad))
	}
}

func TestTicketOptions(t *testing.T) {
	t.Run("one-time tickets refuse a replay", func(t *testing.T) {
		ts := ticketServer(t, Config{}, &TicketAuth{AllowAnonymous: true, Tickets: &auth.TicketVerifier{
			Secret: testSecret, Users: oroUsers, Nonces: auth.NewNonceCache(100, 10*time.Minute),
		}})
		ticket := auth.MintTicket(testSecret, "jane", "$2y$13$janeHash", time.Now())
		dialTicket(t, ts.addr, ticket).subscribe("oro/ping")
		dialTicket(t, ts.addr, ticket).expectOroRefusal()
	})
	t.Run("anonymous refused, HTTP 403 before the upgrade", func(t *testing.T) {
		ts := ticketServer(t, Config{AuthFailure: AuthFailureHTTP}, &TicketAuth{AllowAnonymous: false})
		if p := connectRaw(t, ts.addr, gosRequest(ts.addr, "wamp")); p.resp.StatusCode != http.StatusForbidden {
			t.Fatalf("no ticket: %d, want 403", p.resp.StatusCode)
		}
		req := strings.Replace(gosRequest(ts.addr, "wamp"), "GET ws://"+ts.addr+"/ ", "GET /?ticket="+url.QueryEscape(auth.MintAnonymousTicket("wrong", time.Now()))+" ", 1)
		if p := connectRaw(t, ts.addr, req); p.resp.StatusCode != http.StatusForbidden {
			t.Fatalf("bad ticket: %d, want 403", p.resp.StatusCode)
		}
		dialTicket(t, ts.addr, auth.MintAnonymousTicket(testSecret, time.Now()))
	})
	t.Run("anonymous tickets from backend networks are the backend", func(t *testing.T) {
		ts := ticketServer(t, Config{
			Router:   newRouter(t, oroRoutes()[1]),
			Handlers: map[string]Binding{"oro_sync.data_update": {Handler: Broadcast{}, Policy: Policy{Publish: Backend}}},
		}, &TicketAuth{AllowAnonymous: true, BackendNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		backend := dialTicket(t, ts.addr, auth.MintAnonymousTicket(testSecret, time.Now()))
		backend.subscribe("oro/data/update")
		backend.send(`[7,"oro/data/update",[1]]`)
		backend.expectText(eventFrame("oro/data/update", "[1]"))
		// Without a ticket the same address is just anonymous.
		anon := dial(t, ts.addr)
		anon.send(`[7,"oro/data/update",[2]]`)
		if got := anon.sync(); len(got) != 1 || !strings.Contains(got[0], "backend only") {
			t.Fatalf("anonymous publisher got %q", got)
		}
	})
}

func TestJWT(t *testing.T) {
	key := []byte("jwt-secret")
	ts := ticketServer(t, Config{UnknownTopic: UnknownAllow}, &TicketAuth{
		AllowAnonymous: false,
		Tickets:        &auth.TicketVerifier{Secret: testSecret},
		JWT:            &auth.JWTVerifier{Algorithms: []string{"HS256"}, HMACSecret: key, Audience: "herald"},
	})
	sign := func(method jwt.SigningMethod, k any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()
	good := sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"sub": "5", "exp": exp, "aud": "herald", "channels": []string{"oro/email_event/5/*", "acme/news"}})

	p := dialRequest(t, ts.addr, strings.Replace(gosRequest(ts.addr, "wamp"), "GET ws://"+ts.addr+"/ ", "GET /?token="+good+" ", 1))
	p.subscribe("oro/email_event/5/1")
	p.subscribe("acme/other")
	if got := p.sync(); len(got) != 1 || !strings.Contains(got[0], `Your token does not allow \"acme/other\"`) {
		t.Fatalf("token holder got %q", got)
	}
	if ts.hub.count("oro/email_event/5/1") != 1 {
		t.Fatal("the allowed secured channel was not subscribed")
	}
	// The Authorization header works too.
	dialAs(t, ts.addr, "Authorization: Bearer "+good)

	bad := map[string]string{
		"alg none":       sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "5", "exp": exp, "aud": "herald"}),
		"wrong alg":      sign(jwt.SigningMethodHS384, key, jwt.MapClaims{"sub": "5", "exp": exp, "aud": "herald"}),
		"expired":        sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"sub": "5", "exp": time.Now().Add(-time.Hour).Unix(), "aud": "herald"}),
		"no exp":         sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"sub": "5", "aud": "herald"}),
		"bad signature":  sign(jwt.SigningMethodHS256, []byte("other"), jwt.MapClaims{"sub": "5", "exp": exp, "aud": "herald"}),
		"wrong audience": sign(jwt.SigningMethodHS256, key, jwt.MapClaims{"sub": "5", "exp": exp, "aud": "other"}),
	}
	for name, token := range bad {
		t.Run(name, func(t *testing.T) {
			dialAs(t, ts.addr, "Authorization: Bearer "+token).expectOroRefusal()
		})
	}
	// No credentials at all, when anonymous connections are refused.
	dial(t, ts.addr).expectOroRefusal()
}

func TestIPBlocklist(t *testing.T) {
	srv, err := New(Config{Logger: discardLogger(), BlockedIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: srv.Listener(ln), Config: &http.Server{Handler: srv}}
	hs.Start()
	t.Cleanup(func() { hs.Close(); srv.Shutdown(context.Background()) })
	addr := ln.Addr().String()

	dial(t, addr) // 127.0.0.1 is not blocked
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	// The connection is reset as soon as it is accepted: the dial itself
	// may already see it; otherwise the first read does.
	if conn, err := d.Dial("tcp", addr); err == nil {
		defer conn.Close()
		conn.Write([]byte(gosRequest(addr, "wamp")))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := conn.Read(make([]byte, 100)); n > 0 {
			t.Fatalf("a blocked address read %d bytes (err %v), want the connection dropped without a response", n, err)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("a blocked address's connection stayed open")
		}
	}
	waitFor(t, "the blocked connection to be counted", func() bool {
		return metricValueAddr(t, addr, `herald_handshake_failures_total{reason="blocked_ip"}`) == "1"
	})
}

func metricValueAddr(t *testing.T, addr, name string) string {
	return metricValue(t, &testServer{addr: addr}, name)
}
