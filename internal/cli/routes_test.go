package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldws/herald/internal/ws"
)

// oroTree is the Oro-like directory tree of the topic package's tests:
// Oro's nine routes in their bundles' websocket_routing.yml files.
func oroTree(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../topic/testdata/oro")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func oroConfig(t *testing.T, extra string) string {
	return writeConfig(t, "server:\n  router:\n    resources:\n      - { resource: "+yamlQuote(oroTree(t))+", type: oro }\n"+extra)
}

// runOut runs the command line to completion and returns its stdout.
func runOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	err := Run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), err
}

func TestRoutesListsOroRoutes(t *testing.T) {
	cfg := oroConfig(t, "")
	out, err := runOut(t, "routes", "-c", cfg)
	if err != nil {
		t.Fatalf("routes: %v", err)
	}
	for _, want := range []string{
		"NAME", "oro_sync.ping", "oro/ping", "ping",
		"oro_email.event", "oro/email_event/{user_id}/{organization_id}", `organization_id: \d+|\*, user_id: \d+`,
		"oro_imap.sync_fail", "secured (wildcard)", "EmailBundle/Resources/config/oro/websocket_routing.yml:1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(strings.TrimSpace(out), "\n"); lines != 9 {
		t.Errorf("listing has %d route lines, want 9:\n%s", lines, out)
	}

	out, err = runOut(t, "routes", "-c", cfg, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var routes []routeInfo
	if err := json.Unmarshal([]byte(out), &routes); err != nil || len(routes) != 9 {
		t.Fatalf("JSON listing (%v): %s", err, out)
	}

	out, err = runOut(t, "routes", "-c", cfg, "oro_reminder.remind")
	if err != nil || !strings.Contains(out, "oro/reminder_remind/{user_id}") || strings.Contains(out, "oro_sync.ping") {
		t.Fatalf("one route (%v):\n%s", err, out)
	}
	if _, err := runOut(t, "routes", "-c", cfg, "nope"); err == nil || !strings.Contains(err.Error(), `no route is named "nope"`) {
		t.Fatalf("unknown route name: %v", err)
	}
}

func TestRoutesMatch(t *testing.T) {
	cfg := oroConfig(t, "")
	out, err := runOut(t, "routes", "-c", cfg, "--match", "oro/email_event/5/7")
	if err != nil {
		t.Fatalf("match: %v", err)
	}
	for _, want := range []string{`"oro/email_event/5/7" matches route oro_email.event`, "user_id = 5", "organization_id = 7"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, err = runOut(t, "routes", "-c", cfg, "--match", "oro/email_event/x/7", "--format", "json")
	if !errors.Is(err, errNoMatch) {
		t.Fatalf("a miss returned %v, want errNoMatch", err)
	}
	var mi matchInfo
	if err := json.Unmarshal([]byte(out), &mi); err != nil {
		t.Fatal(err)
	}
	if mi.Matched || len(mi.Near) == 0 || mi.Near[0].Route != "oro_email.event" || !strings.Contains(mi.Near[0].Reason, `"x" does not match requirement \d+`) {
		t.Fatalf("miss explained as %+v", mi)
	}
}

func TestRoutesValidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	broken := write("broken.yml", "acme_chat:\n  pattern: 'acme/{room}'\n  callback: acme.chat\n  requirements: { room: '(?=x)' }\n")
	unmapped := write("unmapped.yml", "acme_chat:\n  pattern: 'acme/chat/{room}'\n  callback: acme.chat\nacme_rpc:\n  pattern: 'acme/rpc/{method}'\n  callback: acme.rpc\n")
	empty := write("empty.yml", "# no routes yet\n")
	cases := []struct {
		name, config string
		want         []string
	}{
		{"bad requirement names file and line", "server:\n  router:\n    resources: [" + yamlQuote(broken) + "]\n", []string{"broken.yml:1", `route "acme_chat"`}},
		{"unmapped callbacks are listed", "server:\n  router:\n    resources: [" + yamlQuote(unmapped) + "]\n", []string{`"acme.chat", used by`, `unmapped.yml:1: route "acme_chat"`, `"acme.rpc", used by`, "unmapped.yml:4"}},
		{"bad handler type", "handlers:\n  acme.chat: shout\n", []string{"handlers.acme.chat.type", `"shout"`}},
		{"webhook without URL", "handlers:\n  acme.chat: { type: webhook }\n", []string{"handlers.acme.chat.url"}},
		{"bad access", "handlers:\n  acme.chat: { type: broadcast, publish: admins }\n", []string{"handlers.acme.chat.publish", `"admins"`}},
		{"bad unknown_topic", "server:\n  router:\n    unknown_topic: drop\n", []string{"server.router.unknown_topic"}},
		{"missing resource", "server:\n  router:\n    resources: [/nonexistent/routing.yml]\n", []string{"herald.yaml:3: server.router.resources[0]: ", "/nonexistent/routing.yml"}},
		// A resource that yields nothing is an error, not a server that
		// closes every subscription.
		{"Oro tree as a plain string", "server:\n  router:\n    resources: [" + yamlQuote(oroTree(t)) + "]\n", []string{
			"herald.yaml:3: server.router.resources[0]: resource " + strconv.Quote(oroTree(t)) + " is an Oro application", "websocket_routing.yml and 6 more routing files",
			"write { resource: " + strconv.Quote(oroTree(t)) + ", type: oro }"}},
		{"glob that matches nothing", "server:\n  router:\n    resources: [" + yamlQuote(filepath.Join(dir, "*.yaml")) + "]\n", []string{
			strconv.Quote(filepath.Join(dir, "*.yaml")) + " yields no routing file", "looked for files matching the glob"}},
		{"routing file without routes", "server:\n  router:\n    resources: [" + yamlQuote(empty) + "]\n", []string{
			"herald.yaml:3: server.router.resources: topic: no routes: " + strconv.Quote(empty), "1 routing file and not one route definition"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeConfig(t, c.config)
			for _, verb := range [][]string{{"routes", "-c", cfg}, {"serve", "-c", cfg, "-p", strconv.Itoa(freePort(t))}} {
				err := runErr(t, verb...)
				for _, want := range c.want {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error %q lacks %q", verb[0], err, want)
					}
				}
			}
		})
	}
	// Mapping the callbacks fixes it.
	cfg := writeConfig(t, "server:\n  router:\n    resources: ["+yamlQuote(unmapped)+"]\nhandlers:\n  acme.chat: broadcast\n  acme.rpc: { type: webhook, url: 'http://127.0.0.1:1/hook' }\n")
	if out, err := runOut(t, "routes", "-c", cfg); err != nil || !strings.Contains(out, "webhook") {
		t.Fatalf("mapped routes (%v):\n%s", err, out)
	}
}

// `herald serve -c` with an Oro tree: the nine routes load, a secured
// channel refuses an anonymous subscriber with Oro's text, broadcast topics
// relay, and an unknown topic closes with 1007.
func TestServeWithOroRouting(t *testing.T) {
	r := startServe(t, "-c", oroConfig(t, "handlers:\n  oro_sync.ping: { type: ping, interval: 50ms }\n"), "-p", strconv.Itoa(freePort(t)))
	if log := r.log.String(); !strings.Contains(log, "routes loaded") || !strings.Contains(log, "routes=9") {
		t.Fatalf("startup log does not report 9 routes:\n%s", log)
	}
	c := upgrade(t, r.addr, nil)
	c.sendText(`[5,"oro/reminder_remind/5"]`)
	if got := string(c.read(ws.OpText)); got != `You are not allowed to subscribe on topic "oro/reminder_remind/5".` {
		t.Fatalf("secured topic answered %q", got)
	}
	c.sendText(`[5,"oro/maintenance"]`)
	c.sendText(`[7,"oro/maintenance",{"isOn":true,"userId":null}]`)
	if got := string(c.read(ws.OpText)); got != `[8,"oro/maintenance",{"isOn":true,"userId":null}]` {
		t.Fatalf("broadcast topic answered %q", got)
	}
	c.sendText(`[5,"oro/ping"]`)
	if got := c.read(ws.OpText); !bytes.Equal(got, []byte(`[8,"oro/ping","Connection keep alive"]`)) {
		t.Fatalf("ping topic sent %q", got)
	}
	c.sendText(`[5,"acme/unknown"]`)
	c.expectClose(ws.CloseInvalidPayload)
	if log := r.log.String(); !strings.Contains(log, `msg="no route matches the topic"`) || !strings.Contains(log, "topic=acme/unknown") || !strings.Contains(log, "near1=") {
		t.Errorf("the unknown topic was not logged:\n%s", log)
	}
}

// A relative resource resolves against the configuration file's directory;
// errors name it as written and as resolved. A plain directory loads every
// routing file below it.
func TestRoutesDirectoryResources(t *testing.T) {
	cfg := writeConfig(t, "server:\n  router:\n    resources: [routes, 'more/*.yml']\nhandlers:\n  acme.chat: broadcast\n")
	dir := filepath.Dir(cfg)
	err := runErr(t, "routes", "-c", cfg)
	for _, want := range []string{
		`resource "routes" (` + filepath.Join(dir, "routes") + `): file or directory not found`,
		`resource "more/*.yml" (` + filepath.Join(dir, "more", "*.yml") + `) yields no routing file`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for p, content := range map[string]string{
		"routes/chat.yml":        "acme_chat:\n  channel: acme/chat/{room}\n  handler: acme.chat\n",
		"routes/rooms/lobby.yml": "acme_lobby:\n  pattern: acme/lobby\n  callback: acme.chat\n",
		"routes/README.md":       "not routes",
		"more/x.yml":             "acme_x:\n  pattern: acme/x\n  callback: acme.chat\n",
	} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runOut(t, "routes", "-c", cfg)
	if err != nil {
		t.Fatalf("routes: %v", err)
	}
	for _, want := range []string{"acme_chat", "routes/chat.yml:1", "acme_lobby", "routes/rooms/lobby.yml:1", "acme_x"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(strings.TrimSpace(out), "\n"); lines != 3 {
		t.Errorf("listing has %d route lines, want 3:\n%s", lines, out)
	}
}
