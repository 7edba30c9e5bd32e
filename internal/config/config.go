// Package config loads, defaults and validates herald's YAML configuration file.
//
// The keys under server and the top-level origins list use the names and
// defaults of GosWebSocketBundle's gos_web_socket configuration, so a user can
// copy their section over. herald's own keys (limits, timeouts, wamp, log) sit
// next to them. Decoding is strict: an unknown key is an error that names its
// dotted path and line.
//
// The usual sequence is Load (or Parse), then ApplyServerDSN when
// ORO_WEBSOCKET_SERVER_DSN is set, then command-line flags, then Validate.
// Load and Parse do not validate, so that later steps can still fix values.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults. Default returns a Config holding these values, and Parse fills
// the herald limits, timeouts and enumerations that are zero after decoding.
const (
	defaultHost              = "127.0.0.1"
	defaultPort              = 8080
	defaultKeepaliveInterval = 30 * time.Second
	defaultMaxMessageSize    = 1 << 20
	defaultMaxQueueSize      = 4 << 20
	defaultTimeout           = 10 * time.Second
	minMaxMessageSize        = 1024
	defaultMaxSubscriptions  = 1024
	defaultMaxPrefixes       = 256
	defaultMaxTopicLength    = 1024
)

// WAMP topic prefix modes, the values of wamp.prefix_mode.
const (
	// PrefixRatchet resolves CURIE prefixes as Ratchet does (the default).
	PrefixRatchet = "ratchet"
	// PrefixSpec resolves CURIE prefixes as the WAMP v1 specification says.
	PrefixSpec = "spec"
)

// Config is the whole configuration file. The zero value is not ready to use;
// start from Default, Load or Parse.
type Config struct {
	// Server holds the listener settings (gos_web_socket's server section
	// plus herald's limits).
	Server Server `yaml:"server"`
	// Origins lists the host names allowed by the origin check, as
	// gos_web_socket's origins. Default: empty. It only matters when
	// server.origin_check is true.
	Origins []string `yaml:"origins"`
	// WAMP holds WAMP protocol settings.
	WAMP WAMP `yaml:"wamp"`
	// Log holds logging settings.
	Log Log `yaml:"log"`
	// Auth decides who may connect and as whom.
	Auth Auth `yaml:"auth"`
	// API configures the HTTP publish API.
	API API `yaml:"api"`
	// Broker connects several herald nodes.
	Broker Broker `yaml:"broker"`
	// Pushers configures the AMQP, ZMQ and WAMP pushers and push
	// handlers.
	Pushers Pushers `yaml:"pushers"`
	// BlockedIPAddresses lists the addresses (IPs or CIDRs) whose
	// connections are dropped before any HTTP response when
	// server.ip_address_check is on, as gos_web_socket's
	// blocked_ip_addresses.
	BlockedIPAddresses []string `yaml:"blocked_ip_addresses"`
	// Handlers maps route callback names to built-in handlers. Oro's
	// callbacks are mapped by default; an entry here replaces the default.
	Handlers map[string]Handler `yaml:"handlers,omitempty"`

	// Dir is the directory of the configuration file (the working
	// directory for Default); relative router resources resolve from it.
	Dir string `yaml:"-"`

	source   string            // the file name given to Parse
	lines    map[string]int    // key path → line of its key in the file
	setBy    map[string]string // key path → what set it after the file (a flag, a variable)
	warnings []*Warning
}

// Server is the server section.
type Server struct {
	// Host is the address to listen on. Default "127.0.0.1"; use "0.0.0.0"
	// or "::" for all interfaces. An IPv6 address may be written with or
	// without brackets.
	Host string `yaml:"host"`
	// Port is the TCP port, 1..65535. Default 8080.
	Port int `yaml:"port"`
	// OriginCheck enables the check of the Origin header against Origins.
	// Default false.
	OriginCheck bool `yaml:"origin_check"`
	// KeepalivePing makes the server ping every connection every
	// KeepaliveInterval. Default false.
	KeepalivePing bool `yaml:"keepalive_ping"`
	// KeepaliveInterval is the ping period. Default 30s. Integer seconds
	// (as in gos_web_socket) or a Go duration string. It must be positive
	// when KeepalivePing is true.
	KeepaliveInterval Duration `yaml:"keepalive_interval"`
	// TLS configures native TLS. Default disabled.
	TLS TLS `yaml:"tls"`
	// IPAddressCheck drops connections from blocked_ip_addresses, as
	// gos_web_socket's server.ip_address_check. Default false.
	IPAddressCheck bool `yaml:"ip_address_check"`
	// Router holds the routing files and how unmatched topics are treated
	// (gos_web_socket's server.router plus herald's settings).
	Router Router `yaml:"router"`
	// MaxConnections limits simultaneous connections. Default 0, unlimited.
	MaxConnections int `yaml:"max_connections"`
	// MaxMessageSize limits one incoming WebSocket message. Default 1MiB
	// (zero means the default); at least 1024.
	MaxMessageSize Size `yaml:"max_message_size"`
	// MaxQueueSize limits the bytes queued towards one connection; a
	// connection that exceeds it is closed as a slow consumer. Default 4MiB
	// (zero means the default).
	MaxQueueSize Size `yaml:"max_queue_size"`
	// MaxSubscriptions limits the topics one connection subscribes to; one
	// more closes it with 1008. Default 1024; 0 means unlimited.
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// MaxPrefixes limits the PREFIX entries of one connection; one more
	// closes it with 1008. Default 256; 0 means unlimited.
	MaxPrefixes int `yaml:"max_prefixes"`
	// MaxTopicLength limits topic and procedure URIs and PREFIX entries.
	// Default 1KiB; 0 means no limit beyond max_message_size.
	MaxTopicLength Size `yaml:"max_topic_length"`
	// MaxTopics limits the topics with subscribers on this node; a
	// SUBSCRIBE that would create one more gets a CALLERROR. Default 0,
	// unlimited.
	MaxTopics int `yaml:"max_topics"`
	// MaxConnectionRate limits new WebSocket connections per second from
	// one client address (token bucket of one second's worth; HTTP 429
	// over it). Default 0, unlimited.
	MaxConnectionRate float64 `yaml:"max_connection_rate"`
	// MaxMessagesRate limits the messages one connection sends per second
	// (token bucket of one second's worth; 1008 over it). Default 0,
	// unlimited.
	MaxMessagesRate float64 `yaml:"max_messages_rate"`
	// TrustedProxies lists the reverse proxies (IPs or CIDRs) whose
	// Forwarded / X-Forwarded-For / X-Forwarded-Proto headers give the
	// client's address and scheme, and which alone may send PROXY protocol
	// headers. Default empty: the TCP peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ProxyProtocol reads HAProxy's PROXY protocol header (v1 or v2) at the
	// start of every connection. Default false.
	ProxyProtocol bool `yaml:"proxy_protocol"`
	// HandshakeTimeout limits the WebSocket opening handshake. Default 10s
	// (zero means the default).
	HandshakeTimeout Duration `yaml:"handshake_timeout"`
	// WriteTimeout limits one write to a connection. Default 10s (zero means
	// the default).
	WriteTimeout Duration `yaml:"write_timeout"`
	// ShutdownTimeout limits the graceful shutdown. Default 10s (zero means
	// the default).
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// NodeID is this node's identity in session ids: empty (default, the
	// server picks one) or exactly 8 lowercase hexadecimal characters.
	NodeID string `yaml:"node_id"`
}

// TLS is the server.tls section.
type TLS struct {
	// Enabled turns on native TLS. Default false. When true,
	// Options.LocalCert is required.
	Enabled bool `yaml:"enabled"`
	// Options holds the PHP/React SSL context options.
	Options TLSOptions `yaml:"options"`
}

// TLSOptions is server.tls.options, named after PHP's SSL context options as
// gos_web_socket passes them to React. Relative paths are relative to the
// working directory, as in PHP.
type TLSOptions struct {
	// LocalCert is the PEM certificate (chain) file. Required when TLS is
	// enabled. Default empty.
	LocalCert string `yaml:"local_cert"`
	// LocalPK is the PEM private key file. Default empty: the key is read
	// from LocalCert, which then holds both, as PHP allows.
	LocalPK string `yaml:"local_pk"`
	// Passphrase must be empty: encrypted private keys are not supported.
	// Every other PHP SSL context option (verify_peer, allow_self_signed,
	// …) is accepted with a warning and ignored.
	Passphrase string `yaml:"passphrase"`
}

// WAMP is the wamp section.
type WAMP struct {
	// PrefixMode is PrefixRatchet (default; empty means the default) or
	// PrefixSpec.
	PrefixMode string `yaml:"prefix_mode"`
	// Realms are the WAMP v2 realms clients may join. Default [realm1]
	// (empty means the default). Each is a WAMP URI by the loose rule,
	// outside the "wamp" namespace, listed once.
	Realms []string `yaml:"realms"`
	// CRAUsers are the users who may authenticate with WAMP-CRA
	// (authmethod "wampcra") in WAMP v2. Default none.
	CRAUsers []CRAUser `yaml:"cra_users"`
}

// Log is the log section.
type Log struct {
	// Level is debug, info (default; empty means the default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default; empty means the default) or json.
	Format string `yaml:"format"`
}

// SlogLevel returns Level as a slog.Level; an unknown level gives
// slog.LevelInfo (Validate reports it).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Default returns a new Config holding every default value.
func Default() *Config {
	c := &Config{
		Server: Server{
			Host:              defaultHost,
			Port:              defaultPort,
			KeepaliveInterval: Duration(defaultKeepaliveInterval),
			MaxSubscriptions:  defaultMaxSubscriptions,
			MaxPrefixes:       defaultMaxPrefixes,
			MaxTopicLength:    defaultMaxTopicLength,
		},
		Auth: Auth{Anonymous: true},
	}
	c.setDefaults()
	return c
}

// setDefaults fills the fields whose zero value means "the default". It is
// the only place, with Default, that knows the default values.
func (c *Config) setDefaults() {
	if c.API.MaxBodySize == 0 {
		c.API.MaxBodySize = 1 << 20
	}
	if c.Auth.OnFailure == "" {
		c.Auth.OnFailure = "oro"
	}
	s := &c.Server
	if s.MaxMessageSize == 0 {
		s.MaxMessageSize = defaultMaxMessageSize
	}
	if s.MaxQueueSize == 0 {
		s.MaxQueueSize = defaultMaxQueueSize
	}
	for _, d := range []*Duration{&s.HandshakeTimeout, &s.WriteTimeout, &s.ShutdownTimeout} {
		if *d == 0 {
			*d = Duration(defaultTimeout)
		}
	}
	if c.WAMP.PrefixMode == "" {
		c.WAMP.PrefixMode = PrefixRatchet
	}
	if len(c.WAMP.Realms) == 0 {
		c.WAMP.Realms = []string{defaultRealm}
	}
	for i := range c.WAMP.CRAUsers {
		if u := &c.WAMP.CRAUsers[i]; u.Role == "" {
			u.Role = defaultCRARole
		}
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
}

// Load reads and parses the file at path with Parse. An empty path returns
// Default(). The result is not validated.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		c.Dir = filepath.Dir(abs)
	}
	return c, nil
}

// Parse decodes data strictly on top of Default, expanding %env(NAME)%
// placeholders from the process environment. source names the file in
// errors. See ParseWithEnv.
func Parse(data []byte, source string) (*Config, error) {
	return ParseWithEnv(data, source, os.LookupEnv)
}

// Addr returns the listen address, host and port joined as net.Listen wants
// them ("127.0.0.1:8080", "[::1]:8080").
func (c *Config) Addr() string {
	host := strings.TrimSuffix(strings.TrimPrefix(c.Server.Host, "["), "]")
	return net.JoinHostPort(host, fmt.Sprint(c.Server.Port))
}
