package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestValidateErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"enum", "log:\n  level: verbose\n",
			`c.yaml:2: log.level: "verbose" is not one of debug, info, warn, error`},
		{"enum in a list", "auth:\n  jwt:\n    algorithms:\n      - HS256\n      - none\n    secret: s\n",
			`c.yaml:5: auth.jwt.algorithms[1]: "none" is not one of HS256, RS256, EdDSA`},
		{"absent key: its section's line", "server:\n  tls:\n    enabled: true\n",
			`c.yaml:2: server.tls.options.local_cert: required when server.tls.enabled is true`},
		{"handler", "handlers:\n  acme.chat:\n    type: broadcast\n    publish: everybody\n",
			`c.yaml:4: handlers.acme.chat.publish: "everybody" is not one of anyone, authenticated, backend, nobody`},
		{"pushers", "pushers:\n  zmq:\n    host: 127.0.0.1\n    protocol: pgm\n",
			`c.yaml:4: pushers.zmq.protocol: "pgm" is not supported (tcp or ipc)`},
		{"trusted proxy", "server:\n  trusted_proxies:\n    - 10.0.0.1\n    - nope\n",
			`c.yaml:4: server.trusted_proxies[1]: "nope" is neither an IP address nor a CIDR`},
		{"negative limit", "server:\n  max_messages_rate: -0.5\n",
			`c.yaml:2: server.max_messages_rate: -0.5 is negative (0 means unlimited)`},
		{"broker", "\nbroker:\n  type: kafka\n",
			`c.yaml:3: broker.type: "kafka" is not one of memory, redis, nats`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseWithEnv([]byte(tc.in), "c.yaml", noEnv)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if got := errLines(err); !slices.Contains(got, tc.want) {
				t.Errorf("Validate() =\n%s\nwant a line %q", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Source != "c.yaml" || e.Line == 0 {
				t.Errorf("errors.As(*Error) = %+v; want one positioned in c.yaml", e)
			}
		})
	}
}

func TestErrorsNameWhatOverrodeTheFile(t *testing.T) {
	c, err := ParseWithEnv([]byte("server:\n  port: 9000\n"), "c.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	c.Server.Port = 70000
	c.SetBy("server.port", "flag -p/--port")
	want := "flag -p/--port: server.port: 70000 is out of range 1..65535"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v; want %q", err, want)
	}

	if err := c.ApplyServerDSN("//0.0.0.0:8081"); err != nil {
		t.Fatal(err)
	}
	if got := c.Errorf("server.host", "test").Error(); got != ServerDSNEnv+": server.host: test" {
		t.Errorf("after ApplyServerDSN, Errorf(server.host) = %q", got)
	}
}

func TestErrorfWraps(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "cert.pem")
	c, err := ParseWithEnv([]byte("server:\n  tls:\n    enabled: true\n    options:\n      local_cert: "+missing+"\n"), "c.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "c.yaml:5: server.tls.options.local_cert: ") {
		t.Errorf("Validate() = %v; want c.yaml:5 and errors.Is(os.ErrNotExist)", err)
	}
}

func TestGosSectionsLoadWithWarnings(t *testing.T) {
	tests := []struct {
		file string
		want []string // "line path" of every warning, in file order
	}{
		{"testdata/gos3.yaml", []string{"2 authentication", "9 client", "16 shared_config", "27 server.tls.options.verify_peer", "32 ping", "37 websocket_client"}},
		{"testdata/gos1.yaml", []string{"2 client", "8 shared_config", "9 assetic", "18 rpc", "19 topics", "20 periodic", "21 servers"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseWithEnv(data, tc.file, noEnv)
			if err != nil {
				t.Fatalf("a copied gos_web_socket section must load: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			var got []string
			for _, w := range c.Warnings() {
				got = append(got, strings.Join([]string{strconv.Itoa(w.Line), w.Path}, " "))
				why, _ := gosIgnoredKey(w.Path)
				if want := tc.file + ":" + strconv.Itoa(w.Line) + ": " + w.Path + ": ignored: " + why; w.Error() != want {
					t.Errorf("warning = %q; want %q", w.Error(), want)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("warnings = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestGosWildcardKeepsTypos(t *testing.T) {
	// A PHP SSL option is accepted with a warning, but a key close to one
	// herald reads is a typo: an error with a suggestion.
	_, err := ParseWithEnv([]byte("server:\n  tls:\n    options:\n      local_crt: x.pem\n"), "c.yaml", noEnv)
	if want := `c.yaml:4: unknown key "server.tls.options.local_crt" (did you mean "local_cert"?)`; err == nil || err.Error() != want {
		t.Errorf("err = %v; want %s", err, want)
	}
	c, err := ParseWithEnv([]byte("server:\n  tls:\n    options:\n      ciphers: HIGH\n"), "c.yaml", noEnv)
	if err != nil || len(c.Warnings()) != 1 || c.Warnings()[0].Path != "server.tls.options.ciphers" {
		t.Errorf("ciphers: err %v, warnings %v; want one warning", err, c.Warnings())
	}
}
