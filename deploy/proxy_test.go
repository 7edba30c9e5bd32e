package deploy_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/config"
)

// oroPingInterval is how often OroSyncBundle's oro/ping topic broadcasts to
// its subscribers (herald's ping handler does the same by default).
const oroPingInterval = 50 * time.Second

// TestProxyIdleTimeoutsOutlastPings checks that neither proxy cuts an idle
// WebSocket that herald keeps alive: the idle timeout after the upgrade
// (nginx proxy_read_timeout, HAProxy timeout tunnel) is above herald.yaml's
// keepalive_interval and above Oro's ping.
func TestProxyIdleTimeoutsOutlastPings(t *testing.T) {
	cfg, err := config.Load("herald.yaml")
	if err != nil {
		t.Fatalf("deploy/herald.yaml: %v", err)
	}
	if !cfg.Server.KeepalivePing {
		t.Fatal("deploy/herald.yaml: server.keepalive_ping is off; the proxies' comments rely on it")
	}
	keepalive := cfg.Server.KeepaliveInterval.D()

	for _, c := range []struct{ file, pattern string }{
		{"nginx.conf", `(?m)^\s*proxy_read_timeout\s+(\d+s);`},
		{"haproxy.cfg", `(?m)^\s*timeout\s+tunnel\s+(\d+s)\b`},
	} {
		m := regexp.MustCompile(c.pattern).FindAllStringSubmatch(readDeployFile(t, c.file), -1)
		if len(m) != 1 {
			t.Errorf("%s: %d settings match %s, want 1", c.file, len(m), c.pattern)
			continue
		}
		idle, err := time.ParseDuration(m[0][1])
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if idle <= keepalive || idle <= oroPingInterval {
			t.Errorf("%s: idle timeout %v, want above keepalive_interval %v and Oro's ping %v", c.file, idle, keepalive, oroPingInterval)
		}
	}
}

// TestNginxConfigTemplates checks that each value deploy/nginx.conf says a
// test substitutes sits on one line of its own, comments aside.
func TestNginxConfigTemplates(t *testing.T) {
	text := readDeployFile(t, "nginx.conf")
	for _, old := range []string{
		"127.0.0.1:8080",
		"listen 8443 ssl;",
		"/etc/nginx/tls/herald.crt",
		"/etc/nginx/tls/herald.key",
		"ws.example.com",
	} {
		substituteLine(t, text, old, "x")
	}
}
