// Package interop_test runs real, non-Go WAMP v1 peers against the herald
// binary: a php-cli script that speaks on the wire exactly like the Gos PHP
// WAMP client (php/gos_client.php) and npm wamp1@0.0.3 under Node
// (node/wamp1_client.js). Each test starts its own `herald serve` on a free
// loopback port and stops it with SIGTERM, asserting a clean exit.
//
// Peers are installed by `bash scripts/peers` (scripts/test runs it). When
// one is missing the test fails and names its install command
// (internal/testpeer).
package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldws/herald/internal/testpeer"
)

const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
	peerTimeout  = 30 * time.Second
	readyTimeout = 15 * time.Second
)

var (
	raceEnabled bool   // set by race_test.go under -race
	heraldBin   string // built once by TestMain, or $HERALD_BIN
	moduleRoot  string
	interopDir  string // this package's directory
)

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "herald-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
	code := setup(tmp)
	if code != 0 {
		os.RemoveAll(tmp)
		os.Exit(code)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(exitCode int) {
		os.RemoveAll(tmp)
		os.Exit(exitCode)
	}))
}

func setup(tmp string) int {
	var err error
	if interopDir, err = os.Getwd(); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		fmt.Fprintf(os.Stderr, "interop: cannot find the module root (go env GOMOD: %q, %v)\n", gomod, err)
		return 1
	}
	moduleRoot = filepath.Dir(gomod)
	if bin := os.Getenv("HERALD_BIN"); bin != "" { // a prebuilt binary, for debugging
		heraldBin = bin
		return 0
	}
	heraldBin = filepath.Join(tmp, "herald")
	args := []string{"build", "-o", heraldBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/herald")...)
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: go build ./cmd/herald: %v\n%s", err, out)
		return 1
	}
	return 0
}

// ---------------------------------------------------------------------------
// herald as a subprocess

// syncBuffer is an io.Writer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type herald struct {
	host, port string
	log        *syncBuffer
	config     string // the -c file, when one was given
}

func (h *herald) addr() string  { return net.JoinHostPort(h.host, h.port) }
func (h *herald) wsURL() string { return "ws://" + h.addr() + "/" }

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startHerald runs `herald serve -a 127.0.0.1 -p PORT`, waits until the port
// accepts connections, and at test end stops it with SIGTERM, failing the test
// unless it exits 0 within stopTimeout.
func startHerald(t *testing.T, extraArgs ...string) *herald {
	t.Helper()
	h := &herald{host: "127.0.0.1", port: freePort(t), log: &syncBuffer{}}
	for i, a := range extraArgs {
		if a == "-c" && i+1 < len(extraArgs) {
			h.config = extraArgs[i+1]
		}
	}
	cmd := exec.Command(heraldBin, append([]string{"serve", "-a", h.host, "-p", h.port}, extraArgs...)...)
	cmd.Stdout = h.log
	cmd.Stderr = h.log
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start herald: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	t.Cleanup(func() {
		defer func() {
			if t.Failed() {
				t.Logf("herald log:\n%s", h.log.String())
			}
		}()
		select {
		case err := <-exited: // already gone: that is a failure of its own
			t.Errorf("herald exited before the test ended: %v", err)
			return
		default:
		}
		start := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM herald: %v", err)
		}
		select {
		case err := <-exited:
			if err != nil {
				hint := ""
				var ee *exec.ExitError
				if errors.As(err, &ee) && ee.ExitCode() == 66 && raceEnabled {
					hint = " (66: the race detector found a data race: see the log)"
				}
				t.Errorf("herald did not exit 0 on SIGTERM: %v%s (after %v)", err, hint, time.Since(start).Round(time.Millisecond))
			}
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("herald still running %v after SIGTERM; killed", stopTimeout)
		}
	})

	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", h.addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return h
		}
		select {
		case err := <-exited:
			exited <- err // let the cleanup see it
			t.Fatalf("herald exited during start-up: %v\n%s", err, h.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("herald not accepting on %s after %v: %v", h.addr(), startTimeout, err)
		}
	}
}

// ---------------------------------------------------------------------------
// peers

// needPHP returns the command prefix that runs the Gos-like PHP client.
func needPHP(t *testing.T) []string {
	t.Helper()
	return []string{testpeer.Require(t, testpeer.PHP), filepath.Join(interopDir, "php", "gos_client.php")}
}

// needNode returns the command prefix that runs the wamp1 client.
func needNode(t *testing.T) []string {
	t.Helper()
	return []string{testpeer.Require(t, testpeer.NodeWAMP1), filepath.Join(interopDir, "node", "wamp1_client.js")}
}

func phpArgs(t *testing.T, h *herald, args ...string) []string {
	return append(append(needPHP(t), h.host, h.port), args...)
}

func nodeArgs(t *testing.T, h *herald, args ...string) []string {
	return append(append(needNode(t), h.wsURL()), args...)
}

type peerResult struct {
	stdout, stderr string
	elapsed        time.Duration
}

// runPeer runs a peer to completion (killed after peerTimeout) and fails the
// test unless it exits 0.
func runPeer(t *testing.T, argv []string) peerResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	res := peerResult{stdout.String(), stderr.String(), time.Since(start)}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("killed after %v: %w", peerTimeout, err)
		}
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", peerName(argv), err, res.stdout, res.stderr)
	}
	return res
}

// peerName is "script mode args", without the server address.
func peerName(argv []string) string {
	script := filepath.Base(argv[1])
	rest := argv[3:] // node: URL MODE...
	if script == "gos_client.php" {
		rest = argv[4:] // php: HOST PORT MODE...
	}
	name := script + " " + strings.Join(rest, " ")
	if len(name) > 80 {
		name = name[:80] + "..."
	}
	return name
}

// subscriber is a long-running peer in `subscribe TOPIC N` mode.
type subscriber struct {
	name   string
	events chan string // stdout lines: one JSON event payload each
	ready  chan string // the session id, once subscribed
	stderr *syncBuffer
	exited chan error
}

// startSubscriber starts a peer in subscribe mode and waits until it reports
// that its subscription is in place. The process is killed (if still
// running) and reaped at test end.
func startSubscriber(t *testing.T, argv []string) *subscriber {
	t.Helper()
	s := &subscriber{
		name:   peerName(argv),
		events: make(chan string, 64),
		ready:  make(chan string, 1),
		stderr: &syncBuffer{},
		exited: make(chan error, 1),
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() {
		defer pipes.Done()
		defer close(s.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			s.events <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if sid, ok := strings.CutPrefix(line, "ready "); ok {
				select {
				case s.ready <- sid:
				default:
				}
			}
			fmt.Fprintln(s.stderr, line)
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		pipes.Wait()
		s.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // harmless if it already exited
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			t.Errorf("%s: not reaped 5 s after kill", s.name)
		}
	})

	select {
	case <-s.ready:
	case <-time.After(readyTimeout):
		t.Fatalf("%s: not subscribed after %v; stderr: %s", s.name, readyTimeout, s.stderr.String())
	}
	return s
}

// next returns the next event the subscriber printed.
func (s *subscriber) next(t *testing.T) string {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatalf("%s: exited before receiving the event; stderr: %s", s.name, s.stderr.String())
		}
		return ev
	case <-time.After(readyTimeout):
		t.Fatalf("%s: no event after %v; stderr: %s", s.name, readyTimeout, s.stderr.String())
	}
	return ""
}

// wait waits for the subscriber to exit by itself and checks it exited 0.
func (s *subscriber) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.exited:
		s.exited <- err // keep it for the cleanup
		if err != nil {
			t.Errorf("%s: %v; stderr: %s", s.name, err, s.stderr.String())
		}
	case <-time.After(readyTimeout):
		t.Errorf("%s: still running %v after its last event", s.name, readyTimeout)
	}
}

// ---------------------------------------------------------------------------
// helpers

func decodeJSON(t *testing.T, what, text string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &v); err != nil {
		t.Fatalf("%s: not JSON: %v: %q", what, err, text)
	}
	return v
}

func assertSameJSON(t *testing.T, what, got, want string) {
	t.Helper()
	g, w := decodeJSON(t, what+" (got)", got), decodeJSON(t, what+" (want)", want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %s, want %s", what, got, want)
	}
}

// publishResult is what gos_client.php prints in publish and subpub modes.
type publishResult struct {
	Session    string            `json:"session"`
	CloseMS    float64           `json:"close_ms"`
	CloseBytes string            `json:"close_bytes"`
	OwnEvents  []json.RawMessage `json:"own_events"`
}

func parsePublish(t *testing.T, r peerResult) publishResult {
	t.Helper()
	var p publishResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &p); err != nil {
		t.Fatalf("php publish output: %v: %q (stderr %q)", err, r.stdout, r.stderr)
	}
	return p
}

var sessionIDRe = regexp.MustCompile(`^[0-9a-f]{23,32}$`)

// ---------------------------------------------------------------------------
// tests

// The Gos client reads the WELCOME only from the bytes that came with the
// 101 (compat.md §1.1): herald must write both in one go, every time.
func TestPHPSequentialConnectsAllGetWelcome(t *testing.T) {
	h := startHerald(t)
	const n = 20
	r := runPeer(t, phpArgs(t, h, "connect-many", strconv.Itoa(n)))
	var res struct {
		N        int               `json:"n"`
		Failures int               `json:"failures"`
		Errors   []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("connect-many output: %v: %q", err, r.stdout)
	}
	if res.N != n || res.Failures != 0 {
		t.Errorf("WELCOME failures: %d of %d (want 0); first errors, with the bytes buffered after the status line:", res.Failures, res.N)
		for i, e := range res.Errors {
			if i == 3 {
				break
			}
			t.Errorf("  %s", e)
		}
	}

	r = runPeer(t, phpArgs(t, h, "connect-only"))
	var one struct {
		Session string `json:"session"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &one); err != nil {
		t.Fatalf("connect-only output: %v: %q", err, r.stdout)
	}
	if !sessionIDRe.MatchString(one.Session) {
		t.Errorf("session id %q: want 23-32 chars of [0-9a-f]", one.Session)
	}
}

func TestPHPPublishPHPSubscribe(t *testing.T) {
	h := startHerald(t)
	const topic = "acme/channel"
	// The largest PUBLISH within herald's default 64 KiB message limit: its
	// 65536-byte payload takes the client's 64-bit frame length form.
	envelope := len(`[7,"acme\/channel",""]`) // as PHP json_encode writes it
	big := `"` + strings.Repeat("x", 65536-envelope) + `"`
	events := []struct{ name, json string }{
		// PHP json_encode escapes '/' and non-ASCII: the server must pass the meaning through.
		{"object", `{"msg":"h\u00e9llo \/ world","n":[1,2.5,-3],"nested":{"ok":true,"nil":null}}`},
		// Gos's WampPusher publishes the event as a JSON string (double-encoded).
		{"gos pusher string", `"{\"user\":\"john\",\"text\":\"` + strings.Repeat("hi ", 60) + `\"}"`},
		{"64-bit length", big},
	}
	sub := startSubscriber(t, phpArgs(t, h, "subscribe", topic, strconv.Itoa(len(events))))
	for _, ev := range events {
		runPeer(t, phpArgs(t, h, "publish", topic, ev.json))
		got := sub.next(t)
		assertSameJSON(t, "event "+ev.name, got, ev.json)
	}
	sub.wait(t)
}

// Gos's disconnect() blocks in fread() until the server answers its CLOSE;
// against a server that does not, the PHP process hangs for
// default_socket_timeout (60 s). 2 s is a correctness bound, not a benchmark.
func TestPHPDisconnectIsPrompt(t *testing.T) {
	h := startHerald(t)
	for i := 0; i < 3; i++ {
		r := runPeer(t, phpArgs(t, h, "publish", "acme/channel", `{"i":`+strconv.Itoa(i)+`}`))
		p := parsePublish(t, r)
		t.Logf("close took %.1f ms; server sent %s", p.CloseMS, p.CloseBytes)
		if p.CloseMS >= 2000 {
			t.Errorf("disconnect took %.0f ms (want < 2000): the server did not answer the client's CLOSE promptly", p.CloseMS)
		}
		// The answer must be a CLOSE frame (FIN + opcode 8).
		if !strings.HasPrefix(p.CloseBytes, "88") {
			t.Errorf("server's reply to CLOSE starts %q, want a CLOSE frame (0x88...)", p.CloseBytes)
		}
	}
}

func TestNodeAndPHPPubSub(t *testing.T) {
	const topic = "acme/channel"
	t.Run("php publishes, wamp1 subscribes", func(t *testing.T) {
		h := startHerald(t)
		sub := startSubscriber(t, nodeArgs(t, h, "subscribe", topic, "1"))
		want := `{"from":"php","path":"a\/b","list":[1,"two",{"three":3}]}`
		runPeer(t, phpArgs(t, h, "publish", topic, want))
		assertSameJSON(t, "event", sub.next(t), want)
		sub.wait(t)
	})
	t.Run("wamp1 publishes, php subscribes", func(t *testing.T) {
		h := startHerald(t)
		sub := startSubscriber(t, phpArgs(t, h, "subscribe", topic, "1"))
		want := `{"from":"node","unicode":"日本","n":42}`
		runPeer(t, nodeArgs(t, h, "publish", topic, want))
		assertSameJSON(t, "event", sub.next(t), want)
		sub.wait(t)
	})
}

// Until routing lands, every CALL is answered with a CALLERROR whose error URI
// is the procedure (as Gos does: errorUri is the resolved procUri).
func TestCallGetsCallError(t *testing.T) {
	h := startHerald(t)
	const proc = "acme/sum"
	t.Run("wamp1", func(t *testing.T) {
		r := runPeer(t, nodeArgs(t, h, "call", proc, `[1,2]`))
		var res struct {
			Error *struct {
				URI  string `json:"uri"`
				Desc string `json:"desc"`
			} `json:"error"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("call output: %v: %q", err, r.stdout)
		}
		if res.Error == nil {
			t.Fatalf("got CALLRESULT %s, want CALLERROR", res.Result)
		}
		if res.Error.URI != proc {
			t.Errorf("CALLERROR uri %q, want %q", res.Error.URI, proc)
		}
	})
	t.Run("gos php", func(t *testing.T) {
		r := runPeer(t, phpArgs(t, h, "call", proc, `[1,2]`))
		msg, ok := decodeJSON(t, "php call output", r.stdout).([]any)
		if !ok || len(msg) < 4 || msg[0] != float64(4) {
			t.Fatalf("got %s, want CALLERROR [4,callId,proc,desc(,details)]", r.stdout)
		}
		if msg[2] != proc {
			t.Errorf("CALLERROR uri %v, want %q", msg[2], proc)
		}
		if len(msg) > 5 {
			t.Errorf("CALLERROR has %d elements, want 4 or 5: %s", len(msg), r.stdout)
		}
	})
}

// PUBLISH [7,t,e,true] (excludeMe): the PHP publisher, itself subscribed, gets
// nothing back, while the wamp1 subscriber gets the event.
func TestExcludeMe(t *testing.T) {
	h := startHerald(t)
	const topic = "acme/exclude"
	sub := startSubscriber(t, nodeArgs(t, h, "subscribe", topic, "1"))
	want := `{"excluded":"publisher"}`
	p := parsePublish(t, runPeer(t, phpArgs(t, h, "subpub", topic, want, `[true]`)))
	if len(p.OwnEvents) != 0 {
		t.Errorf("publisher with excludeMe=true received its own event(s): %s", p.OwnEvents)
	}
	assertSameJSON(t, "event at wamp1 subscriber", sub.next(t), want)
	sub.wait(t)

	// Control: without excludeMe the subscribed publisher does get its event.
	p = parsePublish(t, runPeer(t, phpArgs(t, h, "subpub", topic, want)))
	if len(p.OwnEvents) != 1 {
		t.Errorf("publisher without excludeMe got %d own events, want 1", len(p.OwnEvents))
	}
}
