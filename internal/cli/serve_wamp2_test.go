package cli

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/internal/ws"
	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/wamp"
)

// v2client is a raw WAMP v2 (wamp.2.json) client.
type v2client struct{ *client }

// dialV2 upgrades to addr with the wamp.2.json subprotocol.
func dialV2(t *testing.T, addr string) v2client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitTimeout))
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	var key [16]byte
	rand.Read(key[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("writing the upgrade request: %v", err)
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("reading the upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Protocol") != "wamp.2.json" {
		t.Fatalf("upgrade: status %d, subprotocol %q; want 101 and wamp.2.json", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	c.rd = ws.NewReader(c.br)
	return v2client{c}
}

func (c v2client) sendMsg(m wamp.Message) {
	c.t.Helper()
	b, err := wamp.V2JSON{}.Append(nil, m)
	if err != nil {
		c.t.Fatalf("encoding %s: %v", m.Kind(), err)
	}
	c.send(ws.OpText, b)
}

func (c v2client) recv() wamp.Message {
	c.t.Helper()
	p := c.read(ws.OpText)
	m, err := wamp.V2JSON{}.Decode(p)
	if err != nil {
		c.t.Fatalf("decoding %s: %v", p, err)
	}
	return m
}

// hello sends HELLO to realm, offering wampcra as authid.
func (c v2client) hello(realm, authid string) {
	c.t.Helper()
	details := `{"roles":{"subscriber":{}},"authmethods":["wampcra"],"authid":` + strconv.Quote(authid) + `}`
	c.sendMsg(&wamp.Hello{Realm: realm, Details: json.RawMessage(details)})
}

// TestServeWAMPv2Keys: wamp.realms and wamp.cra_users reach the server: an
// unlisted realm is refused, and each WAMP-CRA user, plain or salted,
// authenticates with its secret and gets its role.
func TestServeWAMPv2Keys(t *testing.T) {
	t.Setenv("HERALD_TEST_CRA_SECRET", "s3cret")
	path := writeConfig(t, `wamp:
  realms: [com.example.app, acme]
  cra_users:
    - authid: backend
      secret: '%env(HERALD_TEST_CRA_SECRET)%'
      role: ROLE_BACKEND
    - authid: salty
      secret: pepper
      salt: NaCl
      iterations: 10
      keylen: 16
`)
	r := startServe(t, "-c", path, "-a", "127.0.0.1", "-p", strconv.Itoa(freePort(t)))

	c := dialV2(t, r.addr)
	c.hello("realm1", "backend")
	if a, ok := c.recv().(*wamp.Abort); !ok || a.Reason != wamp.URINoSuchRealm {
		t.Errorf("HELLO to realm1, which wamp.realms replaced: got %+v, want ABORT %s", a, wamp.URINoSuchRealm)
	}

	for _, u := range []struct {
		realm, authid, secret, role, salt string
		iterations, keyLen                int
	}{
		{"com.example.app", "backend", "s3cret", "ROLE_BACKEND", "", 0, 0},
		{"acme", "salty", "pepper", "user", "NaCl", 10, 16},
	} {
		c := dialV2(t, r.addr)
		c.hello(u.realm, u.authid)
		ch, ok := c.recv().(*wamp.Challenge)
		if !ok || ch.AuthMethod != wamp.AuthWAMPCRA {
			t.Fatalf("%s: got %+v, want CHALLENGE wampcra", u.authid, ch)
		}
		var extra struct {
			Challenge  string `json:"challenge"`
			Salt       string `json:"salt"`
			Iterations int    `json:"iterations"`
			KeyLen     int    `json:"keylen"`
		}
		if err := json.Unmarshal(ch.Extra, &extra); err != nil {
			t.Fatalf("%s: CHALLENGE extra %s: %v", u.authid, ch.Extra, err)
		}
		if extra.Salt != u.salt || extra.Iterations != u.iterations || extra.KeyLen != u.keyLen {
			t.Errorf("%s: CHALLENGE extra %s; want salt %q, iterations %d, keylen %d", u.authid, ch.Extra, u.salt, u.iterations, u.keyLen)
		}
		key := []byte(u.secret)
		if u.salt != "" {
			derived, err := wamp.CRADeriveKey(u.secret, u.salt, u.iterations, u.keyLen)
			if err != nil {
				t.Fatal(err)
			}
			key = []byte(derived)
		}
		c.sendMsg(&wamp.Authenticate{Signature: wamp.CRASign(key, extra.Challenge), Extra: json.RawMessage(`{}`)})
		w, ok := c.recv().(*wamp.Welcome)
		if !ok {
			t.Fatalf("%s: got %+v, want WELCOME", u.authid, w)
		}
		var d map[string]any
		if err := json.Unmarshal(w.Details, &d); err != nil {
			t.Fatal(err)
		}
		if d["authid"] != u.authid || d["authrole"] != u.role || d["authmethod"] != "wampcra" {
			t.Errorf("%s: WELCOME details %s; want authid %s, authrole %s, authmethod wampcra", u.authid, w.Details, u.authid, u.role)
		}
	}
}

// TestServeWAMPv2Defaults: without the keys, v2 clients join realm1 and
// no one may use WAMP-CRA.
func TestServeWAMPv2Defaults(t *testing.T) {
	if got, want := config.Default().WAMP.Realms, []string{server.DefaultRealm}; !reflect.DeepEqual(got, want) {
		t.Errorf("config's default wamp.realms = %q, want the server's %q", got, want)
	}
	if got := craUsers(nil); got != nil {
		t.Errorf("craUsers(nil) = %+v, want nil", got)
	}
	r := startServe(t, "-a", "127.0.0.1", "-p", strconv.Itoa(freePort(t)))
	c := dialV2(t, r.addr)
	c.sendMsg(&wamp.Hello{Realm: server.DefaultRealm, Details: json.RawMessage(`{"roles":{"subscriber":{}}}`)})
	if w, ok := c.recv().(*wamp.Welcome); !ok {
		t.Errorf("HELLO to %s: got %+v, want WELCOME", server.DefaultRealm, w)
	}
	c = dialV2(t, r.addr)
	c.hello(server.DefaultRealm, "backend")
	if a, ok := c.recv().(*wamp.Abort); !ok || a.Reason != wamp.URINoAuthMethod {
		t.Errorf("wampcra without wamp.cra_users: got %+v, want ABORT %s", a, wamp.URINoAuthMethod)
	}
}

// TestCheckConfigWAMPv2Keys: checkconfig and serve report the keys'
// problems with file:line, as every other key's.
func TestCheckConfigWAMPv2Keys(t *testing.T) {
	path := writeConfig(t, `wamp:
  realms: [realm1, wamp.private, realm1]
  cra_users:
    - authid: backend
      secret: "${CRA_SECRET}"
      iterations: 0
`)
	want := []string{
		"problem: " + path + `:2: wamp.realms[1]: "wamp.private" is in the namespace WAMP reserves for itself (wamp.*)`,
		"problem: " + path + `:2: wamp.realms[2]: duplicate realm "realm1" (first at wamp.realms[0])`,
		"problem: " + path + `:5: wamp.cra_users[0].secret: "${CRA_SECRET}" is not expanded: write '%env(CRA_SECRET)%' to read the variable`,
		"problem: " + path + `:6: wamp.cra_users[0].iterations: 0 is not positive`,
	}
	out, err, code := checkConfig(t, "-c", path)
	if code != 1 || !strings.Contains(err.Error(), "4 problems") {
		t.Errorf("exit %d (%v), want 1 and 4 problems", code, err)
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}

	err = runErr(t, "serve", "-c", path, "-a", "127.0.0.1", "-p", strconv.Itoa(freePort(t)))
	if !strings.Contains(err.Error(), path+`:5: wamp.cra_users[0].secret`) {
		t.Errorf("serve: %v; want the secret's problem with its file:line", err)
	}
}
