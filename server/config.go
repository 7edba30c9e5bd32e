package server

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/heraldws/herald/broker"
	"github.com/heraldws/herald/topic"
	"github.com/heraldws/herald/wamp"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultKeepaliveInterval = 30 * time.Second
	DefaultMaxMessageSize    = 1 << 20
	DefaultMaxQueueSize      = 4 << 20
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultCloseGrace        = 2 * time.Second
	DefaultMaxSubscriptions  = 1024
	DefaultMaxPrefixes       = 256
	DefaultMaxTopicLength    = 1024
)

// DefaultRealm is the WAMP v2 realm served when Config.Realms is empty.
const DefaultRealm = "realm1"

// Config configures a Server. The zero value is a working server: every
// field documents what zero means.
type Config struct {
	// ServerIdent is the server name sent in WELCOME and in X-Powered-By.
	// Zero means "herald/" + Version.
	ServerIdent string

	// OriginCheck rejects, with HTTP 403 before the upgrade, any request
	// whose Origin host is not localhost, 127.0.0.1 or one of Origins
	// (gos_web_socket's server.origin_check).
	OriginCheck bool
	// Origins lists the allowed origin hosts (gos_web_socket's origins).
	// Only the host is compared; an entry may also be a bare host.
	Origins []string

	// KeepalivePing makes the server PING every connection each
	// KeepaliveInterval and close one that did not answer the previous PING
	// (gos_web_socket's server.keepalive_ping). Zero means off.
	KeepalivePing bool
	// KeepaliveInterval is the PING period. Zero means 30 s.
	KeepaliveInterval time.Duration

	// PrefixMode chooses how v1 CURIEs are expanded. Zero means Ratchet's
	// rule, which GosWebSocketBundle servers used.
	PrefixMode wamp.PrefixMode

	// MaxConnections bounds the number of open WebSocket connections; an
	// upgrade over the bound gets HTTP 503. Zero means no bound.
	MaxConnections int
	// MaxMessageSize bounds one incoming WebSocket message in bytes; a
	// larger one closes the connection with 1009. Zero means 1 MiB.
	MaxMessageSize int
	// MaxQueueSize bounds the bytes queued towards one connection; a
	// connection whose queue would grow past it is closed as a slow
	// consumer. Zero means 4 MiB.
	MaxQueueSize int
	// MaxSubscriptions bounds the topics one connection subscribes to; a
	// SUBSCRIBE beyond it closes the connection with 1008. Zero means
	// 1024; negative means no bound.
	MaxSubscriptions int
	// MaxPrefixes bounds the CURIE prefixes one connection declares; a
	// PREFIX beyond it closes the connection with 1008. Zero means 256;
	// negative means no bound.
	MaxPrefixes int
	// MaxTopicLength bounds, in bytes, a topic or procedure URI (after
	// CURIE expansion) and a PREFIX's prefix and URI. A longer topic or
	// prefix closes the connection with 1008; a longer CALL procedure gets
	// a CALLERROR. Zero means 1024; negative means no bound (beyond
	// MaxMessageSize).
	MaxTopicLength int
	// MaxTopics bounds the topics with subscribers on this node. A
	// SUBSCRIBE that would create one more gets a CALLERROR (code 503)
	// and the connection stays. Zero means no bound.
	MaxTopics int
	// MaxConnectionRate bounds the WebSocket upgrades per second from one
	// client address (an IPv6 address by its /64), as a token bucket that
	// holds one second's worth: an upgrade over it gets HTTP 429. The
	// client address is the one TrustedProxies and ProxyProtocol give.
	// Zero means no bound.
	MaxConnectionRate float64
	// MaxMessageRate bounds the WebSocket messages one connection may send
	// per second, as a token bucket that holds one second's worth: a
	// message over it closes the connection with 1008. Zero means no
	// bound.
	MaxMessageRate float64
	// HandshakeTimeout bounds reading the upgrade request when the Server
	// runs its own listener (see HTTPServer). Zero means 10 s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one socket write; a connection that cannot take
	// bytes for that long is closed as a slow consumer. Zero means 10 s.
	WriteTimeout time.Duration
	// CloseGrace is how long a closing connection waits for the peer's
	// CLOSE before the TCP connection is dropped. Zero means 2 s.
	CloseGrace time.Duration

	// Realms are the WAMP v2 realms clients may join (wamp.realms). Every
	// realm shares the same topics: a realm is a name a client must know,
	// not a separate space. Nil means ["realm1"], autobahn's default.
	Realms []string
	// CRAUsers are the users who may authenticate with WAMP-CRA
	// (authmethod "wampcra") in WAMP v2.
	CRAUsers []CRAUser

	// NodeID is this node's identity: 8 lowercase hex characters that
	// start every session id, so session ids are unique across nodes.
	// Zero means a random one.
	NodeID string

	// Router matches topics (and CALL procedures) to routes, whose
	// callbacks name handlers. Nil means no routing: every topic is an
	// open broadcast topic and every CALL gets a CALLERROR.
	Router *topic.Router
	// Handlers binds route callbacks to handlers and access policies.
	// OroPlatform's callbacks (see OroHandlers) are bound by default; an
	// entry here replaces the default. New fails when a route's callback
	// has no binding.
	Handlers map[string]Binding
	// UnknownTopic decides what happens to a topic or procedure that
	// matches no route. Zero means UnknownClose, as GosWebSocketBundle.
	UnknownTopic UnknownTopicPolicy
	// Authenticator decides who each connection is. Nil means everyone is
	// anonymous.
	Authenticator Authenticator
	// AuthFailure is how a refused authentication is answered. Zero means
	// AuthFailureOro.
	AuthFailure AuthFailureMode
	// APIKey turns the HTTP API (/api/publish, /api/batch, /api/info) on:
	// requests must carry it. Empty means the API is off.
	APIKey string
	// APIMaxBody bounds an API request body. Zero means 1 MiB.
	APIMaxBody int64
	// BlockedIPs lists the client addresses whose connections are dropped
	// without any HTTP response: by Listener as they are accepted, and by
	// ServeHTTP for addresses that a trusted proxy names.
	BlockedIPs []netip.Prefix
	// TrustedProxies lists the peers (reverse proxies, load balancers)
	// whose Forwarded or X-Forwarded-For and X-Forwarded-Proto headers
	// name the client, and which alone may send a PROXY protocol header
	// when the list is not empty. Nil means no peer is trusted: the TCP
	// peer is the client.
	TrustedProxies []netip.Prefix
	// ProxyProtocol makes Listener read HAProxy's PROXY protocol header
	// (v1 or v2) at the start of every connection and take the client's
	// address from it. Every connection must then come through the proxy:
	// one without a header is dropped.
	ProxyProtocol bool

	// NodeAnnounceInterval is how often this node announces its stats to
	// the cluster, for /api/info. Zero means 2 s.
	NodeAnnounceInterval time.Duration

	// BrokerSettle is how long a node keeps refusing publications after
	// its broker comes back from an outage, so that the other nodes have
	// subscribed again before anything is published: otherwise a
	// publication (say, an AMQP message held back during the outage) would
	// reach only the nodes that reconnected first. Zero means 3 s.
	BrokerSettle time.Duration

	// Broker builds the broker that carries publications between nodes,
	// given the function that delivers them to this node. Nil means an
	// in-memory broker: one node.
	Broker func(deliver broker.Deliver) (broker.Broker, error)

	// DisablePoller keeps one reading goroutine (and its read buffer) per
	// connection, as on systems without epoll and for TLS connections,
	// instead of parking idle connections with the poller. For
	// comparisons and debugging.
	DisablePoller bool

	// DisableMemoryTrim stops the server from giving free memory back to
	// the system when it goes quiet after a surge (see memoryTrimmer).
	// For embedding programs that manage the Go runtime's memory
	// themselves.
	DisableMemoryTrim bool

	// Logger receives the server's logs. Zero means slog.Default().
	Logger *slog.Logger
}

// UnknownTopicPolicy is what the server does with a topic or a CALL
// procedure that matches no route.
type UnknownTopicPolicy int

const (
	// UnknownClose closes the connection with 1007, as GosWebSocketBundle
	// does (its router throws and the server closes).
	UnknownClose UnknownTopicPolicy = iota
	// UnknownError answers a CALLERROR naming the topic and keeps the
	// connection; the subscription or publication does not happen.
	UnknownError
	// UnknownAllow treats the topic as an open broadcast topic.
	UnknownAllow
)

// ParseUnknownTopicPolicy reads close, error or allow.
func ParseUnknownTopicPolicy(s string) (UnknownTopicPolicy, error) {
	switch s {
	case "", "close":
		return UnknownClose, nil
	case "error":
		return UnknownError, nil
	case "allow":
		return UnknownAllow, nil
	}
	return 0, fmt.Errorf("server: unknown unknown_topic policy %q (want close, error or allow)", s)
}

// String returns the configuration name of p.
func (p UnknownTopicPolicy) String() string {
	switch p {
	case UnknownError:
		return "error"
	case UnknownAllow:
		return "allow"
	}
	return "close"
}

func (c Config) withDefaults() Config {
	if len(c.Realms) == 0 {
		c.Realms = []string{DefaultRealm}
	}
	if c.ServerIdent == "" {
		c.ServerIdent = "herald/" + Version
	}
	if c.KeepaliveInterval <= 0 {
		c.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxQueueSize <= 0 {
		c.MaxQueueSize = DefaultMaxQueueSize
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CloseGrace <= 0 {
		c.CloseGrace = DefaultCloseGrace
	}
	if c.MaxSubscriptions == 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.MaxPrefixes == 0 {
		c.MaxPrefixes = DefaultMaxPrefixes
	}
	if c.MaxTopicLength == 0 {
		c.MaxTopicLength = DefaultMaxTopicLength
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
