package config

import (
	"fmt"
	"strings"
)

// Router is the server.router section.
type Router struct {
	// Resources lists the routing files, as gos_web_socket's
	// server.router.resources: each item is a path (a file, a glob or a
	// directory) or {resource, type}. Type "oro" loads OroPlatform's
	// layout under a root directory. Relative paths resolve from the
	// configuration file's directory. Empty means no routing: every topic
	// is an open broadcast topic.
	Resources []RouterResource `yaml:"resources"`
	// UnknownTopic is what happens to a topic that matches no route:
	// close (the connection, with 1007, as Gos), error (a CALLERROR) or
	// allow (an open broadcast topic). Default close.
	UnknownTopic string `yaml:"unknown_topic"`
	// LegacyMatching switches to GosPubSubRouterBundle 0.x matching
	// semantics (GosWebSocketBundle 1.x). Default false.
	LegacyMatching bool `yaml:"legacy_matching"`
	// Context is gos_web_socket 1.x's router.context.
	Context RouterContext `yaml:"context"`
}

// RouterContext is gos_web_socket 1.x's server.router.context.
type RouterContext struct {
	// TokenSeparator splits channels into tokens for 0.x matching.
	// Default "/".
	TokenSeparator string `yaml:"tokenSeparator"`
}

// RouterResource is one routing resource. It may be written as a plain
// string, the resource path.
type RouterResource struct {
	Resource string `yaml:"resource"`
	// Type is "" (detected: file, glob or directory), yaml, glob,
	// directory, oro or oro_websocket_routing_yaml.
	Type string `yaml:"type"`
}

func (r *RouterResource) setShorthand(s string) { r.Resource = s }

// Handler maps one route callback to a built-in handler. It may be written
// as a plain string, the type.
type Handler struct {
	// Type is broadcast, secured, ping, deny or webhook.
	Type string `yaml:"type"`
	// Param (secured) is the channel parameter holding the user id.
	// Default user_id.
	Param string `yaml:"param"`
	// Wildcard (secured) lets anyone subscribe when the parameter is "*",
	// as Oro's SyncFailTopic.
	Wildcard bool `yaml:"wildcard"`
	// Interval (ping) is the broadcast period. Default 50s.
	Interval Duration `yaml:"interval"`
	// Message (ping) is the text broadcast. Default "Connection keep
	// alive".
	Message string `yaml:"message"`
	// URL (webhook) receives the events as signed JSON POSTs.
	URL string `yaml:"url"`
	// Secret (webhook) keys the HMAC-SHA256 signature header.
	Secret string `yaml:"secret"`
	// Timeout (webhook) bounds one request. Default 5s.
	Timeout Duration `yaml:"timeout"`
	// Events (webhook) lists the events sent to the URL: subscribe,
	// unsubscribe, publish, push, call. Default all.
	Events []string `yaml:"events"`
	// Subscribe is who may subscribe: anyone, authenticated, backend or
	// nobody. Default anyone.
	Subscribe string `yaml:"subscribe"`
	// Publish is who may publish: anyone, authenticated, backend or
	// nobody. Default anyone.
	Publish string `yaml:"publish"`

	line int
}

func (h *Handler) setShorthand(s string) { h.Type = s }
func (h *Handler) setLine(line int)      { h.line = line }

// Line is the line of the handler's key in the file (0 when unknown).
func (h Handler) Line() int { return h.line }

// HandlerTypes are the built-in handler types.
var HandlerTypes = []string{"broadcast", "secured", "ping", "deny", "webhook"}

var (
	accessNames  = []string{"anyone", "authenticated", "backend", "nobody"}
	eventNames   = []string{"subscribe", "unsubscribe", "publish", "push", "call"}
	unknownNames = []string{"close", "error", "allow"}
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// validateRouting returns the problems of the router and handlers
// sections.
func (c *Config) validateRouting() []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.Errorf(path, format, args...))
	}
	r := c.Server.Router
	if r.UnknownTopic != "" && !oneOf(r.UnknownTopic, unknownNames) {
		bad("server.router.unknown_topic", "%q is not one of %s", r.UnknownTopic, strings.Join(unknownNames, ", "))
	}
	for i, res := range r.Resources {
		if strings.TrimSpace(res.Resource) == "" {
			bad(fmt.Sprintf("server.router.resources[%d]", i), "the resource path is empty")
		}
	}
	for name, h := range c.Handlers {
		path := "handlers." + name
		if !oneOf(h.Type, HandlerTypes) {
			bad(path+".type", "%q is not one of %s", h.Type, strings.Join(HandlerTypes, ", "))
		}
		for key, v := range map[string]string{"subscribe": h.Subscribe, "publish": h.Publish} {
			if v != "" && !oneOf(v, accessNames) {
				bad(path+"."+key, "%q is not one of %s", v, strings.Join(accessNames, ", "))
			}
		}
		if h.Type == "webhook" {
			if !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://") {
				bad(path+".url", "a webhook needs an http:// or https:// URL, got %q", h.URL)
			}
			for i, e := range h.Events {
				if !oneOf(e, eventNames) {
					bad(fmt.Sprintf("%s.events[%d]", path, i), "%q is not one of %s", e, strings.Join(eventNames, ", "))
				}
			}
		}
		if h.Interval < 0 || h.Timeout < 0 {
			bad(path, "durations must not be negative")
		}
	}
	return errs
}
