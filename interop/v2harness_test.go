package interop_test

// The harness of the WAMP v2 peer tests (v2peers_test.go): a v2 router to
// run them against and real v2 peers, AutobahnJS and Autobahn|Python, run as
// child processes that a test scripts line by line.
//
// A peer is interop/autobahn/v2peer.js or interop/python/v2peer.py, started
// as `RUNNER URL REALM SERIALIZER [JOIN_JSON]`. It joins at once and prints
// one JSON object per line on stdout ({"ev":"joined",...} or
// {"ev":"abort",...} first), then reads one JSON command per line on stdin
// ({"op":"subscribe","id":"s1","topic":...}) and answers each with lines
// that carry the command's "id"; v2peer.js documents the protocol in full.
//
//	r := startNexusRouter(t)
//	sub := startAutobahnPy(t, r.URL, r.Realm, "cbor")
//	pub := startAutobahnJS(t, r.URL, r.Realm, "msgpack")
//	sub.do(t, v2Cmd{"op": "subscribe", "id": "s", "topic": "a.b"}, "subscribed")
//	pub.do(t, v2Cmd{"op": "publish", "id": "p", "topic": "a.b", "args": []any{1},
//		"options": v2Cmd{"acknowledge": true}}, "published")
//	ev := sub.expect(t, lineIs("event", "sub", "s", "args", []any{1}), v2Timeout)

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/golang-jwt/jwt/v5"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	"github.com/gammazero/nexus/v3/wamp"

	"github.com/heraldws/herald/internal/testpeer"
)

const (
	// v2Timeout bounds every wait for a peer's line.
	v2Timeout = 10 * time.Second
	// v2StopTimeout is how long a peer has to leave and exit once its
	// stdin is closed, before it is killed.
	v2StopTimeout = 3 * time.Second
)

// ---------------------------------------------------------------------------
// the router

// The realm and the users every v2 router of these tests has. herald's v2
// configuration for the same tests is to carry the same ones.
const (
	v2Realm = "realm1"

	ticketAuthID = "ticket-user"
	ticketRole   = "ticket-role"

	craAuthID = "cra-user"
	craSecret = "cra-secret-1"
	craRole   = "cra-role"

	// A WAMP-CRA user whose secret is salted: the router keeps (and signs
	// with) PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen), base64,
	// and sends salt, iterations and keylen in the CHALLENGE.
	craSaltedAuthID    = "cra-salted-user"
	craSaltedSecret    = "cra-salted-secret-1"
	craSaltedRole      = "cra-salted-role"
	craSaltedSalt      = "herald-salt-1"
	craSaltedIters     = 1000
	craSaltedKeyLength = 32
)

// ticketSecret is the ticket user's ticket: a JWT that herald checks with
// v2JWTKey (username ticketAuthID, role ticketRole), and that nexus keeps
// as the user's static ticket.
var ticketSecret = func() string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "42", "username": ticketAuthID, "roles": []string{ticketRole}, "exp": time.Now().Add(24 * time.Hour).Unix(),
	}).SignedString([]byte(v2JWTKey))
	if err != nil {
		panic(err)
	}
	return s
}()

// v2JWTKey signs ticketSecret.
const v2JWTKey = "v2-jwt-key-for-the-ticket-user"

// A v2Router is a WAMP v2 router on loopback with realm v2Realm: anonymous
// sessions allowed, the ticket and WAMP-CRA users above, the meta API on,
// publisher and caller disclosure allowed when asked for.
type v2Router struct {
	// Name says which router it is, in failures.
	Name string
	// URL is its WebSocket URL, ws://127.0.0.1:PORT/.
	URL string
	// Realm is the realm the users are on.
	Realm string
	// quirks are the spec checks this router is known to fail, by name,
	// with what it does instead: tests skip exactly those checks (and log
	// them) rather than assert the router's own behaviour.
	quirks map[string]string
}

// quirk tells whether r is known to fail the spec check named name, and if
// so logs what r does instead.
func (r *v2Router) quirk(t *testing.T, name string) bool {
	t.Helper()
	why, ok := r.quirks[name]
	if ok {
		t.Logf("%s: spec check %q not made: %s", r.Name, name, why)
	}
	return ok
}

// nexusQuirks are where nexus v3.3.0 differs from the WAMP spec, as found
// by these tests (see v2peers_test.go).
//
// Not a departure from the spec but a bug the tests steer around: nexus
// builds one EVENT.Details map per publication, hands it to the send
// goroutine of every subscriber, and writes into it while doing so
// (details.topic for each pattern-based subscription, details.publisher for
// each subscriber when the publisher is disclosed), a data race that -race
// reports, failing the run. So in these tests a publication that is
// disclosed or matched by a pattern-based subscription reaches a single
// subscriber ("one subscriber only" below).
var nexusQuirks = map[string]string{
	"count_subscribers": "nexus registers the meta procedure as wamp.subscription.count_suscribers (sic), so " +
		"wamp.subscription.count_subscribers answers wamp.error.no_such_procedure",
	"lookup_null": "wamp.subscription.lookup and wamp.registration.lookup answer 0, not null, when nothing matches",
	"abort_dropped": "nexus's websocketPeer.Close discards the messages still queued, so an ABORT can be " +
		`lost and the client sees only CLOSE 1000 "goodbye"`,
	"empty_list_null": "an empty list in a meta procedure's result is null (wamp.registration.list " +
		`{"wildcard": null} when there is no wildcard registration)`,
}

// startNexusRouter runs the nexus v3 router in process as the v2 router.
//
// It is the stand-in until herald serves WAMP v2: then a startHeraldV2
// returning a *v2Router for `herald serve` with the same realm and users
// runs the same tests, and nexusQuirks no longer applies.
func startNexusRouter(t *testing.T) *v2Router {
	t.Helper()
	keys := v2KeyStore{
		ticketAuthID: {method: "ticket", key: ticketSecret, role: ticketRole},
		craAuthID:    {method: "wampcra", key: craSecret, role: craRole},
		craSaltedAuthID: {method: "wampcra", role: craSaltedRole, salt: craSaltedSalt,
			iterations: craSaltedIters, keylen: craSaltedKeyLength,
			key: deriveCRAKey(t, craSaltedSecret, craSaltedSalt, craSaltedIters, craSaltedKeyLength)},
	}
	logs := &syncBuffer{}
	cfg := &router.Config{RealmConfigs: []*router.RealmConfig{{
		URI:           wamp.URI(v2Realm),
		AnonymousAuth: true,
		AllowDisclose: true,
		MetaStrict:    true,
		Authenticators: []auth.Authenticator{
			auth.NewTicketAuthenticator(keys, 5*time.Second),
			auth.NewCRAuthenticator(keys, 5*time.Second),
		},
	}}}
	nr, err := router.NewRouter(cfg, log.New(logs, "nexus ", log.Lmicroseconds))
	if err != nil {
		t.Fatalf("nexus router: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		nr.Close()
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: router.NewWebsocketServer(nr), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		// Peers' cleanups ran first (registered later): close the
		// listener, then the router, which ends the sessions left.
		if err := srv.Close(); err != nil {
			t.Errorf("close nexus's http server: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("nexus's http server: %v", err)
		}
		nr.Close()
		if t.Failed() {
			t.Logf("nexus log:\n%s", logs.String())
		}
	})
	return &v2Router{
		Name:   "nexus",
		URL:    "ws://" + ln.Addr().String() + "/",
		Realm:  v2Realm,
		quirks: nexusQuirks,
	}
}

// deriveCRAKey is the salted WAMP-CRA key of secret: base64 of
// PBKDF2-HMAC-SHA256, as the peers derive it from the CHALLENGE.
func deriveCRAKey(t *testing.T, secret, salt string, iterations, keylen int) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iterations, keylen)
	if err != nil {
		t.Fatalf("pbkdf2: %v", err)
	}
	return base64.StdEncoding.EncodeToString(key)
}

// v2User is one user of a v2KeyStore.
type v2User struct {
	method, key, role string
	salt              string
	iterations        int
	keylen            int
}

// v2KeyStore is the nexus auth.KeyStore of the users, by authid.
type v2KeyStore map[string]v2User

// AuthKey returns the ticket or the WAMP-CRA key of authid.
func (ks v2KeyStore) AuthKey(authid, authmethod string) ([]byte, error) {
	u, ok := ks[authid]
	if !ok || u.method != authmethod {
		return nil, fmt.Errorf("no %s user %q", authmethod, authid)
	}
	return []byte(u.key), nil
}

// PasswordInfo returns the salting of authid's WAMP-CRA secret, if any.
func (ks v2KeyStore) PasswordInfo(authid string) (string, int, int) {
	u := ks[authid]
	return u.salt, u.keylen, u.iterations
}

// AuthRole returns the role of authid.
func (ks v2KeyStore) AuthRole(authid string) (string, error) {
	u, ok := ks[authid]
	if !ok {
		return "", fmt.Errorf("no user %q", authid)
	}
	return u.role, nil
}

// Provider names the key store.
func (ks v2KeyStore) Provider() string { return "static" }

// ---------------------------------------------------------------------------
// the peers

// A v2Kind is a WAMP v2 client library with its runner script.
type v2Kind struct {
	// Name is the library, in test names and failures.
	Name string
	// argv returns the program and script that run the runner.
	argv func(t *testing.T) []string
	// disclose tells whether the library can ask for disclose_me.
	disclose bool
	// callCanceling tells whether the library as a callee announces
	// call_canceling, and so is interrupted by a cancelled call and can be
	// sent progressive results (the spec counts a callee without
	// call_canceling as one without progressive_call_results).
	callCanceling bool
	// checksURIs tells whether the library refuses an invalid URI itself,
	// before the router can.
	checksURIs bool
	// waitsForCancel tells whether a cancelled call ends with the router's
	// ERROR (autobahn-js with mode "kill") or at once in the library
	// ("cancelled").
	waitsForCancel bool
}

var (
	autobahnJS = v2Kind{
		Name: "autobahn-js",
		argv: func(t *testing.T) []string {
			return []string{testpeer.Require(t, testpeer.AutobahnJS), filepath.Join(interopDir, "autobahn", "v2peer.js")}
		},
		disclose:       true,
		waitsForCancel: true,
	}
	autobahnPy = v2Kind{
		Name: "autobahn-python",
		argv: func(t *testing.T) []string {
			return []string{testpeer.Require(t, testpeer.AutobahnPython), filepath.Join(interopDir, "python", "v2peer.py")}
		},
		callCanceling: true,
		checksURIs:    true,
	}
)

// v2Join is how a peer joins: the HELLO's authmethods and authid, and the
// ticket or WAMP-CRA secret it answers the CHALLENGE with.
type v2Join struct {
	AuthMethods []string `json:"authmethods,omitempty"`
	AuthID      string   `json:"authid,omitempty"`
	Ticket      string   `json:"ticket,omitempty"`
	Secret      string   `json:"secret,omitempty"`
}

// v2Cmd is a command to a peer (or any JSON object in one).
type v2Cmd map[string]any

// v2Line is one line a peer printed.
type v2Line map[string]any

// ev is the line's kind.
func (l v2Line) ev() string { s, _ := l["ev"].(string); return s }

// get returns the value at a dotted path: "details.topic", "args.0".
func (l v2Line) get(path string) (any, bool) {
	var v any = map[string]any(l)
	for _, k := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[k]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// id returns the WAMP ID at path, failing t when there is none.
func (l v2Line) id(t *testing.T, path string) uint64 {
	t.Helper()
	v, _ := l.get(path)
	f, ok := v.(float64)
	if !ok || f <= 0 || f != float64(uint64(f)) {
		t.Fatalf("%s: no ID (%v) in %v", path, v, l)
	}
	return uint64(f)
}

// str returns the string at path, or "".
func (l v2Line) str(path string) string {
	v, _ := l.get(path)
	s, _ := v.(string)
	return s
}

// asJSON is v as JSON decodes it into an any: numbers become float64, so
// that values built in Go compare with decoded lines.
func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("asJSON(%#v): %v", v, err))
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// lineIs matches a line of kind ev whose values at the paths of kv (pairs
// of a dotted path and a value) are those values, compared as JSON.
func lineIs(ev string, kv ...any) func(v2Line) bool {
	if len(kv)%2 != 0 {
		panic("lineIs: odd key/value list")
	}
	want := make([]any, len(kv))
	for i := 1; i < len(kv); i += 2 {
		want[i] = asJSON(kv[i])
	}
	return func(l v2Line) bool {
		if l.ev() != ev {
			return false
		}
		for i := 0; i < len(kv); i += 2 {
			got, ok := l.get(kv[i].(string))
			if !ok || !reflect.DeepEqual(got, want[i+1]) {
				return false
			}
		}
		return true
	}
}

// A v2Peer is a running peer.
type v2Peer struct {
	// Kind is its library.
	Kind v2Kind
	// Name identifies it in failures: library, serializer, a number.
	Name string
	// Welcome is its first line, once waitJoined has seen it.
	Welcome v2Line

	stdin  io.WriteCloser
	stderr *syncBuffer
	exited chan error // the Wait result, once stdout and stderr are drained

	mu    sync.Mutex
	lines []v2Line
	taken []bool          // lines an expect returned
	grew  chan struct{}   // closed when a line arrives or stdout ends
	eof   bool            // stdout ended
	junk  strings.Builder // stdout that was not a JSON object
}

var v2PeerCount struct {
	sync.Mutex
	n int
}

// startV2Peer starts a peer of kind that joins realm at url with
// serializer (json, msgpack or cbor) as join says. It does not wait for the
// join: waitJoined does, or an expect of the "abort" line. At test end its
// stdin is closed (the peer leaves and exits) and it is killed if still
// running after v2StopTimeout; the process is always reaped.
func startV2Peer(t *testing.T, kind v2Kind, url, realm, serializer string, join v2Join) *v2Peer {
	t.Helper()
	joinJSON, err := json.Marshal(join)
	if err != nil {
		t.Fatal(err)
	}
	v2PeerCount.Lock()
	v2PeerCount.n++
	n := v2PeerCount.n
	v2PeerCount.Unlock()
	p := &v2Peer{
		Kind:   kind,
		Name:   fmt.Sprintf("%s/%s#%d", kind.Name, serializer, n),
		stderr: &syncBuffer{},
		exited: make(chan error, 1),
		grew:   make(chan struct{}),
	}
	argv := append(kind.argv(t), url, realm, serializer, string(joinJSON))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = p.stderr
	cmd.WaitDelay = time.Second
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.Name, err)
	}
	read := make(chan struct{})
	go func() { // ends at the peer's exit (EOF on stdout)
		defer close(read)
		p.read(stdout)
	}()
	go func() {
		<-read
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		var err error
		select {
		case err = <-p.exited:
		case <-time.After(v2StopTimeout):
			_ = cmd.Process.Kill()
			err = <-p.exited
			t.Logf("%s: killed, still running %v after its stdin closed", p.Name, v2StopTimeout)
		}
		if t.Failed() {
			t.Logf("%s exited (%v); its lines:\n%s\nstderr:\n%s", p.Name, err, p.transcript(), p.stderr.String())
		}
	})
	return p
}

// read collects the peer's stdout lines until EOF.
func (p *v2Peer) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var l v2Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l == nil {
			p.mu.Lock()
			fmt.Fprintf(&p.junk, "%s\n", sc.Text())
			p.mu.Unlock()
			continue
		}
		p.mu.Lock()
		p.lines = append(p.lines, l)
		p.taken = append(p.taken, false)
		close(p.grew)
		p.grew = make(chan struct{})
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, stdout)
	p.mu.Lock()
	p.eof = true
	close(p.grew)
	p.grew = make(chan struct{})
	p.mu.Unlock()
}

// transcript is every line the peer printed, for failures.
func (p *v2Peer) transcript() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for i, l := range p.lines {
		j, _ := json.Marshal(l)
		mark := " "
		if p.taken[i] {
			mark = "*"
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, j)
	}
	if p.junk.Len() > 0 {
		fmt.Fprintf(&b, "  (not JSON) %s", p.junk.String())
	}
	return b.String()
}

// startAutobahnJS starts an AutobahnJS peer (anonymous, or as join says)
// and waits until it has joined.
func startAutobahnJS(t *testing.T, url, realm, serializer string, join ...v2Join) *v2Peer {
	t.Helper()
	return autobahnJS.start(t, url, realm, serializer, join...)
}

// startAutobahnPy starts an Autobahn|Python peer (anonymous, or as join
// says) and waits until it has joined.
func startAutobahnPy(t *testing.T, url, realm, serializer string, join ...v2Join) *v2Peer {
	t.Helper()
	return autobahnPy.start(t, url, realm, serializer, join...)
}

// start starts a peer of kind (anonymous, or as join says) and waits until
// it has joined.
func (kind v2Kind) start(t *testing.T, url, realm, serializer string, join ...v2Join) *v2Peer {
	t.Helper()
	var j v2Join
	if len(join) > 0 {
		j = join[0]
	}
	p := startV2Peer(t, kind, url, realm, serializer, j)
	p.waitJoined(t)
	return p
}

// waitJoined waits for the peer's "joined" line, fails t on anything else
// (an ABORT), and returns the line (also kept in p.Welcome).
func (p *v2Peer) waitJoined(t *testing.T) v2Line {
	t.Helper()
	l := p.expect(t, func(l v2Line) bool { return l.ev() == "joined" || l.ev() == "abort" }, v2Timeout)
	if l.ev() != "joined" {
		t.Fatalf("%s did not join: %v", p.Name, l)
	}
	p.Welcome = l
	return l
}

// session is the peer's WAMP session ID.
func (p *v2Peer) session(t *testing.T) uint64 {
	t.Helper()
	if p.Welcome == nil {
		t.Fatalf("%s: session asked before it joined", p.Name)
	}
	return p.Welcome.id(t, "session")
}

// send writes cmd to the peer as one line.
func (p *v2Peer) send(t *testing.T, cmd v2Cmd) {
	t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatalf("%s: command %v: %v", p.Name, cmd, err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("%s: send %s: %v", p.Name, b, err)
	}
}

// expect waits up to timeout for a line that matches and that no earlier
// expect returned, and returns it (the first such, in arrival order). It
// fails t at the timeout or when the peer's output ends first.
func (p *v2Peer) expect(t *testing.T, match func(v2Line) bool, timeout time.Duration) v2Line {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i, l := range p.lines {
			if !p.taken[i] && match(l) {
				p.taken[i] = true
				p.mu.Unlock()
				return l
			}
		}
		grew, eof := p.grew, p.eof
		p.mu.Unlock()
		if eof {
			t.Fatalf("%s: exited without the line expected; lines:\n%s\nstderr:\n%s", p.Name, p.transcript(), p.stderr.String())
		}
		select {
		case <-grew:
		case <-deadline.C:
			t.Fatalf("%s: not the line expected in %v; lines (* = matched before):\n%s\nstderr:\n%s",
				p.Name, timeout, p.transcript(), p.stderr.String())
		}
	}
}

// none fails t if a line the peer printed so far, and that no expect
// returned, matches. Used after a later line (a marker event) came: events
// of one publisher reach a subscriber in the order published.
func (p *v2Peer) none(t *testing.T, match func(v2Line) bool, what string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, l := range p.lines {
		if !p.taken[i] && match(l) {
			t.Errorf("%s: %s, but got %v", p.Name, what, l)
		}
	}
}

// do sends cmd (which has an "id") and waits for its reply: the first line
// with that id that is not a progress line. It fails t unless the reply is
// of kind want ("" takes any).
func (p *v2Peer) do(t *testing.T, cmd v2Cmd, want string) v2Line {
	t.Helper()
	id, ok := cmd["id"].(string)
	if !ok || id == "" {
		t.Fatalf("%s: command without a string id: %v", p.Name, cmd)
	}
	p.send(t, cmd)
	l := p.expect(t, func(l v2Line) bool { return l["id"] == id && l.ev() != "progress" }, v2Timeout)
	if want != "" && l.ev() != want {
		t.Fatalf("%s: %v: got %v, want a %q line", p.Name, cmd, l, want)
	}
	return l
}

// call runs a call of procedure with args (nil for none) and options (nil
// for none) and returns the final line: result, error or cancelled.
func (p *v2Peer) call(t *testing.T, id, procedure string, args []any, options v2Cmd) v2Line {
	t.Helper()
	cmd := v2Cmd{"op": "call", "id": id, "procedure": procedure}
	if args != nil {
		cmd["args"] = args
	}
	if options != nil {
		cmd["options"] = options
	}
	return p.do(t, cmd, "")
}

// wantResult fails t unless l is a result with args and kwargs (nil: none).
func wantResult(t *testing.T, l v2Line, args []any, kwargs map[string]any) {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	if !lineIs("result", "args", args, "kwargs", kwargs)(l) {
		t.Errorf("got %v, want a result with args %v, kwargs %v", l, args, kwargs)
	}
}

// wantNullResult fails t unless l is a result of one null: [null], or no
// arguments at all, since autobahn hands both over as null (Python's None)
// and the runners cannot tell them apart.
func wantNullResult(t *testing.T, l v2Line) {
	t.Helper()
	if !lineIs("result", "args", []any{nil}, "kwargs", map[string]any{})(l) && !lineIs("result", "args", []any{}, "kwargs", map[string]any{})(l) {
		t.Errorf("got %v, want a result of null", l)
	}
}

// wantError fails t unless l is an error with the URI.
func wantError(t *testing.T, l v2Line, uri string) {
	t.Helper()
	if l.ev() != "error" || l.str("error") != uri {
		t.Errorf("got %v, want error %s", l, uri)
	}
}

// linesFor returns, in arrival order, the lines so far whose "id" is id
// (a command's replies and progress), marking them taken.
func (p *v2Peer) linesFor(id string) []v2Line {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []v2Line
	for i, l := range p.lines {
		if l["id"] == id {
			p.taken[i] = true
			out = append(out, l)
		}
	}
	return out
}
