package server

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/heraldws/herald/topic"
)

// ErrNoRoute is returned by Push for a topic that matches no route.
var ErrNoRoute = errors.New("server: no route matches the topic")

// openBinding is the behaviour of topics without routing: broadcast.
var openBinding = Binding{Handler: Broadcast{}}

// bindings merges the configured handler bindings over Oro's defaults and
// checks that every route's callback has one, listing every unmapped
// callback and the routes that use it.
func bindings(cfg Config) (map[string]Binding, error) {
	out := OroHandlers()
	for name, b := range cfg.Handlers {
		if b.Handler == nil {
			return nil, fmt.Errorf("server: handler binding %q has no handler", name)
		}
		if err := checkHandlerMethods(b.Handler); err != nil {
			return nil, fmt.Errorf("server: handler binding %q: %w", name, err)
		}
		out[name] = b
	}
	if cfg.Router == nil {
		return out, nil
	}
	unmapped := map[string][]string{}
	for _, r := range cfg.Router.Routes() {
		if _, ok := out[r.Callback]; !ok {
			where := fmt.Sprintf("route %q", r.Name)
			if r.Source.File != "" {
				where = fmt.Sprintf("%s:%d: route %q", r.Source.File, r.Source.Line, r.Name)
			}
			unmapped[r.Callback] = append(unmapped[r.Callback], where)
		}
	}
	if len(unmapped) == 0 {
		return out, nil
	}
	names := make([]string, 0, len(unmapped))
	for name := range unmapped {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "server: %d route callback(s) have no handler; map each under `handlers:` to a built-in (broadcast, secured, ping, deny, webhook):", len(names))
	for _, name := range names {
		fmt.Fprintf(&b, "\n  %q, used by %s", name, strings.Join(unmapped[name], ", "))
	}
	return nil, errors.New(b.String())
}

// handlerMethods pairs each handler interface with the name of its method.
var handlerMethods = []struct {
	method string
	iface  reflect.Type
}{
	{"OnSubscribe", reflect.TypeFor[SubscribeHandler]()},
	{"OnUnsubscribe", reflect.TypeFor[UnsubscribeHandler]()},
	{"OnPublish", reflect.TypeFor[PublishHandler]()},
	{"OnPush", reflect.TypeFor[PushHandler]()},
	{"OnCall", reflect.TypeFor[CallHandler]()},
	{"Timers", reflect.TypeFor[TimerHandler]()},
}

// checkHandlerMethods refuses a handler with a method named as a handler
// interface's but of another signature (one written for an older herald,
// say): it would be ignored without a word, and its events go unanswered.
func checkHandlerMethods(h Handler) error {
	t := reflect.TypeOf(h)
	for _, hm := range handlerMethods {
		m, ok := t.MethodByName(hm.method)
		if ok && !t.Implements(hm.iface) {
			want, _ := hm.iface.MethodByName(hm.method)
			return fmt.Errorf("%s has a method %s %v, but %s must be %v to be called; see the %s interface", t, hm.method, m.Type, hm.method, want.Type, hm.iface)
		}
	}
	return nil
}

// CheckHandlers reports, as New would, every route callback of r that
// has no binding in handlers or in OroHandlers.
func CheckHandlers(r *topic.Router, handlers map[string]Binding) error {
	_, err := bindings(Config{Router: r, Handlers: handlers})
	return err
}

// resolve finds the route and binding of a topic or procedure name. ok is
// false when routing is on, nothing matches and the policy is not allow.
func (s *Server) resolve(name string) (t *Topic, b Binding, ok bool) {
	if s.cfg.Router == nil {
		return &Topic{srv: s, Name: name}, openBinding, true
	}
	m, found := s.cfg.Router.Match(name)
	if !found {
		if s.cfg.UnknownTopic == UnknownAllow {
			return &Topic{srv: s, Name: name}, openBinding, true
		}
		return nil, Binding{}, false
	}
	return &Topic{srv: s, Name: name, Route: m.Route, Params: m.Params}, s.bindings[m.Route.Callback], true
}

// logUnknown logs a topic that matched no route with the closest routes
// and why each did not match: an opaque drop is what Gos users complained
// about most.
func (s *Server) logUnknown(log logger, name, what string) {
	attrs := []any{"topic", name, "message", what, "policy", s.cfg.UnknownTopic.String()}
	for i, miss := range s.cfg.Router.Explain(name, 3) {
		attrs = append(attrs, fmt.Sprintf("near%d", i+1), fmt.Sprintf("%s (%s): %s", miss.Route.Name, miss.Route.Pattern, miss.Reason))
	}
	log.Warn("no route matches the topic", attrs...)
}

// logger is the part of slog.Logger the server's helpers use.
type logger interface {
	Warn(msg string, args ...any)
}

// Push delivers data pushed by the application's backend to topicName
// through its route's handler, as Gos's push handlers call onPush. It
// returns ErrNoRoute when no route matches (and the unknown-topic policy
// is not allow), and the handler's error when it rejects the push.
func (s *Server) Push(ctx context.Context, topicName string, p *PushEvent) error {
	t, b, ok := s.resolve(topicName)
	if !ok {
		s.logUnknown(s.log, topicName, "push")
		return fmt.Errorf("%w: %q", ErrNoRoute, topicName)
	}
	h, ok := b.Handler.(PushHandler)
	if !ok {
		return fmt.Errorf("server: the handler of route %q does not accept pushes", t.RouteName())
	}
	return h.OnPush(ctx, t, p)
}

// CountPush records the outcome of one message from a push handler in
// herald_pushes_total.
func (s *Server) CountPush(provider string, ok bool) {
	outcome := "success"
	if !ok {
		outcome = "fail"
	}
	s.metrics.pushes.WithLabelValues(provider, outcome).Inc()
}

// topicTimers runs the periodic callbacks of topics whose handler is a
// TimerHandler while they have local subscribers.
type topicTimers struct {
	mu      sync.Mutex
	running map[string]chan struct{} // topic → stop channel
	wg      sync.WaitGroup
	closed  bool
}

// sync starts or stops the timers of t to match its current subscriber
// count. Calls for one topic may race (one session subscribing while
// another leaves); each call looks at the count under the lock, so the
// last one leaves the right state.
func (tt *topicTimers) sync(t *Topic, h TimerHandler) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	stop, running := tt.running[t.Name]
	n := t.Subscribers()
	switch {
	case n > 0 && !running && !tt.closed:
		if tt.running == nil {
			tt.running = make(map[string]chan struct{})
		}
		stop = make(chan struct{})
		tt.running[t.Name] = stop
		for _, timer := range h.Timers(t) {
			if timer.Every <= 0 || timer.Func == nil {
				continue
			}
			tt.wg.Go(func() { runTimer(t, timer, stop) })
		}
	case n == 0 && running:
		close(stop)
		delete(tt.running, t.Name)
	}
}

func runTimer(t *Topic, timer Timer, stop <-chan struct{}) {
	tick := time.NewTicker(timer.Every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			timer.Func(t)
		}
	}
}

// close stops every timer and waits for them.
func (tt *topicTimers) close() {
	tt.mu.Lock()
	tt.closed = true
	for name, stop := range tt.running {
		close(stop)
		delete(tt.running, name)
	}
	tt.mu.Unlock()
	tt.wg.Wait()
}
