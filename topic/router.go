package topic

import (
	"errors"
	"fmt"
)

// Options select the matching semantics of a Router. The zero value is
// PubSubRouter 2.x (what Gos WebSocketBundle 3.x and Oro run).
type Options struct {
	// Legacy selects PubSubRouter 0.x matching and generation (Gos
	// WebSocketBundle 1.x): the channel is split on TokenSeparator and
	// compared token by token; a channel without separator must equal the
	// pattern; a requirement is checked anchored at the start only and
	// case-insensitively; a wildcard requirement also accepts "*" and
	// "all"; in a route that has requirements, a parameter without one of
	// its own matches only its literal name; a route without requirements
	// yields no parameters.
	Legacy bool
	// TokenSeparator is the 0.x token separator (router.context.tokenSeparator).
	// Empty means "/". Ignored unless Legacy.
	TokenSeparator string
}

// Router holds compiled routes in load order. It is immutable once built
// and safe for concurrent use.
type Router struct {
	opts   Options
	routes []*Route
	byName map[string]int
	// 2.x
	compiled []*compiled
	static   map[string]int // pattern of a static route → its first index
	dynamic  []int          // indexes of routes with placeholders
	// 0.x
	legacy []*legacy
}

// NewRouter compiles routes, in order. It reports every problem it finds,
// joined with errors.Join; each is a *RouteError naming the route and where
// it was declared. A route whose name was already given replaces the
// earlier one and moves to the end, as PubSubRouter's RouteCollection::add
// does (that is how an application overrides a bundle's route).
//
// Routes whose Pattern holds inline "{name<regex>?default}" parts are
// copied with those parts moved into Requirements and Defaults; the
// others are kept as given. Routes and Match return the router's routes.
func NewRouter(routes []*Route, opts Options) (*Router, error) {
	if opts.TokenSeparator == "" {
		opts.TokenSeparator = "/"
	}
	r := &Router{opts: opts, byName: make(map[string]int, len(routes))}
	if !opts.Legacy {
		r.static = map[string]int{}
	}
	var errs []error
	for i, in := range routes {
		if in == nil {
			errs = append(errs, fmt.Errorf("topic: route %d is nil", i))
		}
	}
	routes = lastByName(routes)
	for _, in := range routes {
		rt, nerrs := normalize(in)
		errs = append(errs, nerrs...)
		if opts.Legacy {
			l, cerrs := compileLegacy(rt, opts.TokenSeparator)
			if cerrs != nil {
				errs = append(errs, cerrs...)
				continue
			}
			r.legacy = append(r.legacy, l)
		} else {
			c, cerrs := compile(rt)
			if cerrs != nil {
				errs = append(errs, cerrs...)
				continue
			}
			idx := len(r.compiled)
			r.compiled = append(r.compiled, c)
			if c.static {
				if _, ok := r.static[c.prefix]; !ok {
					r.static[c.prefix] = idx
				}
			} else {
				r.dynamic = append(r.dynamic, idx)
			}
		}
		r.byName[rt.Name] = len(r.routes)
		r.routes = append(r.routes, rt)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// Routes returns the routes in load order. The slice is fresh; the routes
// are shared and must not be modified.
func (r *Router) Routes() []*Route {
	return append([]*Route(nil), r.routes...)
}

// Route returns the route named name, or nil.
func (r *Router) Route(name string) *Route {
	if i, ok := r.byName[name]; ok {
		return r.routes[i]
	}
	return nil
}

// Match returns the first route, in load order, whose pattern matches
// channel, with the captured parameters merged over the route's defaults.
// It allocates only the result.
func (r *Router) Match(channel string) (*Match, bool) {
	if r.opts.Legacy {
		for _, l := range r.legacy {
			if p, ok := l.match(channel); ok {
				return &Match{Route: l.route, Channel: channel, Params: p}, true
			}
		}
		return nil, false
	}
	// A static route equal to channel wins unless a dynamic route declared
	// before it matches: only those need trying.
	limit := len(r.compiled)
	si, isStatic := r.static[channel]
	if isStatic {
		limit = si
	}
	for _, i := range r.dynamic {
		if i >= limit {
			break
		}
		c := r.compiled[i]
		if p, ok := c.match(channel); ok {
			return &Match{Route: c.route, Channel: channel, Params: p}, true
		}
	}
	if isStatic {
		c := r.compiled[si]
		return &Match{Route: c.route, Channel: channel, Params: c.params(len(c.route.Defaults))}, true
	}
	return nil, false
}

// Generate builds the channel of route name from params.
//
// With 2.x semantics (Gos Generator::doGenerate) every placeholder needs a
// parameter or a default, else a *MissingParametersError lists them; each
// value placed in the channel must match its requirement as Match checks
// it (anchored, case-sensitive; Gos checks case-insensitively), else an
// *InvalidParameterError names it; trailing placeholders whose value equals
// their default are left out. The channel built is matched against the
// route before it is returned (an *UnmatchedChannelError when a
// requirement that tests its surroundings fails in place), so the route
// matches every channel Generate returns; a route declared earlier may
// still match it first, as in PubSubRouter. With Legacy, 0.x rules apply: every parameter
// is required, "*" and "all" pass a wildcard requirement, other values must
// match the requirement anchored at the start, and the tokens are joined
// with the separator. An unknown name yields an error wrapping
// ErrUnknownRoute.
func (r *Router) Generate(name string, params map[string]string) (string, error) {
	i, ok := r.byName[name]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownRoute, name)
	}
	if r.opts.Legacy {
		return r.legacy[i].generate(params)
	}
	return r.compiled[i].generate(params)
}

// lastByName drops nil routes and every route overridden by a later one of
// the same name; the later one takes the position of its own declaration.
func lastByName(routes []*Route) []*Route {
	last := make(map[string]int, len(routes))
	for i, r := range routes {
		if r != nil {
			last[r.Name] = i
		}
	}
	out := make([]*Route, 0, len(last))
	for i, r := range routes {
		if r != nil && last[r.Name] == i {
			out = append(out, r)
		}
	}
	return out
}
