package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchRun runs `herald bench args...` to completion.
func benchRun(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Run(ctx, append([]string{"bench"}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

// benchJSON is the part of the JSON summary the tests read.
type benchJSON struct {
	Target   string `json:"target"`
	EndedBy  string `json:"ended_by"`
	OK       bool   `json:"ok"`
	Conns    int    `json:"conns"`
	Sources  int    `json:"sources"`
	Via      string `json:"via"`
	Protocol string `json:"protocol"`
	Ack      bool   `json:"ack"`
	Connect  struct {
		Connected        int     `json:"connected"`
		Failed           int     `json:"failed"`
		HandshakesPerSec float64 `json:"handshakes_per_sec"`
		Subscribed       int     `json:"subscribed"`
		Dropped          int     `json:"dropped"`
	} `json:"connect"`
	Publish struct {
		Intended int     `json:"intended"`
		Sent     int     `json:"sent"`
		PerSec   float64 `json:"per_sec"`
		Latency  struct {
			Count int64   `json:"count"`
			P50   float64 `json:"p50"`
			P99   float64 `json:"p99"`
			Max   float64 `json:"max"`
		} `json:"latency_us"`
	} `json:"publish"`
	Delivery struct {
		Expected            int64   `json:"expected"`
		Delivered           int64   `json:"delivered"`
		Unique              int64   `json:"unique"`
		PerSec              float64 `json:"per_sec"`
		Lost                int64   `json:"lost"`
		Duplicates          int64   `json:"duplicates"`
		OutOfOrder          *int64  `json:"out_of_order"`
		SubscribersWithLoss int     `json:"subscribers_with_loss"`
	} `json:"delivery"`
	Latency struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50"`
		P90   float64 `json:"p90"`
		P99   float64 `json:"p99"`
		P999  float64 `json:"p999"`
		Max   float64 `json:"max"`
	} `json:"latency_us"`
	Memory struct {
		Measured               bool    `json:"measured"`
		Source                 string  `json:"source"`
		RSSBefore              int64   `json:"rss_before_bytes"`
		RSSAfter               int64   `json:"rss_after_bytes"`
		PerConn                float64 `json:"per_conn_bytes"`
		ServerConnectionsAfter int64   `json:"server_connections_after"`
		IdleSeconds            float64 `json:"idle_seconds"`
	} `json:"memory"`
	Errors     []string `json:"errors"`
	ErrorCount int64    `json:"error_count"`
}

// checkBenchOK asserts a complete run of conns × messages deliveries.
func checkBenchOK(t *testing.T, s benchJSON, conns, messages int) {
	t.Helper()
	d := s.Delivery
	want := int64(conns * messages)
	if !s.OK || s.EndedBy != "complete" || s.Connect.Connected != conns || s.Connect.Subscribed != conns ||
		d.Expected != want || d.Delivered != want || d.Unique != want || d.Lost != 0 || d.Duplicates != 0 || d.OutOfOrder == nil ||
		s.Latency.Count != want || s.Latency.P50 <= 0 || s.Latency.P99 < s.Latency.P50 || s.Latency.Max < s.Latency.P999 ||
		d.PerSec <= 0 || s.Connect.HandshakesPerSec <= 0 || s.Errors == nil || s.ErrorCount != 0 {
		t.Errorf("summary %+v", s)
	}
	if pl := s.Publish.Latency; pl.Count != int64(s.Publish.Intended) || pl.P50 <= 0 || pl.P99 < pl.P50 || pl.Max < pl.P99 {
		t.Errorf("publisher latency %+v", pl)
	}
}

// `herald bench --json -` against `herald serve`: standard output is the
// JSON summary alone, the human summary goes to standard error, and a run
// with no loss exits 0.
func TestBenchJSONAgainstServe(t *testing.T) {
	r := startServe(t, "-a", "127.0.0.1", "-p", strconv.Itoa(freePort(t)))
	stdout, stderr, err := benchRun(t, "--json", "-", "--quiet", "--conns", "100", "--topics", "2", "--messages", "20", "--publishers", "2", r.url)
	if err != nil || ExitCode(err) != 0 {
		t.Fatalf("bench: %v (exit %d)\nstderr:\n%s", err, ExitCode(err), stderr)
	}
	var s benchJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("standard output is not the JSON summary: %v\n%s", err, stdout)
	}
	checkBenchOK(t, s, 100, 20)
	if s.Target != r.url || s.Conns != 100 || s.Sources != 2 || s.Via != "wamp" || s.Protocol != "wamp1" || s.Publish.Sent != 40 {
		t.Errorf("summary %+v", s)
	}
	// Memory from the server's /metrics, derived from the URL.
	if m := s.Memory; !m.Measured || m.Source != "http://"+r.addr+"/metrics" || m.RSSBefore <= 0 || m.RSSAfter <= 0 || m.ServerConnectionsAfter != 102 {
		t.Errorf("memory %+v", m)
	}
	for _, want := range []string{"connect:     100 conns in", "deliveries:  2000 of expected 2000", "result:      OK (complete"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the human summary on stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "] connect") || strings.Contains(stderr, "subscribed 0") {
		t.Errorf("--quiet printed progress:\n%s", stderr)
	}

	// Without --quiet, a progress line every second (the idle second
	// here); --json FILE writes the file and the summary goes to stdout;
	// the target comes from -c's server section.
	path := filepath.Join(t.TempDir(), "summary.json")
	cfg := writeConfig(t, "server:\n  host: 0.0.0.0\n  port: "+strings.TrimPrefix(r.addr, "127.0.0.1:")+"\n")
	stdout, stderr, err = benchRun(t, "-c", cfg, "--json", path, "--conns", "10", "--messages", "5", "--idle", "1100ms")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "] idle       connected 10/10 (failed 0)  subscribed 10") {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, "result:      OK (complete") {
		t.Errorf("stdout:\n%s", stdout)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s = benchJSON{}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	checkBenchOK(t, s, 10, 5)
	if s.Target != r.url || s.Memory.IdleSeconds != 1.1 {
		t.Errorf("target %s, idle %v", s.Target, s.Memory.IdleSeconds)
	}

	// --ack: every WAMP publication waits for its acknowledgement (the
	// PONG of a PING after it); the summary says what the publishers'
	// latency measured.
	stdout, stderr, err = benchRun(t, "--ack", "--json", "-", "--quiet", "--conns", "10", "--topics", "2", "--messages", "5", r.url)
	if err != nil {
		t.Fatalf("bench --ack: %v\n%s", err, stderr)
	}
	s = benchJSON{}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	checkBenchOK(t, s, 10, 5)
	if !s.Ack || s.Publish.Sent != 10 || !strings.Contains(stderr, "10 samples; time from publish to acknowledged)") {
		t.Errorf("ack %v, sent %d; stderr:\n%s", s.Ack, s.Publish.Sent, stderr)
	}
}

// --proto against `herald serve`: v1, v2 (v2-json) and v2-msgpack run a
// complete burst over WAMP, and v2 ones through the HTTP API too; the
// summary names the protocol as --protocol does; --protocol and --proto
// may both be given when they agree.
func TestBenchProtoAgainstServe(t *testing.T) {
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("server:\n  host: 127.0.0.1\n  port: %d\napi:\n  key: k\n", port))
	startServe(t, "-c", cfg)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--proto", "v1"}, "wamp1"},
		{[]string{"--proto", "v2"}, "wamp2"},
		{[]string{"--proto", "v2-json", "--protocol", "wamp2"}, "wamp2"},
		{[]string{"--proto", "v2-msgpack"}, "wamp2-msgpack"},
		{[]string{"--protocol", "wamp2-msgpack", "--ack"}, "wamp2-msgpack"},
		{[]string{"--proto", "v2", "--via", "http"}, "wamp2"},
		{[]string{"--proto", "v2-msgpack", "--via", "http", "--publishers", "2"}, "wamp2-msgpack"},
	} {
		args := append([]string{"-c", cfg, "--json", "-", "--quiet", "--conns", "40", "--topics", "2", "--messages", "10"}, tc.args...)
		stdout, stderr, err := benchRun(t, args...)
		if err != nil {
			t.Errorf("bench %q: %v\n%s", tc.args, err, stderr)
			continue
		}
		var s benchJSON
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatalf("bench %q: %v\n%s", tc.args, err, stdout)
		}
		checkBenchOK(t, s, 40, 10)
		if s.Protocol != tc.want || !strings.Contains(stderr, ", "+tc.want+" via ") {
			t.Errorf("bench %q: protocol %q, want %q; stderr:\n%s", tc.args, s.Protocol, tc.want, stderr)
		}
	}
}

// Bad usage exits 2 with a clear error, without connecting anywhere.
func TestBenchUsage(t *testing.T) {
	t.Setenv(apiKeyEnv, "")
	cfg := writeConfig(t, "server:\n  port: 1\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ws://10.1.2.3:8080/"}, `host "10.1.2.3" is not a loopback address: bench only targets 127.0.0.0/8, ::1 or localhost`},
		{[]string{"ws://example.com:8080/"}, `host "example.com" is not a loopback address`},
		{[]string{"--conns", "0", "ws://127.0.0.1:1/"}, "conns must be at least 1 (got 0)"},
		{[]string{"--via", "smoke", "ws://127.0.0.1:1/"}, `via "smoke": want wamp, http or amqp`},
		{[]string{"--protocol", "wamp3", "ws://127.0.0.1:1/"}, `protocol "wamp3": want wamp1, wamp2 or wamp2-msgpack`},
		{[]string{"--proto", "v3", "ws://127.0.0.1:1/"}, `--proto "v3": want v1, v2 (or v2-json) or v2-msgpack`},
		{[]string{"--proto", "wamp2", "ws://127.0.0.1:1/"}, `--proto "wamp2": want v1, v2 (or v2-json) or v2-msgpack`},
		{[]string{"--proto", "v2-msgpack", "--protocol", "wamp2", "ws://127.0.0.1:1/"}, "--proto v2-msgpack means --protocol wamp2-msgpack, not --protocol wamp2: give one of them"},
		{[]string{"--proto", "v1", "--protocol", "wamp2-msgpack", "ws://127.0.0.1:1/"}, "--proto v1 means --protocol wamp1, not --protocol wamp2-msgpack"},
		{[]string{"--via", "http", "ws://127.0.0.1:1/"}, "--via http needs an API key: --api-key, $HERALD_API_KEY or api.key of -c"},
		{[]string{"--via", "amqp", "-c", cfg}, "--via amqp needs pushers.amqp in the configuration (-c)"},
		{[]string{"--via", "amqp", "--ack", "--amqp-window", "8", "-c", cfg}, "--ack publishes via amqp with a window of 1: it cannot go with --amqp-window 8"},
		{[]string{"--ack=maybe"}, `invalid value "maybe" for flag --ack: want true or false`},
		{[]string{"--rate", "fast"}, `invalid value "fast" for flag --rate: want a number`},
		{[]string{"--nope"}, "unknown flag --nope for herald bench"},
		{[]string{"ws://127.0.0.1:1/", "ws://127.0.0.1:2/"}, "at most one argument"},
		{[]string{"-c", filepath.Join(t.TempDir(), "absent.yaml")}, "absent.yaml"},
	} {
		_, _, err := benchRun(t, tc.args...)
		if err == nil || ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %q: %v (exit %d), want exit 2 and %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
	if ExitCode(nil) != 0 || ExitCode(fmt.Errorf("x")) != 1 {
		t.Error("ExitCode of nil or a plain error")
	}
}

// Loss exits 1: with Oro's routing and unknown_topic: close, the server
// closes every connection that subscribes to a bench topic.
func TestBenchLossExits1(t *testing.T) {
	port := freePort(t)
	cfg := pushConfig(t, port, "")
	r := startServe(t, "-c", cfg)
	stdout, stderr, err := benchRun(t, "--quiet", "--conns", "20", "--messages", "5", "--subscribe-timeout", "500ms", "--drain", "200ms", "--json", "-", r.url)
	if err == nil || ExitCode(err) != ExitFailure || !strings.Contains(err.Error(), "bench: 100 of 100 expected deliveries missing") {
		t.Fatalf("bench: %v (exit %d)\n%s", err, ExitCode(err), stderr)
	}
	var s benchJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.OK || s.Delivery.Lost != 100 || s.Delivery.SubscribersWithLoss != 20 || s.Connect.Dropped != 20 || !strings.Contains(strings.Join(s.Errors, "\n"), "(1007") {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(stderr, "result:      FAILED") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// The HTTP API: the key comes from -c's api.key.
func TestBenchViaHTTP(t *testing.T) {
	port := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf("server:\n  port: %d\napi:\n  key: s3cret\n", port))
	startServe(t, "-c", cfg)
	stdout, stderr, err := benchRun(t, "-c", cfg, "--via", "http", "--publishers", "3", "--json", "-", "--quiet", "--conns", "50", "--topics", "3", "--messages", "10")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	var s benchJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	checkBenchOK(t, s, 50, 10)
	if s.Via != "http" || s.Publish.Sent != 30 {
		t.Errorf("summary %+v", s)
	}
}

// RabbitMQ → herald serve's AMQP push handler → subscribers: bench
// publishes {"topic","data"} envelopes to pushers.amqp's exchange with
// publisher confirms, as `herald push --via amqp` does.
func TestBenchViaAMQPThroughServe(t *testing.T) {
	rabbitUp(t)
	port := freePort(t)
	name := "herald_bench_test_" + strconv.Itoa(port)
	cfg := writeConfig(t, fmt.Sprintf("server:\n  port: %d\npushers:\n  amqp:\n    host: 127.0.0.1\n    login: guest\n    password: guest\n    queue_name: %s\n    exchange_name: herald_cli_test\n    connection_name: %s\n    consume_delay: 0s\n", port, name, name))
	t.Cleanup(func() { exec.Command("rabbitmqctl", "delete_queue", name).Run() })
	r := startServe(t, "-c", cfg)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.log.String(), "push handler started") {
		if time.Now().After(deadline) {
			t.Fatalf("no push handler:\n%s", r.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stdout, stderr, err := benchRun(t, "-c", cfg, "--via", "amqp", "--publishers", "2", "--json", "-", "--quiet", "--conns", "50", "--topics", "2", "--messages", "100")
	if err != nil {
		t.Fatalf("bench: %v\n%s\nserve log:\n%s", err, stderr, r.log.String())
	}
	var s benchJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	checkBenchOK(t, s, 50, 100)
	if s.Via != "amqp" || s.Publish.Sent != 200 || s.Publish.PerSec <= 0 {
		t.Errorf("summary %+v", s)
	}

	// --ack: a window of 1, each message confirmed before the next
	// (--amqp-window 1 says the same).
	stdout, stderr, err = benchRun(t, "-c", cfg, "--via", "amqp", "--ack", "--amqp-window", "1", "--json", "-", "--quiet", "--conns", "10", "--topics", "2", "--messages", "20")
	if err != nil {
		t.Fatalf("bench --ack: %v\n%s\nserve log:\n%s", err, stderr, r.log.String())
	}
	s = benchJSON{}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	checkBenchOK(t, s, 10, 20)
	if !s.Ack || s.Publish.Sent != 40 || !strings.Contains(stderr, "40 samples; time from publish to confirmed)") {
		t.Errorf("ack %v, sent %d; stderr:\n%s", s.Ack, s.Publish.Sent, stderr)
	}

	// WAMP v2 subscribers, JSON and msgpack: the push handler's events
	// reach them as args[0].
	for _, proto := range []string{"v2", "v2-msgpack"} {
		stdout, stderr, err = benchRun(t, "-c", cfg, "--via", "amqp", "--proto", proto, "--json", "-", "--quiet", "--conns", "20", "--topics", "2", "--messages", "30")
		if err != nil {
			t.Fatalf("bench --proto %s: %v\n%s\nserve log:\n%s", proto, err, stderr, r.log.String())
		}
		s = benchJSON{}
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		checkBenchOK(t, s, 20, 30)
		if s.Via != "amqp" || !strings.HasPrefix(s.Protocol, "wamp2") || s.Publish.Sent != 60 {
			t.Errorf("--proto %s: summary %+v", proto, s)
		}
	}
}
