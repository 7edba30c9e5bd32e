// Package zmqpush is herald's ZeroMQ transport for pushes, both directions,
// wire-compatible with GosWebSocketBundle 1.x's ZmqPusher and
// ZmqServerPushHandler:
//
//   - Handler (the push handler, inside herald serve) binds a PULL socket at
//     protocol://host:port, as ZmqServerPushHandler does, and hands each
//     message, {"topic": channel, "data": data}, to the server.
//   - Pusher (the sending side, for Go backends and `herald push --via zmq`)
//     connects a PUSH socket to the same endpoint, as ZmqPusher does, and
//     sends that envelope.
//
// Both speak ZMTP 3 through github.com/go-zeromq/zmq4, a pure Go
// implementation, so herald needs no libzmq; they interoperate with libzmq
// PUSH and PULL sockets (php-zmq, pyzmq). ZeroMQ has no acknowledgement:
// a message the handler received is reported as a push_success or
// push_fail event, never acknowledged or redelivered, as in Gos: delivery
// is at most once.
//
// # Restarts and the consume delay
//
// While nothing is bound at the endpoint, a libzmq PUSH socket keeps what
// it sends in its own queue (up to its high-water mark, 1000 messages by
// default; then its send blocks) and delivers it once it can connect.
// With Config.ConsumeDelay (herald's pushers.zmq.consume_delay, 5 s unless
// set) the Handler binds only after the delay, so that a server that just
// restarted has its clients subscribed again when that backlog arrives.
// What is kept is what the PUSH peers still hold: with Gos's defaults
// (a persistent ZMQContext, linger -1) the pending messages of a php-fpm
// worker, which its context's I/O thread delivers later, and those of a
// PHP script, whose end waits until they are delivered. What is lost: the
// messages a killed herald had read, or that were in the network buffers
// of its connections, and those of a peer that closed with a short
// linger.
//
// The package registers itself under the name "zmq" with push.RegisterHandler
// and push.RegisterPusher: import it for its side effect to make
// `pushers: zmq:` and `--via zmq` available.
package zmqpush

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heraldws/herald/push"
)

// Defaults applied to zero fields of Config.
const (
	// DefaultPort is the port of Gos's documentation example.
	DefaultPort = 5555
	// DefaultProtocol is Gos's default transport.
	DefaultProtocol = "tcp"
	// DefaultHost is the host used when Config.Host is empty (tcp only).
	DefaultHost = "127.0.0.1"
	// DefaultReconnectInterval is the pause between two connection attempts
	// of a Pusher, libzmq's default ZMQ_RECONNECT_IVL.
	DefaultReconnectInterval = 100 * time.Millisecond
	// DefaultSendTimeout bounds one write to the peer.
	DefaultSendTimeout = 10 * time.Second
	// DefaultConsumeDelay is ParseConfig's consume_delay when the key is
	// absent, as in herald's configuration. Config's zero ConsumeDelay
	// binds at once.
	DefaultConsumeDelay = 5 * time.Second
)

// LingerForever is the Linger of Gos's configuration default (-1): Close
// waits for every pending push, however long it takes.
const LingerForever time.Duration = -1

// ErrDisabled is returned by ParseConfig (so by the registered factories)
// for a section whose enabled is false: build no handler or pusher from
// it. Gos 1.x's ZMQ section has no enabled key; herald accepts one as for
// pushers.amqp.
var ErrDisabled = errors.New("zmqpush: enabled is false: the section turns the pusher and push handler off")

// ErrUnsupportedProtocol is wrapped by the errors of a Config whose
// Protocol go-zeromq/zmq4 cannot serve.
var ErrUnsupportedProtocol = errors.New("zmqpush: unsupported protocol")

// Config configures a Handler or a Pusher with Gos's `pushers.zmq` keys.
// The zero value is a working configuration: tcp://127.0.0.1:5555.
type Config struct {
	// Host is the address to bind (Handler) or connect to (Pusher). For
	// tcp, zero means 127.0.0.1; a Handler binds every interface with "*"
	// or "0.0.0.0". For ipc it is the socket file's path, and is required.
	Host string
	// Port is the TCP port. Zero means 5555 for tcp. For ipc, zero means no
	// port; a non-zero Port is appended to the path as ":Port", because
	// Gos built every endpoint as protocol://host:port, so herald reaches
	// the socket file a Gos configuration names.
	Port int
	// Protocol is the ZeroMQ transport: "tcp" or "ipc". Zero means tcp.
	// Gos also accepted inproc, pgm and epgm: inproc only reaches sockets
	// of the same process (never a PHP application), and go-zeromq/zmq4
	// has no PGM; they are refused with ErrUnsupportedProtocol.
	Protocol string
	// Persistent is Gos's `persistent` (default true): a persistent
	// ZMQContext that PHP keeps across requests. It is accepted for
	// compatibility and has no effect: a Go Pusher is long-lived anyway.
	Persistent bool
	// Linger bounds how long Pusher.Close waits for pushes still in flight
	// (Gos's `linger`, ZMQ_LINGER, in milliseconds in its configuration).
	// Zero means Close does not wait (libzmq's linger 0); a negative value
	// (LingerForever, Gos's default and the factory's when the key is
	// absent) waits until they end, each bounded by the context given to
	// its Push. The Handler ignores it.
	Linger time.Duration
	// ReconnectInterval is the Pusher's pause between connection attempts.
	// Zero means 100 ms (DefaultReconnectInterval).
	ReconnectInterval time.Duration
	// SendTimeout bounds one write of the Pusher to its peer; a write that
	// takes longer drops the connection, which is redialled, and the
	// message is sent again. Zero means 10 s (DefaultSendTimeout).
	SendTimeout time.Duration
	// ConsumeDelay is how long the Handler waits, from the start of Run,
	// before it binds its socket. Until then libzmq PUSH peers keep what
	// they send in their own queues (up to their high-water mark, 1000
	// messages by default, after which their send blocks) and deliver it
	// once the socket is bound, so that the clients of a server that just
	// restarted are subscribed again when that backlog arrives. Run checks
	// at once that the endpoint can be bound. Zero binds at once. The
	// Pusher ignores it.
	ConsumeDelay time.Duration
	// Logger receives the transport's logs. Zero means slog.Default().
	Logger *slog.Logger
}

// withDefaults fills in zero fields and checks the protocol.
func (c Config) withDefaults() (Config, error) {
	if c.Protocol == "" {
		c.Protocol = DefaultProtocol
	}
	c.Protocol = strings.ToLower(c.Protocol)
	switch c.Protocol {
	case "tcp":
		if c.Host == "" {
			c.Host = DefaultHost
		}
		if c.Port == 0 {
			c.Port = DefaultPort
		}
		if c.Port < 0 || c.Port > 65535 {
			return c, fmt.Errorf("zmqpush: port %d out of range", c.Port)
		}
	case "ipc":
		if c.Host == "" {
			return c, errors.New("zmqpush: protocol ipc needs host, the socket file's path")
		}
		if c.Port < 0 {
			return c, fmt.Errorf("zmqpush: port %d out of range", c.Port)
		}
	case "inproc":
		return c, fmt.Errorf("%w %q: inproc reaches only sockets of the same process, never a PHP application; use tcp or ipc", ErrUnsupportedProtocol, c.Protocol)
	case "pgm", "epgm":
		return c, fmt.Errorf("%w %q: go-zeromq/zmq4 has no PGM multicast (and libzmq offers it to PUB/SUB only, not PUSH/PULL); use tcp or ipc", ErrUnsupportedProtocol, c.Protocol)
	default:
		return c, fmt.Errorf("%w %q: want tcp or ipc", ErrUnsupportedProtocol, c.Protocol)
	}
	if c.ConsumeDelay < 0 {
		return c, fmt.Errorf("zmqpush: consume_delay %v is negative", c.ConsumeDelay)
	}
	if c.ReconnectInterval <= 0 {
		c.ReconnectInterval = DefaultReconnectInterval
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Endpoint returns the ZeroMQ endpoint of c after defaults:
// "tcp://host:port" or "ipc://path" ("ipc://path:port" when Port is set,
// as Gos wrote it). An unsupported protocol yields "protocol://host:port".
func (c Config) Endpoint() string {
	d, err := c.withDefaults()
	if err != nil {
		d = c
	}
	switch {
	case d.Protocol == "tcp":
		host := d.Host
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			host = "[" + host + "]" // IPv6 literal
		}
		return "tcp://" + host + ":" + strconv.Itoa(d.Port)
	case d.Protocol == "ipc" && d.Port == 0:
		return "ipc://" + d.Host
	}
	return d.Protocol + "://" + d.Host + ":" + strconv.Itoa(d.Port)
}

// ParseConfig reads Gos's `pushers.zmq` section as decoded from YAML or
// JSON: host, port, protocol, persistent, linger (milliseconds, -1 =
// forever, or a Go duration string such as "2s"), and herald's
// consume_delay (seconds or a Go duration string). Absent keys take Gos's
// defaults: port 5555, protocol tcp, persistent true, linger -1, and
// herald's consume_delay of DefaultConsumeDelay. Gos's unused `default`
// key is accepted and ignored, and `enabled: false` returns ErrDisabled;
// any other key is an error, so a misspelt one does not go unnoticed.
func ParseConfig(m map[string]any) (Config, error) {
	c := Config{Persistent: true, Linger: LingerForever, ConsumeDelay: DefaultConsumeDelay}
	var unknown []string
	for k, v := range m {
		var err error
		switch k {
		case "host":
			c.Host, err = push.String(v)
		case "port":
			c.Port, err = push.Int(v)
		case "protocol":
			c.Protocol, err = push.String(v)
		case "persistent":
			c.Persistent, err = push.Bool(v)
		case "linger":
			c.Linger, err = asLinger(v)
		case "consume_delay":
			if v != nil { // null keeps the default, as in herald's YAML
				c.ConsumeDelay, err = push.Duration(v)
			}
		case "enabled":
			var on bool
			if on, err = push.Bool(v); err == nil && !on {
				return Config{}, ErrDisabled
			}
		case "default":
		default:
			unknown = append(unknown, k)
		}
		if err != nil {
			return Config{}, fmt.Errorf("zmqpush: key %q: %w", k, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Config{}, fmt.Errorf("zmqpush: unknown key(s) %s (known: host, port, protocol, persistent, linger, consume_delay, enabled)", strings.Join(unknown, ", "))
	}
	if _, err := c.withDefaults(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// asLinger reads milliseconds (a number) or a Go duration string; any
// negative value means forever.
func asLinger(v any) (time.Duration, error) {
	if s, ok := v.(string); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			if d < 0 {
				return LingerForever, nil
			}
			return d, nil
		}
	}
	ms, err := push.Int(v)
	if err != nil {
		return 0, fmt.Errorf("want milliseconds or a duration such as \"2s\": %w", err)
	}
	if ms < 0 {
		return LingerForever, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}
