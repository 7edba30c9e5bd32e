package bench

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the Config fields whose zero value means "the default".
const (
	DefaultURL                = "ws://127.0.0.1:8080/"
	DefaultTopicPrefix        = "bench/"
	DefaultRealm              = "realm1"
	DefaultConnectConcurrency = 64
	DefaultDuration           = 60 * time.Second
	DefaultDrain              = 5 * time.Second
	DefaultSubscribeTimeout   = 10 * time.Second
	DefaultConnectTimeout     = 10 * time.Second
	// ConnsPerSource is how many connections the default Config.Sources
	// plans per source address (the kernel has about 28,000 ephemeral
	// ports per source address on these machines).
	ConnsPerSource = 20000
	// maxTrackingBytes bounds the subscribers' sequence bitsets
	// (Conns * Messages / 8 bytes).
	maxTrackingBytes = 1 << 30
)

// Ways of publishing, for Config.Via.
const (
	// ViaWAMP publishes over one extra WAMP connection per publisher.
	ViaWAMP = "wamp"
	// ViaHTTP posts to herald's /api/publish.
	ViaHTTP = "http"
	// ViaAMQP publishes {"topic","data"} envelopes to RabbitMQ for the
	// server's AMQP push handler.
	ViaAMQP = "amqp"
)

// Config describes one run. Conns, Topics and Messages must be set; every
// other zero value means the documented default.
type Config struct {
	// URL is the server's WebSocket URL, ws:// on a loopback address.
	// Zero means ws://127.0.0.1:8080/.
	URL string
	// PublishURL is where the publishers go instead of URL: another node
	// of the same herald cluster, to measure fan-out across nodes (WAMP
	// publishers connect there; HTTP publishers post to its API). Zero
	// means URL.
	PublishURL string
	// Conns is the number of subscriber connections.
	Conns int
	// Topics is the number of topics, TopicPrefix+"0" ..
	// TopicPrefix+(Topics-1); connection i subscribes to topic i % Topics.
	Topics int
	// TopicPrefix names the topics. Zero means "bench/".
	TopicPrefix string
	// Messages is the number of publications per topic (sequence numbers
	// 0 .. Messages-1).
	Messages int
	// Rate is the total number of publications per second across all
	// topics and publishers; zero means as fast as possible.
	Rate float64
	// Publishers is the number of concurrent publishers: WAMP connections,
	// HTTP requests in flight, or AMQP channels. Zero means 1.
	Publishers int
	// Size is the approximate size of each event in bytes; events are
	// padded up to it. Zero means no padding (about 40 bytes).
	Size int
	// Via is how events are published: ViaWAMP (the default), ViaHTTP or
	// ViaAMQP.
	Via string
	// Ack makes every publisher wait for each publication's
	// acknowledgement before it sends the next: one publication in flight
	// per publisher, as a backend that waits for each write. Via WAMP v1,
	// which has no acknowledgement, a WebSocket PING goes right after each
	// PUBLISH and its PONG is the acknowledgement (the server answers
	// frames in the order it reads them); via WAMP v2, PUBLISH asks for
	// {"acknowledge": true} and PUBLISHED (or ERROR) answers it. An
	// acknowledgement that does not come within ConnectTimeout fails the
	// publication and ends that publisher. Via HTTP it changes nothing (a
	// request always waits for its answer); via AMQP it means a window of
	// 1 (AMQPConfig.Window must then be 0 or 1).
	Ack bool
	// Protocol is the subscribers' and WAMP publishers' protocol: WAMP1
	// (the default), WAMP2 (v2 JSON) or WAMP2MsgPack (v2 msgpack). Any of
	// them goes with any Via: herald passes the events of its HTTP API
	// and AMQP push handler to v2 subscribers as args[0].
	Protocol string
	// Realm is the WAMP v2 realm. Zero means "realm1".
	Realm string
	// Origin is the Origin header of every WebSocket handshake; empty
	// sends none.
	Origin string
	// Ticket, when not empty, is sent as the ticket query parameter of
	// every connection (an OroSyncBundle ticket).
	Ticket string
	// APIKey is herald's HTTP API key, for ViaHTTP.
	APIKey string
	// AMQP is the RabbitMQ to publish to, for ViaAMQP.
	AMQP *AMQPConfig

	// Sources is the number of source addresses 127.0.0.1 .. 127.0.0.N the
	// connections are spread over. Zero means Conns/20000 + 2. An IPv6
	// target (::1) always uses ::1.
	Sources int
	// ConnectConcurrency bounds the handshakes in flight. Zero means 64.
	ConnectConcurrency int
	// ConnectTimeout bounds one connection's handshake and WELCOME. Zero
	// means 10 s.
	ConnectTimeout time.Duration
	// Duration bounds the whole run. Zero means 60 s.
	Duration time.Duration
	// Drain is how long the run waits for missing deliveries after the
	// last publication. Zero means 5 s.
	Drain time.Duration
	// SubscribeTimeout bounds the wait for every subscriber to see a probe
	// event. Zero means 10 s.
	SubscribeTimeout time.Duration
	// Idle holds the connections idle for this long after subscribing,
	// before the server's memory is read and publishing starts.
	Idle time.Duration

	// PID, when positive, is the server process whose memory is read from
	// /proc/PID/status (VmRSS).
	PID int
	// MetricsURL is herald's Prometheus endpoint, read for
	// process_resident_memory_bytes and herald_connections when PID is
	// not set. Zero means http://HOST:PORT/metrics of URL; "off" disables
	// it.
	MetricsURL string

	// ReadBuffer is the most a connection's read buffer grows to. Zero
	// means 4096 bytes.
	ReadBuffer int
}

// AMQPConfig is where ViaAMQP publishes: the server's pushers.amqp
// settings.
type AMQPConfig struct {
	// Host and Port of RabbitMQ; Port zero means 5672.
	Host string
	Port int
	// Login and Password (PLAIN); Vhost zero means "/".
	Login, Password, Vhost string
	// Exchange is the durable direct exchange the push handler's queue is
	// bound to. Zero means "gos_websocket_exchange".
	Exchange string
	// RoutingKey of the published messages (Gos's is "").
	RoutingKey string
	// Persistent publishes with delivery mode 2.
	Persistent bool
	// Window is how many unconfirmed messages each publisher keeps in
	// flight. Zero means 256, or 1 with Config.Ack.
	Window int
}

// ConfigError is a Config that cannot run: a usage error.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// target is where the run connects, resolved from Config.URL.
type target struct {
	url      *url.URL // request target and Host header; ticket included
	addr     string   // host:port to dial, host an IP literal
	loopback net.IP
	sources  []net.IP // source addresses, one per slot
	httpBase string   // http://host:port, for the API and /metrics
	metrics  string   // "" when off
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, *targets, error) {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.Via == "" {
		c.Via = ViaWAMP
	}
	if c.Protocol == "" {
		c.Protocol = WAMP1
	}
	if c.Publishers == 0 {
		c.Publishers = 1
	}
	if c.ConnectConcurrency == 0 {
		c.ConnectConcurrency = DefaultConnectConcurrency
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.SubscribeTimeout == 0 {
		c.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = DefaultReadBuffer
	}
	if c.Sources == 0 {
		c.Sources = c.Conns/ConnsPerSource + 2
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Conns < 1 {
		bad("conns must be at least 1 (got %d)", c.Conns)
	}
	if c.Topics < 1 {
		bad("topics must be at least 1 (got %d)", c.Topics)
	}
	if c.Messages < 1 {
		bad("messages must be at least 1 (got %d)", c.Messages)
	}
	if c.Messages > math.MaxInt32 {
		bad("messages must be at most %d", math.MaxInt32)
	}
	if c.Conns > 0 && c.Messages > 0 && int64(c.Conns)*int64(c.Messages)/8 > maxTrackingBytes {
		bad("conns × messages = %d: tracking every sequence number would take over 1 GiB; publish fewer messages or use fewer connections", int64(c.Conns)*int64(c.Messages))
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		bad("rate must be a number of publications per second, 0 for as fast as possible (got %v)", c.Rate)
	}
	if c.Publishers < 1 {
		bad("publishers must be at least 1 (got %d)", c.Publishers)
	}
	if c.Size < 0 {
		bad("size must not be negative (got %d)", c.Size)
	}
	if c.Sources < 1 || c.Sources > 254 {
		bad("sources must be 1 .. 254 (got %d)", c.Sources)
	}
	if c.ConnectConcurrency < 1 {
		bad("connect concurrency must be at least 1 (got %d)", c.ConnectConcurrency)
	}
	if c.ReadBuffer < 64 {
		bad("read buffer must be at least 64 bytes (got %d)", c.ReadBuffer)
	}
	for name, d := range map[string]time.Duration{"duration": c.Duration, "drain": c.Drain, "subscribe timeout": c.SubscribeTimeout, "connect timeout": c.ConnectTimeout} {
		if d < 0 {
			bad("%s must be positive (got %v)", name, d)
		}
	}
	if c.Idle < 0 {
		bad("idle must not be negative (got %v)", c.Idle)
	}
	switch c.Protocol {
	case WAMP1, WAMP2, WAMP2MsgPack:
	default:
		bad("protocol %q: want %s, %s or %s", c.Protocol, WAMP1, WAMP2, WAMP2MsgPack)
	}
	switch c.Via {
	case ViaWAMP:
	case ViaHTTP:
		if c.APIKey == "" {
			bad("publishing via http needs herald's API key (api.key)")
		}
	case ViaAMQP:
		if c.AMQP == nil || c.AMQP.Host == "" {
			bad("publishing via amqp needs the RabbitMQ settings (pushers.amqp)")
		} else if err := checkLoopbackHost(c.AMQP.Host); err != nil {
			bad("the AMQP broker: %v", err)
		}
		if c.Ack && c.AMQP != nil && c.AMQP.Window > 1 {
			bad("ack publishes via amqp with a window of 1: it cannot go with an AMQP window of %d", c.AMQP.Window)
		}
	default:
		bad("via %q: want %s, %s or %s", c.Via, ViaWAMP, ViaHTTP, ViaAMQP)
	}
	t, err := c.resolveTarget(c.URL)
	if err != nil {
		errs = append(errs, err)
	}
	pt := t
	if c.PublishURL != "" && err == nil {
		if pt, err = c.resolveTarget(c.PublishURL); err != nil {
			errs = append(errs, fmt.Errorf("publish %w", err))
		}
	}
	if len(errs) > 0 {
		return c, nil, &ConfigError{Err: errors.Join(errs...)}
	}
	return c, &targets{subscribe: t, publish: pt}, nil
}

// targets are the server the subscribers connect to and the one the
// publishers use (the same unless PublishURL is set).
type targets struct {
	subscribe, publish *target
}

// resolveTarget checks a server URL and MetricsURL and plans the source
// addresses.
func (c Config) resolveTarget(raw string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ws":
	case "wss":
		return nil, fmt.Errorf("URL %q: bench speaks plain ws:// only (TLS would measure the TLS stack)", raw)
	default:
		return nil, fmt.Errorf("URL %q: the scheme must be ws", raw)
	}
	if err := checkLoopbackHost(u.Hostname()); err != nil {
		return nil, fmt.Errorf("URL %q: %w", raw, err)
	}
	ip := loopbackIP(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "80"
	}
	t := &target{url: u, addr: net.JoinHostPort(ip.String(), port), loopback: ip}
	t.httpBase = "http://" + net.JoinHostPort(u.Hostname(), port)
	if c.Ticket != "" {
		q := u.RawQuery
		if q != "" && !strings.HasSuffix(q, "&") {
			q += "&"
		}
		u.RawQuery = q + "ticket=" + url.QueryEscape(c.Ticket)
	}
	if ip.To4() == nil {
		t.sources = []net.IP{ip}
	} else {
		for i := 1; i <= c.Sources && i <= 254; i++ {
			t.sources = append(t.sources, net.IPv4(127, 0, 0, byte(i)))
		}
	}
	switch c.MetricsURL {
	case "off", "none":
	case "":
		t.metrics = t.httpBase + "/metrics"
	default:
		m, err := url.Parse(c.MetricsURL)
		if err != nil || (m.Scheme != "http" && m.Scheme != "https") {
			return nil, fmt.Errorf("metrics URL %q: want http://HOST:PORT/metrics", c.MetricsURL)
		}
		if err := checkLoopbackHost(m.Hostname()); err != nil {
			return nil, fmt.Errorf("metrics URL %q: %w", c.MetricsURL, err)
		}
		t.metrics = c.MetricsURL
	}
	return t, nil
}

// checkLoopbackHost accepts localhost and loopback IP literals only.
func checkLoopbackHost(host string) error {
	if loopbackIP(host) == nil {
		return fmt.Errorf("host %q is not a loopback address: bench only targets 127.0.0.0/8, ::1 or localhost", host)
	}
	return nil
}

// loopbackIP returns the address to dial for a loopback host, or nil.
func loopbackIP(host string) net.IP {
	if strings.EqualFold(host, "localhost") {
		return net.IPv4(127, 0, 0, 1)
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil || !ip.IsLoopback() {
		return nil
	}
	return ip
}

// header is the handshake's extra headers.
func (c Config) header() http.Header {
	h := http.Header{}
	if c.Origin != "" {
		h.Set("Origin", c.Origin)
	}
	return h
}

// topic returns the name of topic i.
func (c Config) topic(i int) string { return c.TopicPrefix + strconv.Itoa(i) }
