package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/ws"
)

// TestServeBadConfig: a bad configuration is a clear error and nothing
// listens.
func TestServeBadConfig(t *testing.T) {
	port := freePort(t)
	p := strconv.Itoa(port)
	addr := net.JoinHostPort("127.0.0.1", p)

	t.Run("unknown key", func(t *testing.T) {
		path := writeConfig(t, "server:\n  port: "+p+"\n  keepalive_intervall: 10\n")
		err := runErr(t, "serve", "-c", path)
		for _, want := range []string{path + ":3:", `"server.keepalive_intervall"`, "did you mean"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		assertClosed(t, addr)
	})
	t.Run("type error", func(t *testing.T) {
		path := writeConfig(t, "server:\n  host: 127.0.0.1\n  port: eighty\n")
		err := runErr(t, "serve", "-c", path, "-p", p)
		for _, want := range []string{path + ":3:", "server.port", `"eighty"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		assertClosed(t, addr)
	})
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.yaml")
		err := runErr(t, "serve", "-c", path, "-p", p)
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
		assertClosed(t, addr)
	})
	t.Run("port not a number", func(t *testing.T) {
		path := writeConfig(t, "server:\n  port: "+p+"\n")
		err := runErr(t, "serve", "-c", path, "-p", "notanumber")
		if !strings.Contains(err.Error(), "notanumber") {
			t.Errorf("error %q does not name the bad value", err)
		}
		assertClosed(t, addr)
	})
	t.Run("port zero", func(t *testing.T) {
		// An explicit -p 0 is out of range, not "use the default 8080".
		err := runErr(t, "serve", "-a", "127.0.0.1", "-p", "0")
		if !strings.Contains(err.Error(), "server.port") {
			t.Errorf("error %q does not name server.port", err)
		}
	})
	t.Run("invalid value", func(t *testing.T) {
		path := writeConfig(t, "server:\n  port: "+p+"\n  max_message_size: 10\n")
		err := runErr(t, "serve", "-c", path)
		if !strings.Contains(err.Error(), "server.max_message_size") {
			t.Errorf("error %q does not name server.max_message_size", err)
		}
		assertClosed(t, addr)
	})
	t.Run("extra argument", func(t *testing.T) {
		runErr(t, "serve", "-p", p, "extra")
		assertClosed(t, addr)
	})
}

// TestServePubSubAndShutdown: with no configuration, a client subscribes,
// publishes and receives its event; cancelling the context closes it with
// 1001 and Run returns nil.
func TestServePubSubAndShutdown(t *testing.T) {
	r := startServe(t, "-a", "127.0.0.1", "-p", strconv.Itoa(freePort(t)))
	if !strings.HasPrefix(r.url, "ws://127.0.0.1:") {
		t.Errorf("url = %q, want ws://127.0.0.1:...", r.url)
	}
	if log := r.log.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "every topic is an open broadcast topic") {
		t.Errorf("startup log does not warn about open broadcast topics:\n%s", log)
	}

	c := upgrade(t, r.addr, nil)
	c.sendText(`[5,"acme/channel"]`)
	c.sendText(`[7,"acme/channel",{"a":1}]`)
	if got, want := string(c.read(ws.OpText)), `[8,"acme/channel",{"a":1}]`; got != want {
		t.Errorf("EVENT = %s, want %s", got, want)
	}

	r.cancel()
	c.expectClose(ws.CloseGoingAway)
	start := time.Now()
	r.stop()
	if d := time.Since(start); d > waitTimeout {
		t.Errorf("Run took %v to return", d)
	}
	if log := r.log.String(); !strings.Contains(log, `msg="shutting down"`) || !strings.Contains(log, "msg=stopped") {
		t.Errorf("shutdown not logged:\n%s", log)
	}
}

// TestServeAddressPrecedence: the file's port, overridden by
// ORO_WEBSOCKET_SERVER_DSN, overridden by the flags.
func TestServeAddressPrecedence(t *testing.T) {
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	path := writeConfig(t, fmt.Sprintf("server: {port: %d}\n", p1))
	want := func(r *serveRun, port int) {
		t.Helper()
		if w := net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); r.addr != w {
			t.Errorf("listening on %s, want %s", r.addr, w)
		}
		upgrade(t, r.addr, nil).conn.Close()
		r.stop()
	}

	want(startServe(t, "-c", path), p1)

	t.Setenv("ORO_WEBSOCKET_SERVER_DSN", fmt.Sprintf("//127.0.0.1:%d", p2))
	want(startServe(t, "-c", path), p2)
	want(startServe(t, "-c", path, "-p", strconv.Itoa(p3)), p3)

	t.Setenv("ORO_WEBSOCKET_SERVER_DSN", "//:8080")
	err := runErr(t, "serve", "-c", path)
	for _, w := range []string{"ORO_WEBSOCKET_SERVER_DSN", `"//:8080"`, "no host"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	assertClosed(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(p1)))
}

// writeSelfSigned writes a self-signed ECDSA certificate for 127.0.0.1
// and its key, and returns their paths and a pool trusting the
// certificate.
func writeSelfSigned(t *testing.T) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "herald test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

func tlsConfigYAML(port int, cert, key string) string {
	return fmt.Sprintf("server:\n  port: %d\n  tls:\n    enabled: true\n    options:\n      local_cert: %s\n      local_pk: %s\n",
		port, yamlQuote(cert), yamlQuote(key))
}

// TestServeTLS: native TLS from the configuration file.
func TestServeTLS(t *testing.T) {
	certPath, keyPath, pool := writeSelfSigned(t)

	t.Run("wss", func(t *testing.T) {
		r := startServe(t, "-c", writeConfig(t, tlsConfigYAML(freePort(t), certPath, keyPath)))
		if !strings.HasPrefix(r.url, "wss://") {
			t.Errorf("url = %q, want wss://...", r.url)
		}
		c := upgrade(t, r.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if state := c.conn.(*tls.Conn).ConnectionState(); state.NegotiatedProtocol != "" && state.NegotiatedProtocol != "http/1.1" {
			t.Errorf("ALPN = %q, want http/1.1 or none", state.NegotiatedProtocol)
		}
		r.cancel()
		c.expectClose(ws.CloseGoingAway)
		r.stop()
	})
	t.Run("missing certificate", func(t *testing.T) {
		port := freePort(t)
		missing := filepath.Join(t.TempDir(), "missing.pem")
		err := runErr(t, "serve", "-c", writeConfig(t, tlsConfigYAML(port, missing, keyPath)))
		for _, w := range []string{"server.tls.options.local_cert", missing} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		assertClosed(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	})
}

// TestServeOriginCheck: origin_check and origins from the file.
func TestServeOriginCheck(t *testing.T) {
	r := startServe(t, "-c", writeConfig(t, fmt.Sprintf(
		"server:\n  port: %d\n  origin_check: true\norigins: [app.example.com]\n", freePort(t))))

	resp, c := dial(t, r.addr, "https://evil.example.com", nil)
	if resp.StatusCode != http.StatusForbidden || c != nil {
		t.Errorf("evil origin: status %d, want 403", resp.StatusCode)
	}
	resp, c = dial(t, r.addr, "https://app.example.com", nil)
	if resp.StatusCode != http.StatusSwitchingProtocols || c == nil {
		t.Fatalf("allowed origin: status %d, want 101", resp.StatusCode)
	}
	c.expectWelcome()
	c.conn.Close()
	r.stop()
}

// TestServeLimits: limits and keepalive from the file reach the server.
func TestServeLimits(t *testing.T) {
	t.Run("max_connections", func(t *testing.T) {
		r := startServe(t, "-c", writeConfig(t, fmt.Sprintf("server: {port: %d, max_connections: 1}\n", freePort(t))))
		first := upgrade(t, r.addr, nil)
		resp, second := dial(t, r.addr, "127.0.0.1", nil)
		if resp.StatusCode != http.StatusServiceUnavailable || second != nil {
			t.Errorf("second connection: status %d, want 503", resp.StatusCode)
		}
		first.conn.Close()
		r.stop()
	})
	t.Run("max_message_size", func(t *testing.T) {
		r := startServe(t, "-c", writeConfig(t, fmt.Sprintf("server: {port: %d, max_message_size: 1024}\n", freePort(t))))
		c := upgrade(t, r.addr, nil)
		c.sendText(`[7,"acme/channel","` + strings.Repeat("x", 2000-len(`[7,"acme/channel",""]`)) + `"]`)
		c.expectClose(ws.CloseMessageTooBig)
		r.stop()
	})
	t.Run("keepalive", func(t *testing.T) {
		r := startServe(t, "-c", writeConfig(t, fmt.Sprintf(
			"server: {port: %d, keepalive_ping: true, keepalive_interval: 20ms}\n", freePort(t))))
		c := upgrade(t, r.addr, nil)
		p := c.read(ws.OpPing)
		if len(p) == 0 {
			t.Errorf("keepalive PING has an empty payload")
		}
		c.conn.Close()
		r.stop()
	})
}

// --pprof serves Go's profiles on a listener of its own, not on the
// public port, and stops with the server; a busy address is a clear error.
func TestServePprof(t *testing.T) {
	pp := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	r := startServe(t, "-p", strconv.Itoa(freePort(t)), "--pprof", pp)
	resp, err := http.Get("http://" + pp + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("GET /debug/pprof/heap: %d %.200s", resp.StatusCode, body)
	}
	if resp, err := http.Get("http://" + r.addr + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("profiles are served on the public port")
		}
	}
	r.stop()
	assertClosed(t, pp)

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = runErr(t, "serve", "-p", strconv.Itoa(freePort(t)), "--pprof", busy.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "--pprof") {
		t.Fatalf("serve --pprof on a busy address: %v", err)
	}
}
