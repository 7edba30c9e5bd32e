package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/heraldws/herald/internal/config"
	"github.com/heraldws/herald/server"
	"github.com/heraldws/herald/topic"
)

// routing is what the routing sections of a configuration build.
type routing struct {
	router   *topic.Router // nil when no resource is configured
	handlers map[string]server.Binding
	unknown  server.UnknownTopicPolicy
}

// loadRouting loads the router resources, compiles the routes, builds the
// configured handlers and checks that every route callback has one.
func loadRouting(cfg *config.Config) (*routing, error) {
	rt := &routing{handlers: map[string]server.Binding{}}
	var err error
	if rt.unknown, err = server.ParseUnknownTopicPolicy(cfg.Server.Router.UnknownTopic); err != nil {
		return nil, err
	}
	for name, h := range cfg.Handlers {
		b, err := binding(h)
		if err != nil {
			return nil, cfg.Errorf("handlers."+name, "%w", err)
		}
		rt.handlers[name] = b
	}
	if len(cfg.Server.Router.Resources) == 0 {
		return rt, nil
	}
	base := cfg.Dir
	if base == "" {
		if base, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	resources := make([]topic.Resource, len(cfg.Server.Router.Resources))
	for i, r := range cfg.Server.Router.Resources {
		resources[i] = topic.Resource{Resource: r.Resource, Type: r.Type}
	}
	routes, err := topic.Load(resources, base)
	if err != nil {
		return nil, positionLoadErrors(cfg, err)
	}
	rt.router, err = topic.NewRouter(routes, topic.Options{
		Legacy:         cfg.Server.Router.LegacyMatching,
		TokenSeparator: cfg.Server.Router.Context.TokenSeparator,
	})
	if err != nil {
		return nil, fmt.Errorf("compiling routes: %w", err)
	}
	if err := server.CheckHandlers(rt.router, rt.handlers); err != nil {
		return nil, err
	}
	return rt, nil
}

// positionLoadErrors names, for each problem of a resource itself (a
// missing path, one that yields no routing file), the resource's entry in
// the configuration file (file:line), and for routing that defines no route
// at all, the resources key; the other problems name their routing file's
// line already.
func positionLoadErrors(cfg *config.Config, err error) error {
	var out []error
	for _, e := range flatten(err) {
		var re *topic.RouteError
		switch {
		case errors.Is(e, topic.ErrNoRoutes):
			out = append(out, cfg.Errorf("server.router.resources", "%w", e))
		case errors.As(e, &re) && re.Resource != "":
			path := "server.router.resources"
			for i, r := range cfg.Server.Router.Resources {
				if r.Resource == re.Resource {
					path = fmt.Sprintf("server.router.resources[%d]", i)
					break
				}
			}
			out = append(out, cfg.Errorf(path, "%w", e))
		default:
			out = append(out, fmt.Errorf("loading routes: %w", e))
		}
	}
	return errors.Join(out...)
}

// binding builds one built-in handler from its configuration.
func binding(h config.Handler) (server.Binding, error) {
	var b server.Binding
	var err error
	if b.Policy.Subscribe, err = server.ParseAccess(h.Subscribe); err != nil {
		return b, err
	}
	if b.Policy.Publish, err = server.ParseAccess(h.Publish); err != nil {
		return b, err
	}
	switch h.Type {
	case "broadcast":
		b.Handler = server.Broadcast{}
	case "secured":
		b.Handler = server.Secured{Param: h.Param, AllowWildcard: h.Wildcard}
	case "ping":
		p := server.Ping{Interval: h.Interval.D()}
		if h.Message != "" {
			msg, _ := json.Marshal(h.Message)
			p.Message = msg
		}
		b.Handler = p
	case "deny":
		b.Handler = server.Deny{}
	case "webhook":
		b.Handler, err = server.NewWebhook(server.WebhookConfig{
			URL: h.URL, Secret: h.Secret, Timeout: h.Timeout.D(), Events: h.Events,
		})
	default:
		err = fmt.Errorf("unknown handler type %q", h.Type)
	}
	return b, err
}

// handlerName names the handler a callback is bound to, for listings.
func handlerName(b server.Binding) string {
	switch b.Handler.(type) {
	case server.Broadcast:
		return "broadcast"
	case server.Secured:
		if b.Handler.(server.Secured).AllowWildcard {
			return "secured (wildcard)"
		}
		return "secured"
	case server.Ping:
		return "ping"
	case server.Deny:
		return "deny"
	case *server.Webhook:
		return "webhook"
	}
	return fmt.Sprintf("%T", b.Handler)
}
