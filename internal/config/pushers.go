package config

import "time"

// DefaultConsumeDelay is the consume_delay of pushers.amqp and pushers.zmq
// when the key is absent: how long herald serve waits after it started
// before it takes messages from the queue or socket, so that the browsers
// a restart cut off are subscribed again when the backlog arrives.
const DefaultConsumeDelay = 5 * time.Second

// Pushers is the pushers section, gos_web_socket's pushers with the same
// keys and defaults, plus herald's own.
type Pushers struct {
	// AMQP is the RabbitMQ push handler (inside herald serve) and pusher.
	AMQP AMQPPusher `yaml:"amqp"`
	// ZMQ is the ZeroMQ push handler and pusher (GosWebSocketBundle 1.x).
	ZMQ ZMQPusher `yaml:"zmq"`
	// WAMP is where `herald push --via wamp` connects.
	WAMP WAMPPusher `yaml:"wamp"`
	// EventsWebhook, when set, receives every push_success and push_fail
	// event as a JSON POST.
	EventsWebhook string `yaml:"events_webhook"`
}

// AMQPPusher is pushers.amqp. The pusher is on when Host is set and
// Enabled is not false (On); the push handler runs in herald serve when
// the pusher is on, unless Consume is false (Active).
type AMQPPusher struct {
	// Enabled is gos_web_socket 3.x's switch: false turns the pusher and
	// the push handler off, whatever else the section says; true requires
	// Host. Absent (nil), a section with a Host is on, as in Gos 1.x.
	Enabled *bool `yaml:"enabled"`
	// Host of the broker. Required to use AMQP.
	Host string `yaml:"host"`
	// Port of the broker. Default 5672.
	Port int `yaml:"port"`
	// Login and Password authenticate with the broker.
	Login    string `yaml:"login"`
	Password string `yaml:"password"`
	// Vhost is the virtual host. Default "/".
	Vhost string `yaml:"vhost"`
	// ReadTimeout, WriteTimeout and ConnectTimeout are Gos's timeouts; 0
	// means the client library's default.
	ReadTimeout    Duration `yaml:"read_timeout"`
	WriteTimeout   Duration `yaml:"write_timeout"`
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// QueueName is the queue consumed. Default gos_websocket.
	QueueName string `yaml:"queue_name"`
	// ExchangeName is the durable direct exchange. Default
	// gos_websocket_exchange.
	ExchangeName string `yaml:"exchange_name"`
	// Bind declares the queue's binding to the exchange, which Gos never
	// did. Default true; false restores Gos's behaviour.
	Bind *bool `yaml:"bind"`
	// RoutingKey binds the queue and addresses pushed messages. Default "".
	RoutingKey string `yaml:"routing_key"`
	// Prefetch is the number of unacknowledged messages in flight.
	// Default 256.
	Prefetch int `yaml:"prefetch"`
	// ConnectionName names herald's connection in RabbitMQ. Default herald.
	ConnectionName string `yaml:"connection_name"`
	// Persistent makes pushed messages persistent (delivery mode 2).
	Persistent bool `yaml:"persistent"`
	// Consume runs the push handler in herald serve. Default true.
	Consume *bool `yaml:"consume"`
	// ConsumeDelay is how long herald serve waits after it started before
	// it consumes; it connects and declares at once. Absent (nil) means
	// DefaultConsumeDelay; 0 (written 0 or "0s") consumes at once. See
	// Delay.
	ConsumeDelay *Duration `yaml:"consume_delay"`
}

// ZMQPusher is pushers.zmq. The pusher is on when Host is set and Enabled
// is not false (On); the push handler runs in herald serve when the pusher
// is on, unless Consume is false (Active).
type ZMQPusher struct {
	// Enabled is not a Gos 1.x key (Gos enabled ZMQ by host and port);
	// herald accepts it as for pushers.amqp: false turns the pusher and
	// the push handler off, true requires Host.
	Enabled *bool `yaml:"enabled"`
	// Host the PULL socket binds (and pushers connect to).
	Host string `yaml:"host"`
	// Port of the socket. Default 5555.
	Port int `yaml:"port"`
	// Protocol is tcp or ipc. Default tcp.
	Protocol string `yaml:"protocol"`
	// Linger bounds how long a pusher's close waits to flush; -1 (the
	// default) waits.
	Linger *int `yaml:"linger"`
	// Consume runs the push handler in herald serve. Default true.
	Consume *bool `yaml:"consume"`
	// ConsumeDelay is how long herald serve waits after it started before
	// it binds the PULL socket. Absent (nil) means DefaultConsumeDelay; 0
	// binds at once. See Delay.
	ConsumeDelay *Duration `yaml:"consume_delay"`
}

// WAMPPusher is pushers.wamp, gos_web_socket's WAMP pusher: where
// `herald push --via wamp` connects. It is on when Host is set and
// Enabled is not false.
type WAMPPusher struct {
	// Enabled is gos_web_socket 3.x's switch: false turns the pusher off;
	// true requires Host. Absent (nil), a section with a Host is on.
	Enabled *bool `yaml:"enabled"`
	// Host and Port of the herald server. Port is required with Host, as
	// in Gos.
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// SSL connects with wss:// instead of ws://.
	SSL bool `yaml:"ssl"`
	// Origin is sent as the Origin header. Default: the bare Host, as
	// Gos's WAMP client sends it.
	Origin string `yaml:"origin"`
	// Structured sends the data as JSON, as Oro's client does, instead of
	// Gos's JSON string.
	Structured bool `yaml:"structured"`
}

// on is the rule shared by the three sections: a host, and enabled not
// false.
func on(enabled *bool, host string) bool { return host != "" && (enabled == nil || *enabled) }

// consumes reports whether consume is absent or true.
func consumes(consume *bool) bool { return consume == nil || *consume }

// delay is d, or DefaultConsumeDelay when d is absent.
func delay(d *Duration) time.Duration {
	if d == nil {
		return DefaultConsumeDelay
	}
	return d.D()
}

// disabled reports whether enabled is explicitly false.
func disabled(enabled *bool) bool { return enabled != nil && !*enabled }

// On reports whether the AMQP pusher is on: Host is set and enabled is
// not false.
func (a AMQPPusher) On() bool { return on(a.Enabled, a.Host) }

// Disabled reports whether pushers.amqp.enabled is false.
func (a AMQPPusher) Disabled() bool { return disabled(a.Enabled) }

// Active reports whether the AMQP push handler should run in herald serve.
func (a AMQPPusher) Active() bool { return a.On() && consumes(a.Consume) }

// Delay is how long herald serve waits before it consumes: consume_delay,
// or DefaultConsumeDelay when it is absent.
func (a AMQPPusher) Delay() time.Duration { return delay(a.ConsumeDelay) }

// On reports whether the ZMQ pusher is on: Host is set and enabled is not
// false.
func (z ZMQPusher) On() bool { return on(z.Enabled, z.Host) }

// Disabled reports whether pushers.zmq.enabled is false.
func (z ZMQPusher) Disabled() bool { return disabled(z.Enabled) }

// Active reports whether the ZMQ push handler should run in herald serve.
func (z ZMQPusher) Active() bool { return z.On() && consumes(z.Consume) }

// Delay is how long herald serve waits before it binds: consume_delay, or
// DefaultConsumeDelay when it is absent.
func (z ZMQPusher) Delay() time.Duration { return delay(z.ConsumeDelay) }

// On reports whether the WAMP pusher is on: Host is set and enabled is
// not false.
func (w WAMPPusher) On() bool { return on(w.Enabled, w.Host) }

// Disabled reports whether pushers.wamp.enabled is false.
func (w WAMPPusher) Disabled() bool { return disabled(w.Enabled) }

func (c *Config) validatePushers() []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.Errorf(path, format, args...))
	}
	for _, s := range []struct {
		name    string
		enabled *bool
		host    string
		port    int
	}{
		{"amqp", c.Pushers.AMQP.Enabled, c.Pushers.AMQP.Host, c.Pushers.AMQP.Port},
		{"zmq", c.Pushers.ZMQ.Enabled, c.Pushers.ZMQ.Host, c.Pushers.ZMQ.Port},
		{"wamp", c.Pushers.WAMP.Enabled, c.Pushers.WAMP.Host, c.Pushers.WAMP.Port},
	} {
		p := "pushers." + s.name + "."
		if s.enabled != nil && *s.enabled && s.host == "" {
			bad(p+"host", "required when %senabled is true", p)
		}
		if s.port < 0 || s.port > 65535 {
			bad(p+"port", "%d is out of range 1..65535", s.port)
		}
	}
	a := c.Pushers.AMQP
	if a.Prefetch < 0 {
		bad("pushers.amqp.prefetch", "must not be negative")
	}
	if a.ConsumeDelay != nil && *a.ConsumeDelay < 0 {
		bad("pushers.amqp.consume_delay", "%s is negative (0 consumes at once)", *a.ConsumeDelay)
	}
	z := c.Pushers.ZMQ
	if z.Protocol != "" && z.Protocol != "tcp" && z.Protocol != "ipc" {
		bad("pushers.zmq.protocol", "%q is not supported (tcp or ipc)", z.Protocol)
	}
	if z.ConsumeDelay != nil && *z.ConsumeDelay < 0 {
		bad("pushers.zmq.consume_delay", "%s is negative (0 binds at once)", *z.ConsumeDelay)
	}
	if w := c.Pushers.WAMP; w.On() && w.Port == 0 {
		bad("pushers.wamp.port", "required with pushers.wamp.host (the port of herald serve, such as 8080)")
	}
	if u := c.Pushers.EventsWebhook; u != "" && !hasHTTPScheme(u) {
		bad("pushers.events_webhook", "want an http:// or https:// URL, got %q", u)
	}
	return errs
}

func hasHTTPScheme(u string) bool {
	return len(u) > 7 && (u[:7] == "http://" || (len(u) > 8 && u[:8] == "https://"))
}
