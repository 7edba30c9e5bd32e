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

// AMQPPusher is pushers.amqp. The push handler runs in herald serve when
// Host is set or Enabled is true, unless Consume is false.
type AMQPPusher struct {
	// Enabled is gos_web_socket 3.x's switch. Setting Host is enough.
	Enabled bool `yaml:"enabled"`
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

// ZMQPusher is pushers.zmq. The push handler runs in herald serve when Host
// is set, unless Consume is false.
type ZMQPusher struct {
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

// WAMPPusher is pushers.wamp.
type WAMPPusher struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	SSL  bool   `yaml:"ssl"`
	// Origin is sent as the Origin header. Default none (Gos sends the
	// bare host).
	Origin string `yaml:"origin"`
	// Structured sends the data as JSON, as Oro's client does, instead of
	// Gos's JSON string.
	Structured bool `yaml:"structured"`
}

// Active reports whether the AMQP push handler should run in herald serve.
func (a AMQPPusher) Active() bool {
	return (a.Host != "" || a.Enabled) && (a.Consume == nil || *a.Consume)
}

// Active reports whether the ZMQ push handler should run in herald serve.
func (z ZMQPusher) Active() bool { return z.Host != "" && (z.Consume == nil || *z.Consume) }

// delay is d, or DefaultConsumeDelay when d is absent.
func delay(d *Duration) time.Duration {
	if d == nil {
		return DefaultConsumeDelay
	}
	return d.D()
}

// Delay is how long herald serve waits before it consumes: consume_delay,
// or DefaultConsumeDelay when it is absent.
func (a AMQPPusher) Delay() time.Duration { return delay(a.ConsumeDelay) }

// Delay is how long herald serve waits before it binds: consume_delay, or
// DefaultConsumeDelay when it is absent.
func (z ZMQPusher) Delay() time.Duration { return delay(z.ConsumeDelay) }

func (c *Config) validatePushers() []error {
	var errs []error
	a := c.Pushers.AMQP
	if a.Enabled && a.Host == "" {
		errs = append(errs, c.Errorf("pushers.amqp.host", "required when pushers.amqp.enabled is true"))
	}
	if a.Port < 0 || a.Port > 65535 {
		errs = append(errs, c.Errorf("pushers.amqp.port", "%d is out of range 1..65535", a.Port))
	}
	if a.Prefetch < 0 {
		errs = append(errs, c.Errorf("pushers.amqp.prefetch", "must not be negative"))
	}
	if a.ConsumeDelay != nil && *a.ConsumeDelay < 0 {
		errs = append(errs, c.Errorf("pushers.amqp.consume_delay", "%s is negative (0 consumes at once)", *a.ConsumeDelay))
	}
	z := c.Pushers.ZMQ
	if z.Protocol != "" && z.Protocol != "tcp" && z.Protocol != "ipc" {
		errs = append(errs, c.Errorf("pushers.zmq.protocol", "%q is not supported (tcp or ipc)", z.Protocol))
	}
	if z.ConsumeDelay != nil && *z.ConsumeDelay < 0 {
		errs = append(errs, c.Errorf("pushers.zmq.consume_delay", "%s is negative (0 binds at once)", *z.ConsumeDelay))
	}
	if u := c.Pushers.EventsWebhook; u != "" && !hasHTTPScheme(u) {
		errs = append(errs, c.Errorf("pushers.events_webhook", "want an http:// or https:// URL, got %q", u))
	}
	return errs
}

func hasHTTPScheme(u string) bool {
	return len(u) > 7 && (u[:7] == "http://" || (len(u) > 8 && u[:8] == "https://"))
}
