package cli

import (
	"crypto/tls"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/testpeer"
	"github.com/heraldws/herald/internal/ws"
)

func TestPushArgs(t *testing.T) {
	route, params, data, err := pushArgs([]string{"oro_email.event", "user_id=5", "organization_id=1", `{"a":"b=c"}`})
	if err != nil || route != "oro_email.event" || params["user_id"] != "5" || params["organization_id"] != "1" || string(data) != `{"a":"b=c"}` {
		t.Fatalf("got %q %v %q %v", route, params, data, err)
	}
	if _, _, data, _ := pushArgs([]string{"r", "x=1", "-"}); data != nil {
		t.Fatalf(`"-" should mean stdin, got %q`, data)
	}
	if _, _, _, err := pushArgs([]string{"r", "{}", "x=1"}); err == nil {
		t.Fatal("JSON before a parameter was accepted")
	}
}

// pushConfig is a configuration with Oro's routes, the API key and the
// listen port, plus extra YAML.
func pushConfig(t *testing.T, port int, extra string) string {
	return writeConfig(t, fmt.Sprintf("server:\n  port: %d\n  router:\n    resources:\n      - { resource: %s, type: oro }\napi:\n  key: k\n%s", port, yamlQuote(oroTree(t)), extra))
}

// subscribeOro connects to r and subscribes to oro/maintenance.
func subscribeOro(t *testing.T, r *serveRun) *client {
	c := upgrade(t, r.addr, nil)
	c.sendText(`[5,"oro/maintenance"]`)
	// A PING answered proves the subscription was processed.
	c.send(ws.OpPing, []byte("sync"))
	if got := string(c.read(ws.OpPong)); got != "sync" {
		t.Fatalf("pong %q", got)
	}
	return c
}

func TestPushViaHTTPAndWAMP(t *testing.T) {
	port := freePort(t)
	cfg := pushConfig(t, port, "")
	r := startServe(t, "-c", cfg)
	c := subscribeOro(t, r)

	if _, err := runOut(t, "push", "-c", cfg, "--via", "http", "oro_sync.maintenance", `{"isOn":true}`); err != nil {
		t.Fatalf("push --via http: %v", err)
	}
	if got := string(c.read(ws.OpText)); got != `[8,"oro/maintenance",{"isOn":true}]` {
		t.Fatalf("http push delivered %q", got)
	}
	// WAMP: the data travels as a JSON string, as Gos's WampPusher sends it.
	if _, err := runOut(t, "push", "-c", cfg, "--via", "wamp", "oro_sync.maintenance", `{"isOn":false}`); err != nil {
		t.Fatalf("push --via wamp: %v", err)
	}
	if got := string(c.read(ws.OpText)); got != `[8,"oro/maintenance","{\"isOn\":false}"]` {
		t.Fatalf("wamp push delivered %q", got)
	}
	if _, err := runOut(t, "push", "-c", cfg, "--via", "wamp", "--structured", "oro_sync.maintenance", `[1]`); err != nil {
		t.Fatal(err)
	}
	if got := string(c.read(ws.OpText)); got != `[8,"oro/maintenance",[1]]` {
		t.Fatalf("structured wamp push delivered %q", got)
	}
	for _, bad := range [][]string{
		{"push", "-c", cfg, "oro_sync.maintenance", "1"},                                    // no --via
		{"push", "-c", cfg, "--via", "smoke", "oro_sync.maintenance", "1"},                  // unknown transport
		{"push", "-c", cfg, "--via", "http", "oro_email.event", "user_id=x", "1"},           // bad parameter
		{"push", "-c", cfg, "--via", "http", "oro_sync.maintenance", "{nope"},               // not JSON
		{"push", "-c", cfg, "--via", "amqp", "oro_sync.maintenance", "1"},                   // no pushers.amqp
		{"push", "-c", cfg, "--via", "http", "--key", "wrong", "oro_sync.maintenance", "1"}, // refused
	} {
		if _, err := runOut(t, bad...); err == nil {
			t.Errorf("%q succeeded", bad)
		}
	}
}

// rabbitUp fails t, naming RabbitMQ's start command, when RabbitMQ does
// not answer.
func rabbitUp(t *testing.T) {
	t.Helper()
	testpeer.RequireService(t, testpeer.RabbitMQ)
}

// `herald serve` consumes pushers.amqp's queue and `herald push --via amqp`
// feeds it: the subscriber gets the message.
func TestPushViaAMQPThroughServe(t *testing.T) {
	rabbitUp(t)
	port := freePort(t)
	// A queue of its own, deleted at the end; the exchange name is fixed
	// so that runs leave no exchanges behind (rabbitmqctl cannot delete
	// one).
	name := "herald_cli_test_" + strconv.Itoa(port)
	cfg := pushConfig(t, port, fmt.Sprintf("pushers:\n  amqp:\n    host: 127.0.0.1\n    login: guest\n    password: guest\n    queue_name: %s\n    exchange_name: herald_cli_test\n    connection_name: %s\n    consume_delay: 0s\n", name, name))
	t.Cleanup(func() { exec.Command("rabbitmqctl", "delete_queue", name).Run() })
	pushUntilDelivered(t, cfg, "amqp")
}

// `herald serve` binds pushers.zmq's PULL socket and `herald push --via
// zmq` connects to it: the subscriber gets the message.
func TestPushViaZMQThroughServe(t *testing.T) {
	port := freePort(t)
	cfg := pushConfig(t, port, fmt.Sprintf("pushers:\n  zmq:\n    host: 127.0.0.1\n    port: %d\n    linger: 1000\n    consume_delay: 0\n", freePort(t)))
	pushUntilDelivered(t, cfg, "zmq")
}

// pushUntilDelivered runs herald serve with cfg and pushes through `herald
// push --via via` until a subscriber gets the message: the push handler
// may still be connecting or binding when the first push goes out.
func pushUntilDelivered(t *testing.T, cfg, via string) {
	t.Helper()
	r := startServe(t, "-c", cfg)
	c := subscribeOro(t, r)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.log.String(), "push handler started") {
		if time.Now().After(deadline) {
			t.Fatalf("no push handler:\n%s", r.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	data := fmt.Sprintf(`{"via":%q}`, via)
	var got string
	for got == "" && time.Now().Before(deadline) {
		if _, err := runOut(t, "push", "-c", cfg, "--via", via, "oro_sync.maintenance", data); err != nil {
			t.Fatalf("push --via %s: %v", via, err)
		}
		c.conn.SetReadDeadline(time.Now().Add(time.Second))
		if op, payload, err := c.rd.ReadMessage(); err == nil && op == ws.OpText {
			got = string(payload)
		}
	}
	if want := `[8,"oro/maintenance",` + data + `]`; got != want {
		t.Fatalf("%s push delivered %q, want %q\n%s", via, got, want, r.log.String())
	}
}

// `herald push --via wamp` follows pushers.wamp as Gos's WampPusher does:
// ssl connects with wss://, origin is the Origin header (the bare host
// when absent) and the server's origin check sees it; --origin and --url
// take precedence. Without --via, the only pusher on is used.
func TestPushViaWAMPFollowsPushersWAMP(t *testing.T) {
	certPath, keyPath, pool := writeSelfSigned(t)
	port := freePort(t)
	r := startServe(t, "-c", writeConfig(t, fmt.Sprintf(
		"server:\n  port: %d\n  origin_check: true\n  tls:\n    enabled: true\n    options:\n      local_cert: %s\n      local_pk: %s\norigins: [app.example.com]\nlog:\n  level: debug\n",
		port, yamlQuote(certPath), yamlQuote(keyPath))))
	c := upgrade(t, r.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	c.sendText(`[5,"acme/wamp"]`)
	c.send(ws.OpPing, []byte("sync"))
	if got := string(c.read(ws.OpPong)); got != "sync" {
		t.Fatalf("pong %q", got)
	}
	pushers := func(wamp string) string {
		return writeConfig(t, "pushers:\n  wamp: {"+wamp+"}\n")
	}
	n := 0
	delivered := func(what string, args ...string) {
		t.Helper()
		n++
		data := strconv.Itoa(n)
		if _, err := runOut(t, append(append([]string{"push", "--insecure"}, args...), "acme/wamp", data)...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got, want := string(c.read(ws.OpText)), `[8,"acme/wamp","`+data+`"]`; got != want {
			t.Fatalf("%s: delivered %s, want %s", what, got, want)
		}
	}
	refused := func(what, want string, args ...string) {
		t.Helper()
		_, err := runOut(t, append(append([]string{"push", "--insecure", "--timeout", "1s"}, args...), "acme/wamp", "0")...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error containing %q", what, err, want)
		}
	}
	// The server logs each session's Origin (at debug level), possibly
	// just after the session's first message.
	sessionOrigin := func(origin string) {
		t.Helper()
		opened := regexp.MustCompile(`msg="session opened" .* origin=` + regexp.QuoteMeta(origin) + `( |\n)`)
		deadline := time.Now().Add(waitTimeout)
		for !opened.MatchString(r.log.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("no session opened with Origin %s in the serve log:\n%s", origin, r.log.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	allowed := pushers(fmt.Sprintf("host: 127.0.0.1, port: %d, ssl: true, origin: app.example.com", port))
	delivered("ssl and an allowed origin", "-c", allowed, "--via", "wamp")
	sessionOrigin("app.example.com")
	delivered("the only pusher on, without --via", "-c", allowed)

	evil := pushers(fmt.Sprintf("host: 127.0.0.1, port: %d, ssl: true, origin: evil.example.com", port))
	refused("an origin the server does not allow", "403", "-c", evil, "--via", "wamp")
	delivered("--origin over pushers.wamp.origin", "-c", evil, "--via", "wamp", "--origin", "https://app.example.com")
	sessionOrigin("https://app.example.com")

	bare := pushers(fmt.Sprintf("host: localhost, port: %d, ssl: true", port))
	delivered("no origin: the bare host, as Gos", "-c", bare, "--via", "wamp")
	sessionOrigin("localhost")

	plain := pushers(fmt.Sprintf("host: 127.0.0.1, port: %d, ssl: false", port))
	refused("ws:// to a TLS port", "not connected", "-c", plain, "--via", "wamp")

	off := pushers(fmt.Sprintf("enabled: false, host: 127.0.0.1, port: %d, ssl: true", port))
	refused("enabled: false", "pushers.wamp.enabled: false", "-c", off, "--via", "wamp")
	delivered("enabled: false, but --url", "-c", off, "--via", "wamp", "--url", "wss://127.0.0.1:"+strconv.Itoa(port)+"/")
}
