package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// selfSigned returns a fresh self-signed certificate for localhost and its
// key, PEM encoded.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

// tlsFiles holds certificate files in a temporary directory.
type tlsFiles struct {
	cert, key, combined, otherKey, encryptedKey, legacyEncryptedKey string
	certPEM                                                         []byte
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	_, otherKeyPEM := selfSigned(t)
	enc := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("not really")})
	legacy := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte("x")})
	return tlsFiles{
		cert:               writeFile(t, dir, "cert.pem", certPEM),
		key:                writeFile(t, dir, "key.pem", keyPEM),
		combined:           writeFile(t, dir, "combined.pem", append(append([]byte{}, certPEM...), keyPEM...)),
		otherKey:           writeFile(t, dir, "other.pem", otherKeyPEM),
		encryptedKey:       writeFile(t, dir, "enc.pem", enc),
		legacyEncryptedKey: writeFile(t, dir, "legacy.pem", legacy),
		certPEM:            certPEM,
	}
}

// noEnv is a lookup that finds nothing.
func noEnv(string) (string, bool) { return "", false }

// mapEnv is a lookup backed by a map.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// errLines splits a joined error into its lines.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestDefault(t *testing.T) {
	c := Default()
	want := &Config{
		Server: Server{
			Host:              "127.0.0.1",
			Port:              8080,
			KeepaliveInterval: Duration(30 * time.Second),
			MaxMessageSize:    1 << 20,
			MaxQueueSize:      4 << 20,
			MaxSubscriptions:  1024,
			MaxPrefixes:       256,
			MaxTopicLength:    1024,
			HandshakeTimeout:  Duration(10 * time.Second),
			WriteTimeout:      Duration(10 * time.Second),
			ShutdownTimeout:   Duration(10 * time.Second),
		},
		WAMP: WAMP{PrefixMode: "ratchet", Realms: []string{"realm1"}},
		Log:  Log{Level: "info", Format: "text"},
		Auth: Auth{Anonymous: true, OnFailure: "oro"},
		API:  API{MaxBodySize: 1 << 20},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Default() = %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	if got := c.Addr(); got != "127.0.0.1:8080" {
		t.Errorf("Addr() = %q", got)
	}
	if tc, err := c.TLSConfig(); tc != nil || err != nil {
		t.Errorf("TLSConfig() = %v, %v; want nil, nil when disabled", tc, err)
	}
	c.Server.Port = 1
	c.WAMP.Realms[0] = "changed"
	if Default().Server.Port != 8080 || Default().WAMP.Realms[0] != "realm1" {
		t.Error("Default() shares state between calls")
	}

	for _, in := range []string{"", "# only a comment\n", "~\n", "---\n", "server:\n", "server: {}\nwamp:\nlog: ~\n"} {
		got, err := ParseWithEnv([]byte(in), "c.yaml", noEnv)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(withoutPositions(got), Default()) {
			t.Errorf("Parse(%q) = %+v, want defaults", in, got)
		}
	}
	got, err := Load("")
	if err != nil || !reflect.DeepEqual(got, Default()) {
		t.Errorf(`Load("") = %+v, %v; want defaults`, got, err)
	}
}

func TestZeroMeansDefault(t *testing.T) {
	in := `
server:
  max_message_size: 0
  max_queue_size: 0
  handshake_timeout: 0
  write_timeout: 0s
  shutdown_timeout: 0
  keepalive_interval: 0
wamp: {prefix_mode: "", realms: []}
log: {level: "", format: ""}
`
	c, err := ParseWithEnv([]byte(in), "c.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server.KeepaliveInterval = 0 // gos key: zero is kept, Validate judges it
	if !reflect.DeepEqual(withoutPositions(c), want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestLoadFullFile(t *testing.T) {
	f := newTLSFiles(t)
	dir := t.TempDir()
	content := `# a full configuration
server:
  host: 0.0.0.0
  port: 8443
  origin_check: true
  keepalive_ping: true
  keepalive_interval: 45
  tls:
    enabled: true
    options:
      local_cert: ` + f.cert + `
      local_pk: ` + f.key + `
      passphrase: ""
      verify_peer: true
      verify_peer_name: true
      allow_self_signed: true
  max_connections: 5000
  max_message_size: 1MiB
  max_queue_size: 4194304
  max_subscriptions: 100
  max_prefixes: 0
  max_topic_length: 2KiB
  max_topics: 100000
  max_connection_rate: 2.5
  max_messages_rate: 100
  trusted_proxies: [10.0.0.0/8, "::1"]
  proxy_protocol: true
  handshake_timeout: 5s
  write_timeout: 1m30s
  shutdown_timeout: 20
  node_id: 0a1b2c3d
origins:
  - example.com
  - www.example.com
wamp:
  prefix_mode: spec
  realms: [realm1, com.example.app]
  cra_users:
    - authid: backend
      secret: s3cret
      role: ROLE_BACKEND
    - authid: salted
      secret: other
      salt: salt123
      iterations: 100
      keylen: 16
log:
  level: debug
  format: json
`
	path := writeFile(t, dir, "herald.yaml", []byte(content))
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Server: Server{
			Host:              "0.0.0.0",
			Port:              8443,
			OriginCheck:       true,
			KeepalivePing:     true,
			KeepaliveInterval: Duration(45 * time.Second),
			TLS: TLS{Enabled: true, Options: TLSOptions{
				LocalCert: f.cert, LocalPK: f.key,
			}},
			MaxConnections:    5000,
			MaxMessageSize:    1 << 20,
			MaxQueueSize:      4 << 20,
			MaxSubscriptions:  100,
			MaxTopicLength:    2 << 10,
			MaxTopics:         100000,
			MaxConnectionRate: 2.5,
			MaxMessagesRate:   100,
			TrustedProxies:    []string{"10.0.0.0/8", "::1"},
			ProxyProtocol:     true,
			HandshakeTimeout:  Duration(5 * time.Second),
			WriteTimeout:      Duration(90 * time.Second),
			ShutdownTimeout:   Duration(20 * time.Second),
			NodeID:            "0a1b2c3d",
		},
		Origins: []string{"example.com", "www.example.com"},
		WAMP: WAMP{PrefixMode: "spec", Realms: []string{"realm1", "com.example.app"}, CRAUsers: []CRAUser{
			{AuthID: "backend", Secret: "s3cret", Role: "ROLE_BACKEND"},
			{AuthID: "salted", Secret: "other", Role: "user", Salt: "salt123", Iterations: new(100), KeyLen: new(16)},
		}},
		Log:  Log{Level: "debug", Format: "json"},
		Auth: Auth{Anonymous: true, OnFailure: "oro"},
		API:  API{MaxBodySize: 1 << 20},
		Dir:  filepath.Dir(path),
	}
	var warned []string
	for _, w := range c.Warnings() {
		warned = append(warned, fmt.Sprintf("%d %s", w.Line, w.Path))
	}
	if want := []string{"14 server.tls.options.verify_peer", "15 server.tls.options.verify_peer_name", "16 server.tls.options.allow_self_signed"}; !slices.Equal(warned, want) {
		t.Errorf("Warnings() = %q; want %q", warned, want)
	}
	if !reflect.DeepEqual(withoutPositions(c), want) {
		t.Fatalf("Load = %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got := c.Addr(); got != "0.0.0.0:8443" {
		t.Errorf("Addr() = %q", got)
	}
	if got := c.Log.SlogLevel().String(); got != "DEBUG" {
		t.Errorf("SlogLevel() = %s", got)
	}

	// Marshal and parse again: the dump is a valid configuration file.
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"max_message_size: 1MiB", "write_timeout: 1m30s", "keepalive_interval: 45s", "max_topic_length: 2KiB", "max_connection_rate: 2.5"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("marshalled config lacks %q:\n%s", s, out)
		}
	}
	again, err := ParseWithEnv(out, "dump.yaml", noEnv)
	if err != nil {
		t.Fatalf("parse marshalled config: %v\n%s", err, out)
	}
	again.Dir = c.Dir // where the file was is not part of its content
	if !reflect.DeepEqual(withoutPositions(again), withoutPositions(c)) {
		t.Errorf("round trip = %+v\nwant %+v", again, c)
	}
}

// withoutPositions returns a copy of c without what records where each
// value came from (file, lines, warnings), to compare values alone.
func withoutPositions(c *Config) *Config {
	cp := *c
	cp.source, cp.lines, cp.setBy, cp.warnings = "", nil, nil, nil
	return &cp
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v; want a not-exist error naming the file", err)
	}
	bad := writeFile(t, dir, "bad.yaml", []byte("server:\n  port: [1]\n"))
	_, err := Load(bad)
	if want := bad + `:2: server.port: want an integer, got a list`; err == nil || err.Error() != want {
		t.Errorf("Load(bad) = %v; want %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Path != "server.port" || e.Source != bad {
		t.Errorf("errors.As(*Error) = %+v", e)
	}
}

func TestStrictKeys(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"nested typo", "server:\n  port: 8080\n\n  keepalive_intervall: 30\n",
			[]string{`config.yaml:4: unknown key "server.keepalive_intervall" (did you mean "keepalive_interval"?)`}},
		{"top-level typo", "orgins: []\n",
			[]string{`config.yaml:1: unknown key "orgins" (did you mean "origins"?)`}},
		{"top level no suggestion", "websocket_server:\n  enabled: true\n",
			[]string{`config.yaml:1: unknown key "websocket_server"`}},
		{"deep typo", "server:\n  tls:\n    options:\n      local_crt: x\n",
			[]string{`config.yaml:4: unknown key "server.tls.options.local_crt" (did you mean "local_cert"?)`}},
		{"transposition", "server:\n  tsl: {}\n",
			[]string{`config.yaml:2: unknown key "server.tsl" (did you mean "tls"?)`}},
		{"case", "log:\n  Level: info\n",
			[]string{`config.yaml:2: unknown key "log.Level" (did you mean "level"?)`}},
		{"wrong section", "server:\n  origins: [a]\nport: 1\n", []string{
			`config.yaml:2: unknown key "server.origins" (did you mean top-level "origins"?)`,
			`config.yaml:3: unknown key "port" (did you mean "server.port"?)`,
		}},
		{"gos wrapper", "gos_web_socket:\n  server: {}\n",
			[]string{`config.yaml:1: unknown key "gos_web_socket" (copy the keys inside gos_web_socket to the top level: server, origins)`}},
		{"duplicate", "server:\n  port: 1\n  port: 2\n",
			[]string{`config.yaml:3: duplicate key "server.port" (first at line 2)`}},
		{"several at once", "a: 1\nserver:\n  b: 2\n  port: x\n", []string{
			`config.yaml:1: unknown key "a"`,
			`config.yaml:3: unknown key "server.b"`,
			`config.yaml:4: server.port: want an integer, got "x"`,
		}},
		{"unknown key in merged anchor", "base: &b {port: 1}\n", []string{`config.yaml:1: unknown key "base"`}},
		{"two documents", "server: {}\n---\nlog: {}\n", []string{`config.yaml:2: a second YAML document; the configuration is one document`}},
		{"syntax", "server:\n\tport: 1\n", []string{`config.yaml:2: found character that cannot start any token`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseWithEnv([]byte(tt.in), "config.yaml", noEnv)
			if c != nil {
				t.Errorf("got a config along with the error")
			}
			if got := errLines(err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestTypeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"server:\n  host: 127.0.0.1\n  port: abc\n", `c.yaml:3: server.port: want an integer, got "abc"`},
		{"server:\n  port: 80.5\n", `c.yaml:2: server.port: want an integer, got "80.5"`},
		{"server:\n  port: \"8080\"\n", `c.yaml:2: server.port: want an integer, got "8080"`},
		{"server:\n  port: 99999999999999999999\n", `c.yaml:2: server.port: want an integer, got "99999999999999999999"`},
		{"server:\n  origin_check: maybe\n", `c.yaml:2: server.origin_check: want a boolean (true or false), got "maybe"`},
		{"server:\n  host: [a, b]\n", `c.yaml:2: server.host: want a string, got a list`},
		{"server: 8080\n", `c.yaml:1: server: want a mapping, got "8080"`},
		{"server:\n  tls: true\n", `c.yaml:2: server.tls: want a mapping, got "true"`},
		{"origins: example.com\n", `c.yaml:1: origins: want a list, got "example.com"`},
		{"origins:\n  - a\n  - {b: c}\n", `c.yaml:3: origins[1]: want a string, got a mapping`},
		{"- server\n", `c.yaml:1: top level: want a mapping, got a list`},
		{"server:\n  keepalive_interval: soon\n", `c.yaml:2: server.keepalive_interval: want a duration such as "10s" or integer seconds, got "soon"`},
		{"server:\n  max_queue_size: lots\n", `c.yaml:2: server.max_queue_size: want a size in bytes such as 65536 or "64KiB", got "lots"`},
		{"server:\n  ? [a]\n  : 1\n", `c.yaml:2: server: keys must be strings, got a list`},
	}
	for _, tt := range tests {
		_, err := ParseWithEnv([]byte(tt.in), "c.yaml", noEnv)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestYAMLFeatures(t *testing.T) {
	in := `
timeouts: &t
  handshake_timeout: 3s
  write_timeout: 4s
`
	if _, err := ParseWithEnv([]byte(in), "c.yaml", noEnv); err == nil {
		t.Fatal("an unknown top-level anchor holder must be rejected")
	}
	in = `
wamp: &w {prefix_mode: spec}
server:
  <<: {host: 10.0.0.1, port: 1}
  port: 2
  yes_no: &on true
origins: [&o a.example, *o]
`
	_, err := ParseWithEnv([]byte(in), "c.yaml", noEnv)
	if want := `c.yaml:6: unknown key "server.yes_no"`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	in = strings.Replace(in, "  yes_no: &on true\n", "  origin_check: yes\n", 1)
	c, err := ParseWithEnv([]byte(in), "c.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Host != "10.0.0.1" || c.Server.Port != 2 || !c.Server.OriginCheck ||
		c.WAMP.PrefixMode != "spec" || !reflect.DeepEqual(c.Origins, []string{"a.example", "a.example"}) {
		t.Errorf("merge/alias/yes: got %+v", c)
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		val     string
		want    Size
		wantErr string
	}{
		{"65536", 65536, ""},
		{`"65536"`, 65536, ""},
		{"64KiB", 64 << 10, ""},
		{"1MiB", 1 << 20, ""},
		{"2GiB", 2 << 30, ""},
		{"512KB", 512000, ""},
		{"3MB", 3000000, ""},
		{"1GB", 1000000000, ""},
		{"100B", 100, ""},
		{"64kib", 64 << 10, ""},
		{"'8 KiB'", 8 << 10, ""},
		{"0", 1 << 20, ""}, // zero means the default
		{"~", 1 << 20, ""},
		{"12XB", 0, `unknown unit "XB"`},
		{"1.5MiB", 0, `want a size in bytes such as 65536 or "64KiB", got "1.5MiB"`},
		{"KiB", 0, `got "KiB"`},
		{"99999999999GiB", 0, "too large"},
		{"[1]", 0, "got a list"},
		{"true", 0, `got "true"`},
	}
	for _, tt := range tests {
		in := "server:\n  max_message_size: " + tt.val + "\n"
		c, err := ParseWithEnv([]byte(in), "c.yaml", noEnv)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "c.yaml:2: server.max_message_size: ") {
				t.Errorf("%s: err = %v, want one containing %q", tt.val, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.val, err)
			continue
		}
		if c.Server.MaxMessageSize != tt.want {
			t.Errorf("%s: got %d, want %d", tt.val, c.Server.MaxMessageSize, tt.want)
		}
	}

	for s, want := range map[Size]string{65536: "64KiB", 1 << 20: "1MiB", 3 << 30: "3GiB", 1000: "1000B", 0: "0B", 1536: "1536B"} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
		if back, err := ParseSize(s.String()); err != nil || back != s {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s.String(), back, err, int64(s))
		}
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		key, val string
		want     time.Duration
		wantErr  string
	}{
		{"keepalive_interval", "30", 30 * time.Second, ""},
		{"keepalive_interval", `"45s"`, 45 * time.Second, ""},
		{"keepalive_interval", "45s", 45 * time.Second, ""},
		{"keepalive_interval", `"45"`, 45 * time.Second, ""},
		{"keepalive_interval", "500ms", 500 * time.Millisecond, ""},
		{"keepalive_interval", "0", 0, ""}, // a gos key: zero stays zero
		{"handshake_timeout", "1m30s", 90 * time.Second, ""},
		{"handshake_timeout", "0", 10 * time.Second, ""}, // zero means the default
		{"write_timeout", "2", 2 * time.Second, ""},
		{"shutdown_timeout", "1h", time.Hour, ""},
		{"write_timeout", "abc", 0, `c.yaml:2: server.write_timeout: want a duration such as "10s" or integer seconds, got "abc"`},
		{"write_timeout", "1.5", 0, `got "1.5"`},
		{"write_timeout", "{}", 0, "got a mapping"},
		{"write_timeout", "99999999999999", 0, `got "99999999999999"`},
	}
	for _, tt := range tests {
		in := "server:\n  " + tt.key + ": " + tt.val + "\n"
		c, err := ParseWithEnv([]byte(in), "c.yaml", noEnv)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: %s: err = %v, want %q", tt.key, tt.val, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %s: %v", tt.key, tt.val, err)
			continue
		}
		got := map[string]Duration{
			"keepalive_interval": c.Server.KeepaliveInterval,
			"handshake_timeout":  c.Server.HandshakeTimeout,
			"write_timeout":      c.Server.WriteTimeout,
			"shutdown_timeout":   c.Server.ShutdownTimeout,
		}[tt.key]
		if got.D() != tt.want {
			t.Errorf("%s: %s: got %v, want %v", tt.key, tt.val, got, tt.want)
		}
	}
}

func TestEnvPlaceholders(t *testing.T) {
	env := mapEnv(map[string]string{
		"PORT": "8081", "HOST": "10.1.2.3", "ONE": "1", "MAYBE": "maybe", "TRUE": "true",
		"DOMAIN": "example.com", "SIZE": "1MiB", "SECS": "45", "EMPTY": "", "WORD": "abc",
		"LEVEL": "debug", "ID": "12345678",
	})
	tests := []struct {
		name, in string
		check    func(*Config) bool
		wantErr  string
	}{
		{"whole value is typed", "server:\n  port: '%env(PORT)%'\n  host: \"%env(HOST)%\"\n",
			func(c *Config) bool { return c.Server.Port == 8081 && c.Server.Host == "10.1.2.3" }, ""},
		{"int processor", "server:\n  port: '%env(int:PORT)%'\n",
			func(c *Config) bool { return c.Server.Port == 8081 }, ""},
		{"bool processor normalises 1", "server:\n  origin_check: '%env(bool:ONE)%'\n  keepalive_ping: '%env(bool:EMPTY)%'\n",
			func(c *Config) bool { return c.Server.OriginCheck && !c.Server.KeepalivePing }, ""},
		{"plain bool", "server:\n  keepalive_ping: '%env(TRUE)%'\n",
			func(c *Config) bool { return c.Server.KeepalivePing }, ""},
		{"string processor into a string", "server:\n  node_id: '%env(string:ID)%'\n",
			func(c *Config) bool { return c.Server.NodeID == "12345678" }, ""},
		{"number into a string", "server:\n  node_id: '%env(ID)%'\n",
			func(c *Config) bool { return c.Server.NodeID == "12345678" }, ""},
		{"embedded placeholders", "origins: ['%env(DOMAIN)%', 'www.%env(DOMAIN)%:%env(PORT)%']\n",
			func(c *Config) bool {
				return reflect.DeepEqual(c.Origins, []string{"example.com", "www.example.com:8081"})
			}, ""},
		{"size and duration", "server:\n  max_queue_size: '%env(SIZE)%'\n  write_timeout: '%env(SECS)%'\n",
			func(c *Config) bool {
				return c.Server.MaxQueueSize == 1<<20 && c.Server.WriteTimeout.D() == 45*time.Second
			}, ""},
		{"empty value is an empty string", "server:\n  host: '%env(EMPTY)%'\n",
			func(c *Config) bool { return c.Server.Host == "" }, ""},
		{"log level", "log: {level: '%env(LEVEL)%'}\n",
			func(c *Config) bool { return c.Log.Level == "debug" }, ""},
		{"percent without env is literal", "server:\n  host: '%kernel.host%'\n",
			func(c *Config) bool { return c.Server.Host == "%kernel.host%" }, ""},
		{"missing", "server:\n  port: 1\n  host: '%env(HERALD_NOPE)%'\n", nil,
			`c.yaml:3: server.host: environment variable "HERALD_NOPE" is not set`},
		{"missing inside a list", "origins:\n  - a\n  - 'x.%env(NOPE)%'\n", nil,
			`c.yaml:3: origins[1]: environment variable "NOPE" is not set`},
		{"string processor keeps a string", "server:\n  port: '%env(string:PORT)%'\n", nil,
			`c.yaml:2: server.port: want an integer, got "8081" (from "%env(string:PORT)%")`},
		{"typed value still checked", "server:\n  port: '%env(WORD)%'\n", nil,
			`c.yaml:2: server.port: want an integer, got "abc" (from "%env(WORD)%")`},
		{"embedded is a string", "server:\n  port: '%env(PORT)%0'\n", nil,
			`c.yaml:2: server.port: want an integer, got "80810" (from "%env(PORT)%0")`},
		{"int processor rejects", "server:\n  port: '%env(int:WORD)%'\n", nil,
			`c.yaml:2: server.port: %env(int:WORD)%: "abc" is not an integer`},
		{"float processor rejects", "server:\n  port: '%env(float:WORD)%'\n", nil,
			`c.yaml:2: server.port: %env(float:WORD)%: "abc" is not a number`},
		{"bool processor rejects", "server:\n  origin_check: '%env(bool:MAYBE)%'\n", nil,
			`c.yaml:2: server.origin_check: %env(bool:MAYBE)%: "maybe" is not a boolean`},
		{"unsupported processor", "server:\n  host: '%env(json:HOST)%'\n", nil,
			`c.yaml:2: server.host: %env(json:HOST)%: unsupported processor "json" (herald supports string, int, float, bool)`},
		{"two processors", "server:\n  port: '%env(int:default:PORT)%'\n", nil,
			`c.yaml:2: server.port: %env(int:default:PORT)%: only one processor is supported`},
		{"bad name", "server:\n  host: '%env(A-B)%'\n", nil,
			`c.yaml:2: server.host: %env(A-B)%: invalid environment variable name "A-B"`},
		{"malformed", "server:\n  host: '%env(HOST'\n", nil,
			`c.yaml:2: server.host: malformed placeholder in "%env(HOST": write %env(NAME)%`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseWithEnv([]byte(tt.in), "c.yaml", env)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("err = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}

	t.Run("Parse uses the process environment", func(t *testing.T) {
		t.Setenv("HERALD_CONFIG_TEST_PORT", "9001")
		c, err := Parse([]byte("server: {port: '%env(int:HERALD_CONFIG_TEST_PORT)%'}\n"), "c.yaml")
		if err != nil || c.Server.Port != 9001 {
			t.Errorf("Parse = %+v, %v; want port 9001", c, err)
		}
	})
}

func TestApplyServerDSN(t *testing.T) {
	tests := []struct {
		dsn      string
		wantAddr string
		wantErr  string
	}{
		{"//0.0.0.0:8080", "0.0.0.0:8080", ""},
		{"tcp://127.0.0.1:8081", "127.0.0.1:8081", ""},
		{"TCP://127.0.0.1:8081", "127.0.0.1:8081", ""},
		{"//example.com", "example.com:8080", ""},
		{"//0.0.0.0:9000/ws?x=1", "0.0.0.0:9000", ""},
		{"0.0.0.0:8082", "0.0.0.0:8082", ""},
		{"[::1]:8080", "[::1]:8080", ""},
		{"//[::]:9001", "[::]:9001", ""},
		{"tcp://[::1]", "[::1]:8080", ""},
		{" //10.0.0.1:7000 ", "10.0.0.1:7000", ""},
		{"//:8080", "", `ORO_WEBSOCKET_SERVER_DSN "//:8080" has no host: Oro treats this as "websocket server disabled"`},
		{"", "", `has no host`},
		{"tcp://", "", `has no host`},
		{"ssl://h:1", "", `unsupported scheme "ssl"`},
		{"//h:0", "", `invalid port "0"`},
		{"//h:65536", "", `invalid port "65536"`},
		{"//h:http", "", `invalid port "http"`},
		{"//::1", "", `write an IPv6 address in brackets`},
		{"//[::1:8080", "", `missing ']'`},
		{"//[::1]8080", "", `unexpected "8080"`},
		{"//u:p@h:1", "", `user information`},
	}
	for _, tt := range tests {
		c := Default()
		err := c.ApplyServerDSN(tt.dsn)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ApplyServerDSN(%q) = %v, want error containing %q", tt.dsn, err, tt.wantErr)
			}
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("ApplyServerDSN(%q) changed the config on error", tt.dsn)
			}
			continue
		}
		if err != nil {
			t.Errorf("ApplyServerDSN(%q): %v", tt.dsn, err)
			continue
		}
		if got := c.Addr(); got != tt.wantAddr {
			t.Errorf("ApplyServerDSN(%q): Addr() = %q, want %q", tt.dsn, got, tt.wantAddr)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("ApplyServerDSN(%q): Validate: %v", tt.dsn, err)
		}
	}
}

func TestAddr(t *testing.T) {
	for host, want := range map[string]string{
		"127.0.0.1": "127.0.0.1:8080", "::1": "[::1]:8080", "[::1]": "[::1]:8080", "localhost": "localhost:8080",
	} {
		c := Default()
		c.Server.Host = host
		if got := c.Addr(); got != want {
			t.Errorf("Addr() with host %q = %q, want %q", host, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	f := newTLSFiles(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // substrings, one per expected error line, in order
	}{
		{"empty host", func(c *Config) { c.Server.Host = " " }, []string{"server.host: must not be empty"}},
		{"port zero", func(c *Config) { c.Server.Port = 0 }, []string{"server.port: 0 is out of range 1..65535"}},
		{"port too big", func(c *Config) { c.Server.Port = 65536 }, []string{"server.port: 65536 is out of range 1..65535"}},
		{"keepalive zero with ping", func(c *Config) { c.Server.KeepalivePing = true; c.Server.KeepaliveInterval = 0 },
			[]string{"server.keepalive_interval: must be positive when server.keepalive_ping is true"}},
		{"keepalive negative", func(c *Config) { c.Server.KeepaliveInterval = Duration(-time.Second) },
			[]string{"server.keepalive_interval: -1s is negative"}},
		{"tls without cert", func(c *Config) { c.Server.TLS.Enabled = true },
			[]string{"server.tls.options.local_cert: required when server.tls.enabled is true"}},
		{"tls cert missing", func(c *Config) { c.Server.TLS.Enabled = true; c.Server.TLS.Options.LocalCert = missing },
			[]string{"server.tls.options.local_cert: open " + missing + ": no such file or directory"}},
		{"tls key missing", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert, LocalPK: missing}}
		}, []string{"server.tls.options.local_pk: open " + missing}},
		{"tls passphrase", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert, LocalPK: f.key, Passphrase: "secret"}}
		}, []string{"server.tls.options.passphrase: encrypted private keys are not supported; decrypt the key"}},
		{"tls encrypted pkcs8 key", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert, LocalPK: f.encryptedKey}}
		}, []string{"server.tls.options.local_pk: encrypted private keys are not supported; decrypt the key"}},
		{"tls encrypted legacy key", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert, LocalPK: f.legacyEncryptedKey}}
		}, []string{"server.tls.options.local_pk: encrypted private keys are not supported"}},
		{"tls cert without key and no local_pk", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert}}
		}, []string{"local_pk is empty, so the file must hold the private key too"}},
		{"tls key mismatch", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert, LocalPK: f.otherKey}}
		}, []string{"private key does not match public key"}},
		{"tls key given as cert", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.key, LocalPK: f.key}}
		}, []string{"server.tls.options.local_cert"}},
		{"max connections negative", func(c *Config) { c.Server.MaxConnections = -1 },
			[]string{"server.max_connections: -1 is negative"}},
		{"message size too small", func(c *Config) { c.Server.MaxMessageSize = 1023 },
			[]string{"server.max_message_size: 1023 bytes is too small (at least 1024)"}},
		{"queue size zero", func(c *Config) { c.Server.MaxQueueSize = 0 },
			[]string{"server.max_queue_size: 0 bytes is not positive"}},
		{"timeouts", func(c *Config) {
			c.Server.HandshakeTimeout, c.Server.WriteTimeout, c.Server.ShutdownTimeout = 0, Duration(-time.Second), 0
		}, []string{"server.handshake_timeout: 0s is not positive", "server.write_timeout: -1s is not positive", "server.shutdown_timeout: 0s is not positive"}},
		{"node id uppercase", func(c *Config) { c.Server.NodeID = "0A1B2C3D" },
			[]string{`server.node_id: "0A1B2C3D" is not 8 lowercase hexadecimal characters`}},
		{"node id short", func(c *Config) { c.Server.NodeID = "abc" }, []string{`server.node_id: "abc"`}},
		{"node id not hex", func(c *Config) { c.Server.NodeID = "0a1b2c3g" }, []string{`server.node_id: "0a1b2c3g"`}},
		{"origin empty", func(c *Config) { c.Origins = []string{"a.example", ""} }, []string{"origins[1]: must not be empty"}},
		{"prefix mode", func(c *Config) { c.WAMP.PrefixMode = "strict" }, []string{`wamp.prefix_mode: "strict" is not one of ratchet, spec`}},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, []string{`log.level: "verbose" is not one of debug, info, warn, error`}},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, []string{`log.format: "xml" is not one of text, json`}},
		{"all joined", func(c *Config) { c.Server.Port = -1; c.Log.Level = ""; c.Origins = []string{""} },
			[]string{"server.port", "origins[0]", "log.level"}},
		{"valid tls, separate key", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert, LocalPK: f.key}}
		}, nil},
		{"valid tls, one file", func(c *Config) {
			c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.combined}}
		}, nil},
		{"tls options ignored when disabled", func(c *Config) { c.Server.TLS.Options = TLSOptions{LocalCert: missing, Passphrase: "x"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			before := *c
			lines := errLines(c.Validate())
			if len(lines) != len(tt.want) {
				t.Fatalf("Validate() = %q, want %d error(s) containing %q", lines, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
			if !reflect.DeepEqual(*c, before) {
				t.Error("Validate modified the config")
			}
		})
	}
}

func TestTLSConfigHandshake(t *testing.T) {
	f := newTLSFiles(t)
	for name, opts := range map[string]TLSOptions{
		"separate key": {LocalCert: f.cert, LocalPK: f.key},
		"one file":     {LocalCert: f.combined},
	} {
		t.Run(name, func(t *testing.T) {
			c := Default()
			c.Server.TLS = TLS{Enabled: true, Options: opts}
			sc, err := c.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			if sc.MinVersion != tls.VersionTLS12 || !reflect.DeepEqual(sc.NextProtos, []string{"http/1.1"}) {
				t.Errorf("TLSConfig = MinVersion %x, NextProtos %q", sc.MinVersion, sc.NextProtos)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(f.certPEM) {
				t.Fatal("bad test certificate")
			}
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			srv := tls.Server(a, sc)
			done := make(chan error, 1)
			go func() { done <- srv.Handshake() }()
			cli := tls.Client(b, &tls.Config{RootCAs: roots, ServerName: "localhost"})
			if err := cli.Handshake(); err != nil {
				t.Fatalf("client handshake: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("server handshake: %v", err)
			}
			if got := cli.ConnectionState().PeerCertificates[0].Subject.CommonName; got != "localhost" {
				t.Errorf("peer CN = %q", got)
			}
		})
	}

	c := Default()
	c.Server.TLS = TLS{Enabled: true, Options: TLSOptions{LocalCert: f.cert, Passphrase: "p"}}
	if sc, err := c.TLSConfig(); sc != nil || err == nil || !strings.Contains(err.Error(), "decrypt the key") {
		t.Errorf("TLSConfig with passphrase = %v, %v", sc, err)
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR", "bogus": "INFO"} {
		if got := (Log{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%q) = %s, want %s", level, got, want)
		}
	}
}

func TestSuggestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"port", "port", 0}, {"prot", "port", 1}, {"host", "port", 2},
		{"keepalive_intervall", "keepalive_interval", 1}, {"", "tls", 3}, {"tsl", "tls", 1},
	} {
		if got := osaDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("osaDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
