package cli

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	wampclient "github.com/heraldws/herald/client"
	"github.com/heraldws/herald/server"
)

// clearClientEnv empties the variables the client verbs read, so that the
// test's environment cannot change where they connect.
func clearClientEnv(t *testing.T) {
	t.Helper()
	t.Setenv(backendDSNEnv, "")
	t.Setenv(secretEnv, "")
}

// startHerald serves a herald server with cfg on loopback until the end
// of the test and returns its ws:// URL and address.
func startHerald(t *testing.T, cfg server.Config) (url, addr string, srv *server.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		srv.Shutdown(ctx)
	})
	addr = hs.Listener.Addr().String()
	return "ws://" + addr + "/", addr, srv
}

// subscriber is a WAMP v1 session subscribed to a topic.
type subscriber struct {
	c      *wampclient.Client
	events chan string // "topic event"
}

// subscribe dials url with opts, subscribes to topic and waits until the
// server has processed the subscription (a CALL answered after it).
func subscribe(t *testing.T, url, topic string, opts wampclient.Options) *subscriber {
	t.Helper()
	s := &subscriber{events: make(chan string, 10)}
	opts.OnEvent = func(topic string, event json.RawMessage) { s.events <- topic + " " + string(event) }
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := wampclient.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	s.c = c
	if err := c.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	c.Call(ctx, "sync")
	return s
}

func (s *subscriber) next(t *testing.T) string {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(waitTimeout):
		t.Fatal("no event")
		return ""
	}
}

func (s *subscriber) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Errorf("unexpected event %s", e)
	case <-time.After(100 * time.Millisecond):
	}
}

// silentListener accepts connections and never answers, until the test
// ends.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// resolveFlags parses args as a client verb's flags and resolves them
// with env as the environment.
func resolveFlags(t *testing.T, env map[string]string, args ...string) (*clientTarget, *clientFlags, error) {
	t.Helper()
	var f clientFlags
	cmd := &cobra.Command{Use: "x"}
	f.register(cmd, true)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("flags %q: %v", args, err)
	}
	tgt, err := f.resolve(cmd, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return tgt, &f, err
}

func TestClientFlagsAddress(t *testing.T) {
	file := writeConfig(t, "server:\n  host: 0.0.0.0\n  port: 9001\nauth:\n  secret: filesecret\n")
	file6 := writeConfig(t, "server:\n  host: '::'\n  port: 9002\n  tls:\n    enabled: true\n    options: {local_cert: x.pem}\n")
	fileEmpty := writeConfig(t, "server:\n  host: ''\n")
	dsn := map[string]string{backendDSNEnv: "tcp://10.0.0.1:8081"}
	for _, c := range []struct {
		name     string
		env      map[string]string
		args     []string
		url      string
		host     string
		insecure bool
		ua       string
	}{
		{"default", nil, nil, "ws://127.0.0.1:8080/", "127.0.0.1", false, ""},
		{"file, 0.0.0.0", nil, []string{"-c", file}, "ws://127.0.0.1:9001/", "127.0.0.1", false, ""},
		{"file, :: and TLS", nil, []string{"-c", file6}, "wss://[::1]:9002/", "::1", false, ""},
		{"file, empty host", nil, []string{"-c", fileEmpty}, "ws://:8080/", "", false, ""},
		{"DSN over file", dsn, []string{"-c", file}, "ws://10.0.0.1:8081/", "10.0.0.1", false, ""},
		{"URL over DSN", dsn, []string{"--url", "wss://example.com/ws?x=1"}, "wss://example.com/ws?x=1", "example.com", false, ""},
		{"DSN ssl with path", map[string]string{backendDSNEnv: "ssl://example.com:443/ws/"}, nil, "wss://example.com:443/ws", "example.com", false, ""},
		{"DSN tls, default port", map[string]string{backendDSNEnv: "tls://example.com"}, nil, "wss://example.com:8080/", "example.com", false, ""},
		{"DSN without scheme", map[string]string{backendDSNEnv: "//[::1]:8082"}, nil, "ws://[::1]:8082/", "::1", false, ""},
		{"DSN empty host", map[string]string{backendDSNEnv: "//:8080"}, nil, "ws://:8080/", "", false, ""},
		{"DSN options", map[string]string{backendDSNEnv: "ssl://h:443?context_options[verify_peer]=0&user_agent=oro%2F6"}, nil, "wss://h:443/", "h", true, "oro/6"},
		{"DSN options true", map[string]string{backendDSNEnv: "ssl://h:443?context_options[verify_peer]=1"}, nil, "wss://h:443/", "h", false, ""},
		{"--insecure", nil, []string{"--insecure"}, "ws://127.0.0.1:8080/", "127.0.0.1", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tgt, _, err := resolveFlags(t, c.env, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if tgt.url != c.url || tgt.host != c.host || tgt.insecure != c.insecure || tgt.userAgent != c.ua {
				t.Errorf("got url %q host %q insecure %v ua %q, want %q %q %v %q", tgt.url, tgt.host, tgt.insecure, tgt.userAgent, c.url, c.host, c.insecure, c.ua)
			}
		})
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{backendDSNEnv: "http://h:80"}, nil, `unsupported scheme "http"`},
		{map[string]string{backendDSNEnv: "tcp://h:notaport"}, nil, `invalid port "notaport"`},
		{nil, []string{"--url", "http://h/"}, "the scheme must be ws or wss"},
		{nil, []string{"-c", file + ".absent"}, ".absent"},
	} {
		if _, _, err := resolveFlags(t, c.env, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %q: error %v, want %q", c.env, c.args, err, c.want)
		}
	}
}

func TestClientFlagsSecret(t *testing.T) {
	file := writeConfig(t, "auth:\n  secret: filesecret\n")
	env := map[string]string{secretEnv: "envsecret"}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, nil, ""},
		{nil, []string{"-c", file}, "filesecret"},
		{env, []string{"-c", file}, "envsecret"},
		{env, []string{"-c", file, "--secret", "flag"}, "flag"},
		{env, []string{"--secret", ""}, ""}, // an explicit empty secret: no ticket
	} {
		tgt, f, err := resolveFlags(t, c.env, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		if tgt.secret != c.want {
			t.Errorf("%v %q: secret %q, want %q", c.env, c.args, tgt.secret, c.want)
		}
		opts, err := tgt.options(f)
		if err != nil {
			t.Fatal(err)
		}
		if (opts.Ticket != "") != (c.want != "") {
			t.Errorf("%v %q: ticket %q with secret %q", c.env, c.args, opts.Ticket, c.want)
		}
		if got := opts.Header.Get("Origin"); got != "127.0.0.1" {
			t.Errorf("Origin %q, want 127.0.0.1", got)
		}
	}
	tgt, f, _ := resolveFlags(t, nil, "--secret", "a{b}")
	if _, err := tgt.options(f); err == nil || !strings.Contains(err.Error(), "cannot sign tickets") {
		t.Errorf("secret with braces: %v", err)
	}
}
