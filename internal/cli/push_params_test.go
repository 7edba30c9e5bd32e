package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldws/herald/internal/ws"
)

// A parameter that breaks its requirement only by case is refused when
// the channel is generated, by `herald push` (exit status 1, a line naming
// the parameter) and by the server's API for a push that leaves generation
// to it, instead of being generated, published and then matched by no
// route.
func TestPushRefusesAParameterThatBreaksItsRequirementByCase(t *testing.T) {
	dir := t.TempDir()
	routing := filepath.Join(dir, "routing.yml")
	if err := os.WriteFile(routing, []byte("acme_chat:\n  channel: acme/chat/{room}\n  handler: acme.chat\n  requirements: { room: '[a-z]+' }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("server:\n  port: %d\n  router:\n    resources: [%s]\nhandlers:\n  acme.chat: broadcast\napi:\n  key: k\n", port, yamlQuote(routing)))
	r := startServe(t, "-c", cfg)
	c := upgrade(t, r.addr, nil)
	c.sendText(`[5,"acme/chat/lobby"]`)
	c.send(ws.OpPing, []byte("sync"))
	c.read(ws.OpPong)

	const want = `parameter "room" must match "[a-z]+" ("BAD" given)`
	for _, via := range []string{"http", "wamp"} {
		_, err := runOut(t, "push", "-c", cfg, "--via", via, "acme_chat", "room=BAD", `{"msg":"hi"}`)
		if err == nil || !strings.Contains(err.Error(), want) || ExitCode(err) != ExitFailure {
			t.Errorf("push --via %s room=BAD: %v (exit %d); want exit %d and %q", via, err, ExitCode(err), ExitFailure, want)
		}
	}
	// Without routing files of its own, the HTTP pusher lets the server
	// generate the channel: the server refuses it with 422 bad_params.
	_, err := runOut(t, "push", "--url", r.url, "--key", "k", "--via", "http", "acme_chat", "room=BAD", `{"msg":"hi"}`)
	if err == nil || !strings.Contains(err.Error(), "422 bad_params") || !strings.Contains(err.Error(), want) {
		t.Errorf("push --via http without routing: %v; want the server's 422 bad_params", err)
	}
	// The same push with a valid parameter is delivered, and nothing else
	// was.
	if _, err := runOut(t, "push", "-c", cfg, "--via", "http", "acme_chat", "room=lobby", `{"msg":"hi"}`); err != nil {
		t.Fatalf("push room=lobby: %v", err)
	}
	if got := string(c.read(ws.OpText)); got != `[8,"acme/chat/lobby",{"msg":"hi"}]` {
		t.Fatalf("subscriber got %q", got)
	}
}
