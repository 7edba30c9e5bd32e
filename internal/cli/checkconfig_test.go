package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// checkConfig runs `herald checkconfig args...` and returns its output,
// its error and its exit status.
func checkConfig(t *testing.T, args ...string) (string, error, int) {
	t.Helper()
	var stdout, stderr syncBuffer
	err := Run(context.Background(), append([]string{"checkconfig"}, args...), &stdout, &stderr)
	if stderr.String() != "" {
		t.Errorf("stderr = %q, want nothing (the output goes to stdout)", stderr.String())
	}
	return stdout.String(), err, ExitCode(err)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	return fmt.Sprint(addr.Port)
}

func TestCheckConfigOK(t *testing.T) {
	out, err, code := checkConfig(t)
	if err != nil || code != 0 {
		t.Fatalf("checkconfig without a file: %v (exit %d)\n%s", err, code, out)
	}
	if !strings.HasPrefix(out, "ok: ") || strings.Count(out, "\n") != 1 {
		t.Errorf("output %q, want one ok line", out)
	}

	// A full configuration whose services are all down: checkconfig
	// connects to none of them, so it passes.
	down := closedPort(t)
	path := writeConfig(t, `server:
  port: 9001
  router:
    resources:
      - { resource: `+yamlQuote(oroTree(t))+`, type: oro }
client:                         # copied from gos_web_socket: a warning
  firewall: main
auth:
  secret: s3cret
  users: { type: sql, driver: postgres, dsn: "postgres://u@127.0.0.1:`+down+`/oro" }
broker: { type: redis, url: "redis://127.0.0.1:`+down+`/0" }
pushers:
  amqp: { host: 127.0.0.1, port: `+down+`, login: guest, password: guest }
api: { key: k }
`)
	out, err, code = checkConfig(t, "-c", path)
	if err != nil || code != 0 {
		t.Fatalf("checkconfig: %v (exit %d)\n%s", err, code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "warning: "+path+":6: client: ignored: ") {
		t.Fatalf("output:\n%s\nwant the client warning, then the summary", out)
	}
	summary := regexp.MustCompile(`^ok: ` + regexp.QuoteMeta(path) + `: listens on 127\.0\.0\.1:9001; 9 routes from 1 resources \(unknown topics: close\); auth: Oro tickets \(users: sql\), anonymous allowed; broker redis; push handlers: amqp; HTTP API on; 1 warnings$`)
	if !summary.MatchString(lines[1]) {
		t.Errorf("summary %q does not match %s", lines[1], summary)
	}
}

func TestCheckConfigListsEveryProblem(t *testing.T) {
	path := writeConfig(t, `log:
  level: verbose
server:
  port: 0
  tls:
    enabled: true
    options: { local_cert: /nonexistent/cert.pem }
broker: { type: redis, url: "http://127.0.0.1:6379" }
`)
	out, err, code := checkConfig(t, "-c", path, "-a", "")
	if code != 1 {
		t.Fatalf("exit %d (%v), want 1", code, err)
	}
	var ce *checkError
	if !errors.As(err, &ce) || ce.problems != 4 {
		t.Fatalf("err = %v, want 4 problems", err)
	}
	want := []string{
		"problem: " + path + `:2: log.level: "verbose" is not one of debug, info, warn, error`,
		"problem: " + path + ":4: server.port: 0 is out of range 1..65535",
		"problem: " + path + ":7: server.tls.options.local_cert: open /nonexistent/cert.pem: no such file or directory",
		"problem: " + path + `:8: broker.url: "http://127.0.0.1:6379": a redis URL starts with redis:// or rediss:// or unix://`,
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant, in file order:\n%s", out, strings.Join(want, "\n"))
	}
	if !strings.Contains(err.Error(), "4 problems") {
		t.Errorf("error %q does not count the problems", err)
	}

	// A flag's value is named as the flag's.
	out, _, code = checkConfig(t, "-p", "70000")
	if code != 1 || !strings.Contains(out, "problem: flag -p/--port: server.port: 70000 is out of range") {
		t.Errorf("-p 70000: exit %d, output %q", code, out)
	}
}

func TestCheckConfigRoutingAndHandlers(t *testing.T) {
	// Problems past the file itself: a callback without a handler, and an
	// amqp section without a login.
	dir := t.TempDir()
	routing := writeFileIn(t, dir, "routing.yml", "acme_chat:\n  channel: acme/chat\n  handler:\n    callback: acme.chat\n")
	path := writeConfig(t, "server:\n  router:\n    resources: ["+yamlQuote(routing)+"]\npushers:\n  amqp: { host: 127.0.0.1 }\n")
	out, err, code := checkConfig(t, "-c", path)
	if code != 1 || !strings.Contains(out, "acme.chat") || !strings.Contains(out, "login") {
		t.Errorf("exit %d, output:\n%s\nwant the unmapped callback and the missing login", code, out)
	}
	if !strings.Contains(out, "problem: "+path+":5: pushers.amqp: amqppush: login is required") {
		t.Errorf("the amqp problem does not name its section's line:\n%s", out)
	}
	if n := strings.Count(out, "problem: "); n != 2 || !strings.Contains(err.Error(), "2 problems") {
		t.Errorf("%d problem lines and %v; want 2 (a problem's further lines are indented)", n, err)
	}
}

// writeFileIn writes a file into dir and returns its path.
func writeFileIn(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckConfigNamesTheEmptyResource(t *testing.T) {
	dir := t.TempDir()
	routing := writeFileIn(t, dir, "routing.yml", "acme_chat:\n  channel: acme/chat\n  handler:\n    callback: acme.chat\n")
	path := writeConfig(t, "server:\n  router:\n    resources:\n      - "+yamlQuote(routing)+"\n      - "+yamlQuote(filepath.Join(dir, "nothing", "*.yml"))+"\nhandlers:\n  acme.chat: broadcast\n")
	out, _, code := checkConfig(t, "-c", path)
	want := "problem: " + path + ":5: server.router.resources[1]: resource "
	if code != 1 || !strings.HasPrefix(out, want) || !strings.Contains(out, "yields no routing file") {
		t.Errorf("exit %d, output:\n%s\nwant a line starting %q", code, out, want)
	}
}
