package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldws/herald/auth"
	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/push"
	"github.com/heraldws/herald/push/amqppush"
	"github.com/heraldws/herald/push/zmqpush"
	"github.com/heraldws/herald/topic"
)

// apiKeyEnv holds the HTTP API key for `herald push --via http`.
const apiKeyEnv = "HERALD_API_KEY"

type pushOptions struct {
	client     clientFlags
	via        string
	key        string
	structured bool
	routingKey string
}

func newPushCmd(stdout io.Writer) *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push [--via amqp|zmq|wamp|http] ROUTE [name=value ...] [JSON|-]",
		Short: "Push data to a route's channel through a pusher, as GosWebSocketBundle's pushers do",
		Long: `Push data to the channel of ROUTE through a pusher, as GosWebSocketBundle's
PusherInterface::push($data, $routeName, $routeParameters, $context) does:
the channel is generated from the routing files of -c (server.router) with
the name=value parameters, and {"topic": channel, "data": data} is sent.
Without routing files ROUTE is taken as the channel itself (the HTTP pusher
lets the server generate it instead).

  --via amqp   publish to pushers.amqp's exchange (publisher confirms)
  --via zmq    send to pushers.zmq's PULL socket
  --via wamp   publish over WAMP v1 to --url, else pushers.wamp (ssl: wss://;
               Origin: origin, else the bare host, as Gos), else where the
               flags below say: the route handler's publish hook runs, as
               with Gos's WampPusher; the data travels as a JSON string
               unless --structured
  --via http   POST /api/publish with the API key (--key, $HERALD_API_KEY or
               api.key) to the server of --url or -c

Without --via, the only pusher that the pushers section of -c turns on is
used. A section whose enabled is false cannot push.

JSON is the last argument, or standard input when it is "-" or absent. A
string is sent wrapped in a list, as Gos 2.x/3.x's pushers do.

` + clientFlagsHelp,
		Example: `  herald push -c herald.yaml --via amqp oro_email.event user_id=5 organization_id=1 '{"hasNewEmail":true}'
  herald push -c herald.yaml --via http acme_chat room=lobby '{"msg":"hi"}'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			route, params, data, err := pushArgs(args)
			if err != nil {
				return err
			}
			if data == nil {
				if data, err = readEvent(input(cmd)); err != nil {
					return err
				}
			}
			return runPush(cmd, o, route, params, data)
		},
	}
	o.client.register(cmd, true)
	cmd.Flags().StringVar(&o.via, "via", "", "transport: amqp, zmq, wamp or http (default: the only pusher the pushers section of -c turns on)")
	cmd.Flags().StringVar(&o.key, "key", "", "HTTP API key (default $"+apiKeyEnv+", then api.key)")
	cmd.Flags().BoolVar(&o.structured, "structured", false, "wamp: send the data as JSON rather than a JSON string")
	cmd.Flags().StringVar(&o.routingKey, "routing-key", "", "amqp: routing key (default pushers.amqp.routing_key)")
	return cmd
}

var paramArg = regexp.MustCompile(`^\w+=`)

// pushArgs splits ROUTE, name=value parameters and the optional JSON.
func pushArgs(args []string) (route string, params map[string]string, data []byte, err error) {
	route, rest := args[0], args[1:]
	params = map[string]string{}
	for i, a := range rest {
		if paramArg.MatchString(a) {
			k, v, _ := strings.Cut(a, "=")
			params[k] = v
			continue
		}
		if i != len(rest)-1 {
			return "", nil, nil, fmt.Errorf("argument %q: parameters are name=value, and the JSON comes last", a)
		}
		if a != "-" {
			data = []byte(a)
		}
	}
	return route, params, data, nil
}

func runPush(cmd *cobra.Command, o pushOptions, route string, params map[string]string, data []byte) error {
	if !json.Valid(data) {
		return fmt.Errorf("the data is not valid JSON")
	}
	cfg := config.Default()
	var err error
	if o.client.configPath != "" {
		if cfg, err = config.Load(o.client.configPath); err != nil {
			return err
		}
	}
	var router *topic.Router
	if len(cfg.Server.Router.Resources) > 0 {
		rt, err := loadRouting(cfg)
		if err != nil {
			return err
		}
		router = rt.router
	}
	if o.via, err = chooseVia(o.via, cfg); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	pusher, err := newPusher(cmd, o, cfg, router, log)
	if err != nil {
		return err
	}
	defer pusher.Close()
	ctx := cmd.Context()
	if o.client.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.client.timeout)
		defer cancel()
	}
	opts := map[string]any{}
	if o.routingKey != "" {
		opts["routing_key"] = o.routingKey
	}
	if err := pusher.Push(ctx, json.RawMessage(data), route, params, opts); err != nil {
		return fmt.Errorf("push via %s: %w", o.via, err)
	}
	return nil
}

// chooseVia returns --via, or the only pusher the pushers section turns
// on when --via is absent.
func chooseVia(via string, cfg *config.Config) (string, error) {
	if via != "" {
		return via, nil
	}
	switch on := pushersOn(cfg.Pushers); len(on) {
	case 1:
		return on[0], nil
	case 0:
		return "", fmt.Errorf("--via is required: amqp, zmq, wamp or http (no pusher is on in the pushers section of -c)")
	default:
		return "", fmt.Errorf("--via is required: the pushers section of -c turns on %s; choose one", strings.Join(on, ", "))
	}
}

// newPusher builds the pusher --via names.
func newPusher(cmd *cobra.Command, o pushOptions, cfg *config.Config, router *topic.Router, log *slog.Logger) (push.Pusher, error) {
	switch o.via {
	case "amqp":
		c, err := amqpPusherConfig(cfg, log)
		if err != nil {
			return nil, err
		}
		return amqppush.NewPusher(c, router)
	case "zmq":
		c, err := zmqPusherConfig(cfg, log)
		if err != nil {
			return nil, err
		}
		return zmqpush.NewPusher(c, router)
	case "wamp":
		return newWAMPPusher(cmd, o, cfg, router)
	case "http":
		return newHTTPPusher(cmd, o, cfg, router)
	}
	return nil, fmt.Errorf("--via %q: want amqp, zmq, wamp or http", o.via)
}

// newWAMPPusher connects to --url, else to pushers.wamp as Gos's
// WampPusher does (ssl for wss://, origin or else the bare host as the
// Origin header), else to the server that the client flags name.
func newWAMPPusher(cmd *cobra.Command, o pushOptions, cfg *config.Config, router *topic.Router) (push.Pusher, error) {
	t, err := o.client.resolve(cmd, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	flags := o.client
	if w := cfg.Pushers.WAMP; o.client.url == "" {
		switch {
		case w.Disabled():
			return nil, cfg.Errorf("pushers.wamp.enabled", "false turns the WAMP pusher off; set it to true (or remove it), or give --url")
		case w.On():
			if w.Port == 0 {
				return nil, cfg.Errorf("pushers.wamp.port", "required with pushers.wamp.host (the port of herald serve, such as 8080)")
			}
			scheme := "ws"
			if w.SSL {
				scheme = "wss"
			}
			t.url = scheme + "://" + net.JoinHostPort(strings.Trim(w.Host, "[]"), strconv.Itoa(w.Port)) + "/"
			t.host = w.Host
			if !cmd.Flags().Changed("origin") {
				flags.origin = cmp.Or(w.Origin, w.Host)
			}
		}
	}
	if err := t.configured(); err != nil {
		return nil, err
	}
	opts, err := t.options(&flags)
	if err != nil {
		return nil, err
	}
	if t.secret != "" {
		secret := t.secret
		opts.Ticket = ""
		opts.TicketFunc = func() (string, error) {
			tk, err := auth.NewTicket(secret, "", secret, time.Now())
			return tk.Encode(), err
		}
	}
	return push.NewWAMPPusher(t.url, opts, router, o.structured || cfg.Pushers.WAMP.Structured), nil
}

// newHTTPPusher posts to the server that the client flags name, with the
// API key of --key, $HERALD_API_KEY or api.key.
func newHTTPPusher(cmd *cobra.Command, o pushOptions, cfg *config.Config, router *topic.Router) (push.Pusher, error) {
	t, err := o.client.resolve(cmd, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(t.url)
	if err != nil {
		return nil, err
	}
	u.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	u.Path, u.RawQuery = "", ""
	key := cmp.Or(o.key, os.Getenv(apiKeyEnv), cfg.API.Key)
	if key == "" {
		return nil, fmt.Errorf("--via http needs an API key: --key, $%s or api.key", apiKeyEnv)
	}
	return &push.HTTPPusher{URL: u.String(), Key: key, Router: router}, nil
}
