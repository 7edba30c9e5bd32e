package deploy_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldws/herald/client"
	"github.com/heraldws/herald/internal/ws"
)

const haproxyInstall = "apt-get install haproxy"

// haproxyConfig is deploy/haproxy.cfg with the substitutions its header
// names: the public bind address and certificate, herald's address, and a
// maxconn this machine's file-descriptor limit allows. Its log goes to
// stderr, kept for the failure message.
func haproxyConfig(t *testing.T, listenPort int, combinedPEM, upstream string) string {
	t.Helper()
	cfg := readDeployFile(t, "haproxy.cfg")
	cfg = substituteLine(t, cfg, "bind :8443 ssl crt /etc/haproxy/tls/herald.pem",
		fmt.Sprintf("bind 127.0.0.1:%d ssl crt %s", listenPort, combinedPEM))
	cfg = substituteLine(t, cfg, "server herald1 127.0.0.1:8080 check", "server herald1 "+upstream+" check")
	cfg = substituteLine(t, cfg, "maxconn 200000", "maxconn 1000")
	cfg = substituteLine(t, cfg, "log /dev/log local0", "log stderr format raw local0")
	return cfg
}

// startHAProxy runs HAProxy in the foreground with deploy/haproxy.cfg in
// front of upstream (host:port) and returns its https:// base URL once its
// check of upstream's /healthz has passed, which makes it forward requests.
func startHAProxy(t *testing.T, certs tlsFiles, upstream string) string {
	t.Helper()
	haproxy := requireTool(t, "haproxy", haproxyInstall)
	port := freePort(t)
	path := writeFile(t, t.TempDir(), "haproxy.cfg", haproxyConfig(t, port, certs.combined, upstream))
	p := startProcess(t, "haproxy", []string{haproxy, "-db", "-f", path}, nil)
	t.Cleanup(func() {
		if p.running() {
			p.stop(t, syscall.SIGTERM, 5*time.Second)
		}
	})
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	waitHTTP(t, certs.httpsClient(t), base+"/healthz", p)
	return base
}

// TestHAProxyServesHeraldOverTLS runs herald as herald.service does, HAProxy
// with deploy/haproxy.cfg in front of it, and a browser-like client over
// wss:// through HAProxy: the upgrade, frames both ways, and herald's
// graceful stop all cross the proxy.
func TestHAProxyServesHeraldOverTLS(t *testing.T) {
	u := readUnit(t)
	heraldPort := freePort(t)
	h := startHeraldFromUnit(t, u, heraldPort)
	certs := newTLSFiles(t, t.TempDir())
	base := startHAProxy(t, certs, "127.0.0.1:"+strconv.Itoa(heraldPort))

	events := make(chan string, 1)
	browser, err := client.Dial(t.Context(), "wss"+base[len("https"):]+"/ws", client.Options{
		Header:    originHeader(origin),
		TLSConfig: &tls.Config{RootCAs: certs.pool},
		OnEvent: func(topic string, event json.RawMessage) {
			select {
			case events <- topic + " " + string(event):
			default:
			}
		},
	})
	if err != nil {
		t.Fatalf("connecting through HAProxy: %v", err)
	}
	defer browser.Close()
	// One connection: its SUBSCRIBE is handled before its PUBLISH, and a
	// subscribed publisher gets its own event.
	if err := browser.Subscribe("acme/channel"); err != nil {
		t.Fatal(err)
	}
	if err := browser.Publish("acme/channel", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-events:
		if want := `acme/channel {"n":1}`; got != want {
			t.Errorf("event %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EVENT came back through HAProxy within 5s")
	}

	if _, err := h.stop(t, u.killSignal(t), timespan(t, "TimeoutStopSec", u.value("Service", "TimeoutStopSec"))); err != nil {
		t.Fatalf("herald did not exit 0: %v", err)
	}
	if !closedWithin(browser.Done(), 5*time.Second) {
		t.Fatal("the browser's connection through HAProxy is still open after herald exited")
	}
	if code, reason := browser.CloseStatus(); code != ws.CloseGoingAway {
		t.Errorf("through HAProxy the browser got close %d %q, want %d (going away)", code, reason, ws.CloseGoingAway)
	}
}

// headerRecorder is an upstream that answers 200 to everything and keeps
// the headers of the last request to a path other than /healthz.
type headerRecorder struct {
	mu   sync.Mutex
	last http.Header
}

func (r *headerRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/healthz" {
		r.mu.Lock()
		r.last = req.Header.Clone()
		r.mu.Unlock()
	}
	w.Write([]byte("ok"))
}

func (r *headerRecorder) header() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// TestHAProxyReplacesForwardedHeaders checks the headers herald's
// server.trusted_proxies relies on: the browser's own X-Forwarded-For,
// X-Forwarded-Proto and Forwarded never reach herald; HAProxy's do.
func TestHAProxyReplacesForwardedHeaders(t *testing.T) {
	rec := &headerRecorder{}
	upstream := httptest.NewServer(rec)
	t.Cleanup(upstream.Close) // after HAProxy's cleanup: it holds connections to it
	certs := newTLSFiles(t, t.TempDir())
	base := startHAProxy(t, certs, upstream.Listener.Addr().String())

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/info", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("Forwarded", "for=203.0.113.9;proto=http")
	res, err := certs.httpsClient(t).Do(req)
	if err != nil {
		t.Fatalf("request through HAProxy: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d through HAProxy, want 200", res.StatusCode)
	}

	got := rec.header()
	for name, want := range map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "https",
		"Forwarded":         "for=127.0.0.1;proto=https",
	} {
		if vs := got.Values(name); len(vs) != 1 || vs[0] != want {
			t.Errorf("%s reached the upstream as %q, want only %q", name, vs, want)
		}
	}
}
