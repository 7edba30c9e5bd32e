package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/bench"
	"github.com/heraldws/herald/internal/config"
)

// Exit statuses main uses (see ExitCode).
const (
	// ExitFailure is any error, and a bench run with loss or duplicates.
	ExitFailure = 1
	// ExitUsage is a command line that cannot run.
	ExitUsage = 2
)

// usageError is a command line that cannot run: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// ExitCode is the process exit status for Run's error: 0 for nil, 2 for
// a usage error (a flag, argument or command name of any verb that does
// not parse, a `herald bench` run that cannot start), 1 otherwise.
func ExitCode(err error) int {
	var ue *usageError
	var ce *bench.ConfigError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue), errors.As(err, &ce):
		return ExitUsage
	}
	return ExitFailure
}

// benchOptions are the flags of `herald bench`.
type benchOptions struct {
	client     clientFlags
	cfg        bench.Config
	apiKey     string
	json       string
	quiet      bool
	window     int
	metrics    string
	publishURL string
	proto      string
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench [flags] [ws://127.0.0.1:8080/]",
		Short: "Load-test a herald (or any WAMP v1/v2) server on this machine",
		Long: `Load-test a WebSocket pub/sub server on this machine: open --conns
subscriber connections (spread over the source addresses 127.0.0.1 ..
127.0.0.N), subscribe connection i to topic i % --topics, publish --messages
numbered, timestamped events to every topic (over WAMP, herald's HTTP API or
RabbitMQ), and report deliveries/s, publish→deliver latency, the
publishers' own latency (publish call to written, acknowledged, answered
or confirmed), loss, duplicates, the connect rate and the server's memory
per connection. --ack makes every publisher wait for each publication's
acknowledgement, as a backend that publishes one request at a time.

--proto chooses the subscribers' and WAMP publishers' protocol: v1 (WAMP
v1, the default), v2 (WAMP v2 JSON, also v2-json) or v2-msgpack (WAMP v2
MessagePack, binary frames); --protocol says the same with the names the
JSON summary uses (wamp1, wamp2, wamp2-msgpack). Any of them goes with any
--via: herald passes HTTP and AMQP publications to v2 subscribers as
args[0].

The target is the URL argument, else $ORO_WEBSOCKET_BACKEND_DSN, else -c's
server section, else ws://127.0.0.1:8080/. Only loopback addresses are
accepted. -c also gives the API key (api.key, for --via http), the RabbitMQ
settings (pushers.amqp, for --via amqp) and the secret (auth.secret: every
connection then carries one anonymous ticket).

The server's memory is read from /proc/PID/status with --pid, else from
--metrics (default http://HOST:PORT/metrics of the target): before
connecting, and after connecting, subscribing and --idle.

A progress line goes to standard error every second (--quiet: none); the
summary to standard output, or to standard error when --json - puts the
JSON summary on standard output. Exit status: 0 when every expected event
arrived exactly once, 1 otherwise (loss, duplicates, time out, aborted), 2
for bad usage. docs/bench.md describes the flags and the JSON fields.`,
		Example: `  herald bench --conns 2000 --messages 300                    # burst fan-out to one topic
  herald bench --conns 1000 --topics 10 --rate 2000 --messages 6000 --json -
  herald bench --proto v2-msgpack --conns 2000 --messages 300     # the same burst in WAMP v2 msgpack
  herald bench --conns 19000 --idle 30s --pid $(pidof herald) --messages 1
  herald bench -c herald.yaml --via amqp --conns 100 --messages 10000`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{fmt.Errorf("bench takes at most one argument, the server URL (got %d)", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd, o, args, stdout, stderr)
		},
	}
	o.client.register(cmd, false)
	f := cmd.Flags()
	f.IntVar(&o.cfg.Conns, "conns", 1000, "subscriber connections")
	f.IntVar(&o.cfg.Topics, "topics", 1, "topics PREFIX0 .. PREFIX(T-1); connection i subscribes to topic i % T")
	f.StringVar(&o.cfg.TopicPrefix, "topic-prefix", bench.DefaultTopicPrefix, "topic name prefix")
	f.IntVar(&o.cfg.Messages, "messages", 300, "publications per topic")
	f.Float64Var(&o.cfg.Rate, "rate", 0, "publications per second across all topics; 0 = as fast as possible")
	f.IntVar(&o.cfg.Publishers, "publishers", 1, "concurrent publishers (WAMP connections, HTTP requests in flight, AMQP channels)")
	f.IntVar(&o.cfg.Size, "size", 40, "approximate event size in bytes (padding)")
	f.StringVar(&o.cfg.Via, "via", bench.ViaWAMP, "publish via wamp, http (POST /api/publish) or amqp (pushers.amqp of -c)")
	f.BoolVar(&o.cfg.Ack, "ack", false, "each publisher waits for every publication's acknowledgement before the next (WAMP v1: a PING after each PUBLISH, its PONG; v2: PUBLISHED); with --via amqp an AMQP window of 1; --via http always waits")
	f.StringVar(&o.cfg.Protocol, "protocol", bench.WAMP1, "wamp1, wamp2 (WAMP v2 JSON) or wamp2-msgpack (WAMP v2 msgpack); --proto in other words")
	f.StringVar(&o.proto, "proto", "v1", "v1, v2 (WAMP v2 JSON; also v2-json) or v2-msgpack (WAMP v2 msgpack): --protocol wamp1, wamp2 or wamp2-msgpack")
	f.StringVar(&o.cfg.Realm, "realm", bench.DefaultRealm, "WAMP v2 realm")
	f.StringVar(&o.cfg.Origin, "origin", "127.0.0.1", `Origin header ("" sends none; the default is none with WAMP v2)`)
	f.StringVar(&o.apiKey, "api-key", "", "HTTP API key for --via http (default $"+apiKeyEnv+", then api.key of -c)")
	f.IntVar(&o.window, "amqp-window", bench.DefaultAMQPWindow, "unconfirmed AMQP messages in flight per publisher (1 with --ack)")
	f.IntVar(&o.cfg.Sources, "sources", 0, "source addresses 127.0.0.1 .. 127.0.0.N (default conns/20000 + 2)")
	f.IntVar(&o.cfg.ConnectConcurrency, "connect-concurrency", bench.DefaultConnectConcurrency, "handshakes in flight while connecting")
	f.DurationVar(&o.cfg.ConnectTimeout, "connect-timeout", bench.DefaultConnectTimeout, "bound on one connection's handshake and WELCOME")
	f.DurationVar(&o.cfg.Duration, "duration", bench.DefaultDuration, "hard bound on the whole run")
	f.DurationVar(&o.cfg.Drain, "drain", bench.DefaultDrain, "how long to wait for missing deliveries after the last publication")
	f.DurationVar(&o.cfg.SubscribeTimeout, "subscribe-timeout", bench.DefaultSubscribeTimeout, "how long to wait for every subscriber to see a probe event")
	f.DurationVar(&o.cfg.Idle, "idle", 0, "hold the connections idle this long before reading the server's memory and publishing")
	f.IntVar(&o.cfg.PID, "pid", 0, "server process whose memory to read (/proc/PID/status VmRSS)")
	f.StringVar(&o.publishURL, "publish-url", "", "another node of the same cluster for the publishers (ws://...): measures fan-out across nodes")
	f.StringVar(&o.metrics, "metrics", "", `Prometheus URL for the server's memory (default http://HOST:PORT/metrics of the target; "off" disables)`)
	f.IntVar(&o.cfg.ReadBuffer, "read-buffer", bench.DefaultReadBuffer, "largest read buffer per connection, bytes")
	f.StringVar(&o.json, "json", "", `write the JSON summary to FILE ("-": standard output)`)
	f.BoolVar(&o.quiet, "quiet", false, "no progress line")
	return cmd
}

func runBench(cmd *cobra.Command, o benchOptions, args []string, stdout, stderr io.Writer) error {
	cfg := o.cfg
	if cmd.Flags().Changed("proto") {
		p, ok := bench.ProtocolOf(o.proto)
		if !ok {
			return &usageError{fmt.Errorf("--proto %q: want v1, v2 (or v2-json) or v2-msgpack", o.proto)}
		}
		if cmd.Flags().Changed("protocol") && cfg.Protocol != p {
			return &usageError{fmt.Errorf("--proto %s means --protocol %s, not --protocol %s: give one of them", o.proto, p, cfg.Protocol)}
		}
		cfg.Protocol = p
	}
	cfg.MetricsURL = o.metrics
	cfg.PublishURL = o.publishURL
	if cfg.Ack && cfg.Via == bench.ViaAMQP {
		// One publication in flight: an AMQP window of 1.
		if cmd.Flags().Changed("amqp-window") && o.window != 1 {
			return &usageError{fmt.Errorf("--ack publishes via amqp with a window of 1: it cannot go with --amqp-window %d", o.window)}
		}
		o.window = 1
	}
	var file *config.Config
	if o.client.configPath != "" {
		var err error
		if file, err = config.Load(o.client.configPath); err != nil {
			return &usageError{err}
		}
	}

	// The target and the secret, as the other client verbs find them.
	t, err := o.client.resolve(cmd, os.LookupEnv)
	if err != nil {
		return &usageError{err}
	}
	cfg.URL = t.url
	if len(args) == 1 {
		cfg.URL = args[0]
	}
	if t.secret != "" {
		ticket, err := auth.NewTicket(t.secret, "", t.secret, time.Now())
		if err != nil {
			return &usageError{fmt.Errorf("the secret cannot sign tickets: %w", err)}
		}
		cfg.Ticket = ticket.Encode()
	}
	if bench.IsV2(cfg.Protocol) && !cmd.Flags().Changed("origin") {
		cfg.Origin = ""
	}

	switch cfg.Via {
	case bench.ViaHTTP:
		cfg.APIKey = o.apiKey
		if cfg.APIKey == "" {
			cfg.APIKey = os.Getenv(apiKeyEnv)
		}
		if cfg.APIKey == "" && file != nil {
			cfg.APIKey = file.API.Key
		}
		if cfg.APIKey == "" {
			return &usageError{fmt.Errorf("--via http needs an API key: --api-key, $%s or api.key of -c", apiKeyEnv)}
		}
	case bench.ViaAMQP:
		if file == nil {
			return &usageError{errors.New("--via amqp needs pushers.amqp in the configuration (-c)")}
		}
		a, err := amqpPusherConfig(file, slog.New(slog.DiscardHandler))
		if err != nil {
			return &usageError{err}
		}
		cfg.AMQP = &bench.AMQPConfig{
			Host: a.Host, Port: a.Port, Login: a.Login, Password: a.Password, Vhost: a.Vhost,
			Exchange: a.ExchangeName, RoutingKey: a.RoutingKey, Persistent: a.Persistent, Window: o.window,
		}
	}

	var progress io.Writer = stderr
	if o.quiet {
		progress = nil
	}
	sum, runErr := bench.Run(cmd.Context(), cfg, progress)
	if sum == nil {
		return runErr // a *bench.ConfigError: usage
	}

	text := stdout
	if o.json == "-" {
		text = stderr
	}
	sum.WriteText(text)
	if o.json != "" {
		data, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return err
		}
		data = append(data, '\n')
		if o.json == "-" {
			if _, err := stdout.Write(data); err != nil {
				return err
			}
		} else if err := os.WriteFile(o.json, data, 0o644); err != nil {
			return fmt.Errorf("writing the JSON summary: %w", err)
		}
	}
	switch {
	case runErr != nil:
		return runErr
	case !sum.OK:
		d := sum.Delivery
		return fmt.Errorf("bench: %d of %d expected deliveries missing, %d duplicates, %d unexpected (ended by %s)", d.Lost, d.Expected, d.Duplicates, d.Unexpected, sum.EndedBy)
	}
	return nil
}
