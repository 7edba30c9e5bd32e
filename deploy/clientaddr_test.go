package deploy_test

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/internal/ws"
)

// These tests put a real nginx (deploy/nginx.conf) or HAProxy
// (deploy/haproxy.cfg, with send-proxy-v2) in front of herald and check
// that herald sees the browser's address, not the proxy's: in its log, in
// its connection rate limit and in its IP blocklist.

// startHeraldBehindProxy runs `herald serve` on port with the given extra
// server keys, trusting the local proxy, blocking 127.0.0.9, allowing one
// connection per second and per client, and logging at debug in JSON.
func startHeraldBehindProxy(t *testing.T, port int, extra string) *process {
	t.Helper()
	config := fmt.Sprintf(`server:
  host: 127.0.0.1
  port: %d
  trusted_proxies: ["127.0.0.1/32"]
  ip_address_check: true
  max_connection_rate: 1
%sblocked_ip_addresses: [127.0.0.9]
log: { level: debug, format: json }
`, port, extra)
	path := writeFile(t, t.TempDir(), "herald.yaml", config)
	p := startProcess(t, "herald", []string{heraldBin, "serve", "-c", path}, []string{"PATH=" + os.Getenv("PATH")})
	t.Cleanup(func() {
		if p.running() {
			p.stop(t, syscall.SIGTERM, 10*time.Second)
		}
	})
	return p
}

// startNginx runs nginx in the foreground with deploy/nginx.conf, its
// listen port, certificate and upstream substituted, and returns the
// port it serves TLS on.
func startNginx(t *testing.T, certs tlsFiles, upstream string, herald *process) int {
	t.Helper()
	nginx := testpeer.Require(t, testpeer.Nginx)
	dir := t.TempDir()
	port := freePort(t)
	site := readDeployFile(t, "nginx.conf")
	site = substituteLine(t, site, "server 127.0.0.1:8080;", "server "+upstream+";")
	site = substituteLine(t, site, "listen 8443 ssl;", fmt.Sprintf("listen 127.0.0.1:%d ssl;", port))
	site = substituteLine(t, site, "/etc/nginx/tls/herald.crt", certs.cert)
	site = substituteLine(t, site, "/etc/nginx/tls/herald.key", certs.key)
	writeFile(t, dir, "herald.conf", site)
	var temps strings.Builder
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "  %s_temp_path %s;\n", kind, filepath.Join(dir, kind))
	}
	main := fmt.Sprintf(`daemon off;
pid %s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
%s  include %s/herald.conf;
}
`, dir, temps.String(), dir)
	conf := writeFile(t, dir, "nginx.conf", main)
	p := startProcess(t, "nginx", []string{nginx, "-p", dir, "-c", conf}, nil)
	t.Cleanup(func() {
		if p.running() {
			p.stop(t, syscall.SIGQUIT, 5*time.Second)
		}
	})
	waitHTTP(t, certs.httpsClient(t), fmt.Sprintf("https://127.0.0.1:%d/healthz", port), p)
	return port
}

// browser is a WebSocket client connected through the proxy over TLS from
// a chosen loopback address.
type browser struct {
	conn   net.Conn
	status int
	rd     *ws.Reader
}

// connectFrom dials the proxy at port from src over TLS, sends the
// upgrade AutobahnJS sends (path /ws, subprotocol wamp) and reads the
// response; on 101 it reads the WELCOME too.
func connectFrom(t *testing.T, src string, port int, certs tlsFiles) *browser {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: certs.pool})
	if err != nil {
		t.Fatalf("TLS to the proxy from %s: %v", src, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp\r\n"+
		"Origin: https://app.example.com\r\n\r\n", port, base64.StdEncoding.EncodeToString(key[:]))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the upgrade's response from %s: %v", src, err)
	}
	b := &browser{conn: conn, status: resp.StatusCode, rd: ws.NewReader(br)}
	if b.status == http.StatusSwitchingProtocols {
		if op, welcome, err := b.rd.ReadMessage(); err != nil || op != ws.OpText || !strings.HasPrefix(string(welcome), "[0,") {
			t.Fatalf("WELCOME through the proxy: %d %q %v", op, welcome, err)
		}
	}
	return b
}

// send writes one masked text frame.
func (b *browser) send(t *testing.T, text string) {
	t.Helper()
	if _, err := b.conn.Write(ws.AppendMaskedFrame(nil, ws.OpText, []byte(text), [4]byte{1, 2, 3, 4})); err != nil {
		t.Fatal(err)
	}
}

// expectText reads the next data message.
func (b *browser) expectText(t *testing.T, want string) {
	t.Helper()
	op, got, err := b.rd.ReadMessage()
	if err != nil || op != ws.OpText || string(got) != want {
		t.Fatalf("got %d %q %v, want %q", op, got, err, want)
	}
}

// waitLog waits for a line of herald's log that holds every part.
func waitLog(t *testing.T, p *process, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.SplitSeq(p.output.String(), "\n") {
			found := true
			for _, part := range parts {
				found = found && strings.Contains(line, part)
			}
			if found {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line holds %q:\n%s", parts, p.output.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkClientAddresses runs the checks both proxies share, with the proxy
// serving TLS on port in front of herald h.
func checkClientAddresses(t *testing.T, h *process, port int, certs tlsFiles) {
	// The upgrade crosses the proxy; herald logs the browser's address and
	// scheme, and frames flow both ways.
	first := connectFrom(t, "127.0.0.5", port, certs)
	if first.status != http.StatusSwitchingProtocols {
		t.Fatalf("first browser: %d, want 101", first.status)
	}
	waitLog(t, h, `"msg":"session opened"`, `"remote":"127.0.0.5`)
	first.send(t, `[5,"acme/news"]`)
	first.send(t, `[7,"acme/news","hi"]`)
	first.expectText(t, `[8,"acme/news","hi"]`)

	// The rate limit counts per browser, not per proxy: the same browser
	// again at once is refused, another one is not.
	if again := connectFrom(t, "127.0.0.5", port, certs); again.status != http.StatusTooManyRequests {
		t.Errorf("the same browser at once: %d, want 429", again.status)
	}
	if other := connectFrom(t, "127.0.0.6", port, certs); other.status != http.StatusSwitchingProtocols {
		t.Errorf("another browser: %d, want 101", other.status)
	}
	waitLog(t, h, `"remote":"127.0.0.6`)

	// A blocked browser gets no answer from herald: the proxy says 502.
	if blocked := connectFrom(t, "127.0.0.9", port, certs); blocked.status != http.StatusBadGateway {
		t.Errorf("blocked browser: %d, want the proxy's 502", blocked.status)
	}
	waitLog(t, h, "blocked", "127.0.0.9")
}

func TestNginxPassesTheBrowsersAddress(t *testing.T) {
	heraldPort := freePort(t)
	h := startHeraldBehindProxy(t, heraldPort, "")
	waitHTTP(t, &http.Client{Timeout: time.Second}, fmt.Sprintf("http://127.0.0.1:%d/healthz", heraldPort), h)
	certs := newTLSFiles(t, t.TempDir())
	port := startNginx(t, certs, "127.0.0.1:"+strconv.Itoa(heraldPort), h)
	checkClientAddresses(t, h, port, certs)
	waitLog(t, h, `"remote":"127.0.0.5`, `"scheme":"https"`)
}

func TestHAProxyPROXYProtocolPassesTheBrowsersAddress(t *testing.T) {
	heraldPort := freePort(t)
	h := startHeraldBehindProxy(t, heraldPort, "  proxy_protocol: true\n")
	certs := newTLSFiles(t, t.TempDir())
	// HAProxy's health checks carry the header too (check-send-proxy), so
	// its start-up wait sees herald's /healthz through the PROXY protocol.
	haproxy := testpeer.Require(t, testpeer.HAProxy)
	port := freePort(t)
	cfg := haproxyConfig(t, port, certs.combined, "127.0.0.1:"+strconv.Itoa(heraldPort))
	cfg = substituteLine(t, cfg, "server herald1 127.0.0.1:"+strconv.Itoa(heraldPort)+" check",
		"server herald1 127.0.0.1:"+strconv.Itoa(heraldPort)+" check send-proxy-v2 check-send-proxy")
	path := writeFile(t, t.TempDir(), "haproxy.cfg", cfg)
	p := startProcess(t, "haproxy", []string{haproxy, "-db", "-f", path}, nil)
	t.Cleanup(func() {
		if p.running() {
			p.stop(t, syscall.SIGTERM, 5*time.Second)
		}
	})
	waitHTTP(t, certs.httpsClient(t), fmt.Sprintf("https://127.0.0.1:%d/healthz", port), p)

	checkClientAddresses(t, h, port, certs)

	// Straight to herald, without the header, a connection is dropped.
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(heraldPort), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
		t.Error("a request without a PROXY header was answered")
	}
	waitLog(t, h, `"reason":"proxy_protocol"`)
}
