package amqppush

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/heraldws/herald/push"
)

// Defaults applied to the zero fields of Config.
const (
	// DefaultPort is AMQP's port.
	DefaultPort = 5672
	// DefaultVhost is RabbitMQ's default virtual host, Gos's default.
	DefaultVhost = "/"
	// DefaultQueueName is Gos's queue_name default.
	DefaultQueueName = "gos_websocket"
	// DefaultExchangeName is Gos's exchange_name default.
	DefaultExchangeName = "gos_websocket_exchange"
	// DefaultPrefetch is the consumer's prefetch window (basic.qos).
	DefaultPrefetch = 256
	// DefaultConnectionName is the client property connection_name, which
	// the RabbitMQ management UI and rabbitmqctl list_connections show.
	DefaultConnectionName = "herald"
	// DefaultReconnectMin is the first delay before a reconnection.
	DefaultReconnectMin = 100 * time.Millisecond
	// DefaultReconnectMax bounds the delay between reconnections.
	DefaultReconnectMax = 10 * time.Second
	// DefaultConfirmTimeout bounds the Pusher's wait for a publisher
	// confirm when the context has no earlier deadline.
	DefaultConfirmTimeout = 30 * time.Second
	// DefaultConnectTimeout is amqp091-go's own bound on the TCP connection
	// and the AMQP handshake, used when ConnectTimeout is zero.
	DefaultConnectTimeout = 30 * time.Second
	// DefaultConsumeDelay is ParseConfig's consume_delay when the key is
	// absent, as in herald's configuration. Config's zero ConsumeDelay
	// consumes at once.
	DefaultConsumeDelay = 5 * time.Second
)

// ErrDisabled is returned by ParseConfig (so by the registered factories)
// for a section whose enabled is false, gos_web_socket 3.x's way to turn
// the pusher and its push handler off: build neither from it.
var ErrDisabled = errors.New("amqppush: enabled is false: the section turns the pusher and push handler off")

// Config configures the Handler and the Pusher. Host, Port, Login,
// Password, Vhost, the three timeouts, QueueName and ExchangeName are
// GosWebSocketBundle's keys with its defaults; the rest are herald's.
type Config struct {
	// Host is the broker's host name or address. Required.
	Host string
	// Port is the broker's port. Zero means 5672.
	Port int
	// Login and Password authenticate (PLAIN). Login is required.
	Login    string
	Password string
	// Vhost is the virtual host. Empty means "/".
	Vhost string

	// ReadTimeout is how long the connection may stay silent before it is
	// considered dead: herald negotiates AMQP heartbeats of ReadTimeout/3
	// (at least 1 s), and amqp091-go drops a connection that received
	// nothing for three heartbeat intervals. Zero means the library's 10 s
	// heartbeat (so 30 s of silence).
	ReadTimeout time.Duration
	// WriteTimeout bounds each socket write. RabbitMQ applies flow control
	// by not reading, so a positive value turns a long broker-side block
	// into a dropped connection (and a reconnection). Zero means no bound.
	WriteTimeout time.Duration
	// ConnectTimeout bounds the TCP connection and the AMQP handshake.
	// Zero means the library's 30 s.
	ConnectTimeout time.Duration

	// QueueName is the queue the Handler consumes. Empty means
	// "gos_websocket".
	QueueName string
	// ExchangeName is the exchange both sides declare (durable, direct)
	// and the Pusher publishes to. Empty means "gos_websocket_exchange".
	ExchangeName string

	// Bind makes the Handler declare the binding queue → exchange with
	// RoutingKey, which Gos never declared (an operator had to). The zero
	// value is Gos's behaviour; ParseConfig (so herald's YAML and CLI)
	// defaults it to true.
	Bind bool
	// RoutingKey is the binding key of the Handler and the Pusher's
	// default routing key. Default "" (Gos's).
	RoutingKey string
	// Prefetch is the consumer's window of unacknowledged messages. Zero
	// means 256.
	Prefetch int
	// ConnectionName is sent as the client property connection_name,
	// which the management UI and rabbitmqctl list_connections show; the
	// Pusher's connection gets ConnectionName + "-pusher". Empty means
	// "herald".
	ConnectionName string
	// Persistent makes the Pusher publish with delivery mode 2
	// (persistent) unless a message's attributes say otherwise. Gos's
	// default (no attributes) is transient.
	Persistent bool
	// ConfirmTimeout bounds the Pusher's wait for a publisher confirm.
	// Zero means 30 s.
	ConfirmTimeout time.Duration

	// ConsumeDelay is how long the Handler waits, from the start of Run,
	// before it consumes: it connects and declares at once (so that a
	// configuration error shows at once), then leaves the messages in the
	// queue until the delay has passed, so that the clients of a server
	// that just restarted are subscribed again when the backlog arrives.
	// Only the first consumption of a Run waits: a reconnection after the
	// delay consumes at once. Zero consumes at once.
	ConsumeDelay time.Duration

	// ReconnectMin and ReconnectMax bound the Handler's exponential
	// backoff between reconnections (jittered). Zero means 100 ms and
	// 10 s.
	ReconnectMin time.Duration
	ReconnectMax time.Duration

	// Logger receives connection losses, recoveries and failed pushes.
	// Nil means slog.Default().
	Logger *slog.Logger

	// ackLinger replaces ackLinger when set (tests).
	ackLinger time.Duration
}

// withDefaults fills the zero fields and checks the required ones.
func (c Config) withDefaults() (Config, error) {
	if strings.TrimSpace(c.Host) == "" {
		return c, errors.New("amqppush: host is required")
	}
	if c.Login == "" {
		return c, errors.New("amqppush: login is required")
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Port < 0 || c.Port > 65535 {
		return c, fmt.Errorf("amqppush: port %d is out of range", c.Port)
	}
	if c.Vhost == "" {
		c.Vhost = DefaultVhost
	}
	if c.QueueName == "" {
		c.QueueName = DefaultQueueName
	}
	if c.ExchangeName == "" {
		c.ExchangeName = DefaultExchangeName
	}
	if c.Prefetch == 0 {
		c.Prefetch = DefaultPrefetch
	}
	if c.Prefetch < 0 || c.Prefetch > math.MaxUint16 {
		return c, fmt.Errorf("amqppush: prefetch %d is out of range (1..65535)", c.Prefetch)
	}
	if c.ConnectionName == "" {
		c.ConnectionName = DefaultConnectionName
	}
	if c.ConfirmTimeout <= 0 {
		c.ConfirmTimeout = DefaultConfirmTimeout
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	for name, d := range map[string]time.Duration{"read_timeout": c.ReadTimeout, "write_timeout": c.WriteTimeout, "connect_timeout": c.ConnectTimeout, "consume_delay": c.ConsumeDelay} {
		if d < 0 {
			return c, fmt.Errorf("amqppush: %s must not be negative", name)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ackLinger <= 0 {
		c.ackLinger = ackLinger
	}
	return c, nil
}

// addr is host:port, for messages.
func (c Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// dial opens a connection named c.ConnectionName plus suffix.
func (c Config) dial(suffix string) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(c.ConnectionName + suffix)
	connectTimeout := c.ConnectTimeout
	if connectTimeout == 0 {
		connectTimeout = DefaultConnectTimeout
	}
	dial := amqp.DefaultDial(connectTimeout)
	if c.WriteTimeout > 0 {
		base := dial
		dial = func(network, addr string) (net.Conn, error) {
			conn, err := base(network, addr)
			if err != nil {
				return nil, err
			}
			return &writeTimeoutConn{Conn: conn, timeout: c.WriteTimeout}, nil
		}
	}
	cfg := amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: c.Login, Password: c.Password}},
		Vhost:      c.Vhost,
		Properties: props,
		Dial:       dial,
	}
	if c.ReadTimeout > 0 {
		cfg.Heartbeat = max(c.ReadTimeout/3, time.Second)
	}
	// The URL carries only the address: credentials and vhost are in cfg,
	// so nothing needs URL escaping.
	conn, err := amqp.DialConfig("amqp://"+c.addr()+"/", cfg)
	if err != nil {
		return nil, fmt.Errorf("amqppush: connecting to %s (vhost %q) as %q: %w", c.addr(), c.Vhost, c.Login, err)
	}
	return conn, nil
}

// writeTimeoutConn sets a write deadline before every write.
type writeTimeoutConn struct {
	net.Conn
	timeout time.Duration
}

func (c *writeTimeoutConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// declareExchange declares the durable direct exchange, as Gos's pusher
// and handler do.
func (c Config) declareExchange(ch *amqp.Channel) error {
	name := c.ExchangeName
	if err := ch.ExchangeDeclare(name, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("amqppush: declaring exchange %q (durable, direct): %w", name, err)
	}
	return nil
}

// isAMQPCode reports whether err is an AMQP error with one of codes.
func isAMQPCode(err error, codes ...int) bool {
	var e *amqp.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// permanent reports whether err is a configuration error that retrying
// will not fix: refused credentials or vhost, an exchange declared with
// another type, a command the broker does not allow.
func permanent(err error) bool {
	return isAMQPCode(err, amqp.AccessRefused, amqp.NotAllowed, amqp.PreconditionFailed, amqp.NotImplemented)
}

// ParseConfig reads a push handler or pusher configuration as decoded
// from YAML (`pushers.amqp`): host, port, login, password, vhost,
// read_timeout, write_timeout, connect_timeout, queue_name,
// exchange_name (Gos's keys) and bind (default true), routing_key,
// prefetch, connection_name, persistent, confirm_timeout, consume_delay
// (default DefaultConsumeDelay), reconnect_min, reconnect_max (herald's).
// Durations are Go duration strings ("1.5s") or numbers of seconds (Gos's
// timeouts are seconds). Gos's unused key `default` is accepted and
// ignored; Gos 3.x's `enabled: false` returns ErrDisabled; any other key
// is an error.
func ParseConfig(m map[string]any) (Config, error) {
	c := Config{Bind: true, ConsumeDelay: DefaultConsumeDelay}
	for k, v := range m {
		var err error
		switch k {
		case "host":
			c.Host, err = push.String(v)
		case "port":
			c.Port, err = push.Int(v)
		case "login":
			c.Login, err = push.String(v)
		case "password":
			c.Password, err = push.String(v)
		case "vhost":
			c.Vhost, err = push.String(v)
		case "read_timeout":
			c.ReadTimeout, err = push.Duration(v)
		case "write_timeout":
			c.WriteTimeout, err = push.Duration(v)
		case "connect_timeout":
			c.ConnectTimeout, err = push.Duration(v)
		case "queue_name":
			c.QueueName, err = push.String(v)
		case "exchange_name":
			c.ExchangeName, err = push.String(v)
		case "bind":
			c.Bind, err = push.Bool(v)
		case "routing_key":
			c.RoutingKey, err = push.String(v)
		case "prefetch":
			c.Prefetch, err = push.Int(v)
		case "connection_name":
			c.ConnectionName, err = push.String(v)
		case "persistent":
			c.Persistent, err = push.Bool(v)
		case "confirm_timeout":
			c.ConfirmTimeout, err = push.Duration(v)
		case "consume_delay":
			if v != nil { // null keeps the default, as in herald's YAML
				c.ConsumeDelay, err = push.Duration(v)
			}
		case "reconnect_min":
			c.ReconnectMin, err = push.Duration(v)
		case "reconnect_max":
			c.ReconnectMax, err = push.Duration(v)
		case "enabled":
			var on bool
			if on, err = push.Bool(v); err == nil && !on {
				return Config{}, ErrDisabled
			}
		case "default":
			// Unused by Gos too.
		default:
			return Config{}, fmt.Errorf("amqppush: unknown configuration key %q", k)
		}
		if err != nil {
			return Config{}, fmt.Errorf("amqppush: %s: %w", k, err)
		}
	}
	return c, nil
}
