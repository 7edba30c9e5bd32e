package cli

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/server"
)

func TestCheck(t *testing.T) {
	clearClientEnv(t)
	const secret = "s3cret"
	tickets := &server.TicketAuth{Tickets: &auth.TicketVerifier{Secret: secret}}
	url, addr, srv := startHerald(t, server.Config{Authenticator: tickets})

	t.Run("up", func(t *testing.T) {
		out, err := runOut(t, "check", "--url", url, "--secret", secret)
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		if !regexp.MustCompile(`^ok: ` + regexp.QuoteMeta(url) + ` \(session [0-9a-f]{24}\)\n$`).MatchString(out) {
			t.Errorf("output %q", out)
		}
		if n := srv.Stats().Connections; n > 1 {
			t.Errorf("%d connections left", n)
		}
	})
	t.Run("up from the configuration file", func(t *testing.T) {
		port := strings.TrimPrefix(addr, "127.0.0.1:")
		cfg := writeConfig(t, fmt.Sprintf("server:\n  host: 0.0.0.0\n  port: %s\nauth:\n  secret: %s\n", port, secret))
		out, err := runOut(t, "check", "-c", cfg)
		if err != nil || !strings.HasPrefix(out, "ok: ws://127.0.0.1:"+port+"/ (session ") {
			t.Errorf("check -c: %v, output %q", err, out)
		}
		// ORO_WEBSOCKET_BACKEND_DSN wins over the file.
		t.Setenv(backendDSNEnv, "tcp://127.0.0.1:"+port+"/ws")
		out, err = runOut(t, "check", "--secret", secret)
		if err != nil || !strings.HasPrefix(out, "ok: ws://127.0.0.1:"+port+"/ws (session ") {
			t.Errorf("check with the DSN: %v, output %q", err, out)
		}
	})
	t.Run("up over TLS", func(t *testing.T) {
		cert, key, _ := writeSelfSigned(t)
		port := freePort(t)
		cfg := writeConfig(t, tlsConfigYAML(port, cert, key))
		startServe(t, "-c", cfg)
		out, err := runOut(t, "check", "-c", cfg, "--insecure")
		if err != nil || !strings.HasPrefix(out, "ok: wss://127.0.0.1:"+strconv.Itoa(port)+"/ (session ") {
			t.Errorf("check -c --insecure: %v, output %q", err, out)
		}
		_, err = runOut(t, "check", "-c", cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "TLS: wss://127.0.0.1:") {
			t.Errorf("check of a self-signed certificate: %v", err)
		}
	})

	fails := func(t *testing.T, want string, args ...string) {
		t.Helper()
		out, err := runOut(t, append([]string{"check"}, args...)...)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("check %q: error %v, want %q...", args, err, want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("check %q: error has several lines: %q", args, err)
		}
		if out != "" {
			t.Errorf("check %q printed %q", args, out)
		}
	}
	t.Run("down", func(t *testing.T) {
		down := "ws://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/"
		fails(t, "refused: "+down+": dial tcp", "--url", down)
	})
	t.Run("empty host", func(t *testing.T) {
		fails(t, "not configured: the websocket host is empty", "--url", "ws://null:8080/")
		fails(t, "not configured: the websocket host is empty", "--url", "ws://NULL:8080/")
		t.Setenv(backendDSNEnv, "//:8080")
		fails(t, "not configured: the websocket host is empty")
		_, err := runOut(t, "check", "--url", "ws://null:8080/")
		if !errors.Is(err, errNotConfigured) {
			t.Errorf("error %v is not errNotConfigured", err)
		}
	})
	t.Run("403", func(t *testing.T) {
		fails(t, "403: the server refused the ticket", "--url", url, "--secret", "wrong")
		fails(t, "403: the server refused a connection without a ticket", "--url", url)
		httpURL, _, _ := startHerald(t, server.Config{Authenticator: tickets, AuthFailure: server.AuthFailureHTTP})
		fails(t, "403: forbidden: "+httpURL+": Ticket for", "--url", httpURL, "--secret", "wrong")
		originURL, _, _ := startHerald(t, server.Config{OriginCheck: true})
		fails(t, "403: forbidden: "+originURL+": origin not allowed", "--url", originURL, "--origin", "evil.example")
		if _, err := runOut(t, "check", "--url", originURL); err != nil {
			t.Errorf("the default Origin 127.0.0.1 is refused: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		silent := "ws://" + silentListener(t) + "/"
		fails(t, "timed out: "+silent+" did not complete the handshake and WELCOME within 200ms", "--url", silent, "--timeout", "200ms")
	})
	t.Run("TLS", func(t *testing.T) {
		fails(t, "TLS: wss://"+addr+"/: TLS handshake", "--url", "wss://"+addr+"/")
	})
	t.Run("handshake", func(t *testing.T) {
		hs := startPlainHTTP(t, http.NotFoundHandler())
		fails(t, "handshake failed: "+hs+": handshake refused: 404 Not Found", "--url", hs)
	})
}
