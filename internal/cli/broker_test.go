package cli

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/internal/ws"
)

// Two `herald serve` nodes with the same broker section behave as one: a
// publication made through one node's API reaches a subscriber of the
// other.
func TestServeNodesShareABroker(t *testing.T) {
	for _, b := range []struct {
		typ     string
		service testpeer.Service
	}{
		{"redis", testpeer.Redis},
		{"nats", testpeer.NATS},
	} {
		t.Run(b.typ, func(t *testing.T) {
			testpeer.RequireService(t, b.service)
			prefix := fmt.Sprintf("herald-cli-test-%d", time.Now().UnixNano())
			if b.typ == "redis" {
				prefix += ":"
			}
			cfg := func(port int) string {
				return writeConfig(t, fmt.Sprintf("server:\n  port: %d\napi:\n  key: k\nbroker:\n  type: %s\n  prefix: %q\n", port, b.typ, prefix))
			}
			one := startServe(t, "-c", cfg(freePort(t)))
			two := startServe(t, "-c", cfg(freePort(t)))
			c := upgrade(t, two.addr, nil)
			c.sendText(`[5,"acme/cluster"]`)
			c.send(ws.OpPing, []byte("sync"))
			c.read(ws.OpPong)
			req, _ := http.NewRequest("POST", "http://"+one.addr+"/api/publish", strings.NewReader(`{"topic":"acme/cluster","data":{"from":"one"}}`))
			req.Header.Set("X-API-Key", "k")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("publish on node one: %d", resp.StatusCode)
			}
			if got := string(c.read(ws.OpText)); got != `[8,"acme/cluster",{"from":"one"}]` {
				t.Fatalf("node two's subscriber got %q", got)
			}
			for _, n := range []*serveRun{one, two} {
				resp, err := http.Get("http://" + n.addr + "/readyz")
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("/readyz: %v %v", resp, err)
				}
				resp.Body.Close()
			}
		})
	}
}
