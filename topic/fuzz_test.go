package topic

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"testing"
)

var wordBoundary = regexp.MustCompile(`\\[bB]`)

// contextAssertion finds what makes a requirement depend on the text
// around its value: word boundaries, text anchors, ^ and $.
var contextAssertion = regexp.MustCompile(`\\[bBAz]|[$^]`)

// checkMatch checks what can be checked about one channel on a 2.x router:
// the fast and the submatch paths agree, a match generates back to a
// channel that matches the same route with the same parameters, and a miss
// is explained.
func checkMatch(t *testing.T, r *Router, channel string) {
	t.Helper()
	for _, c := range r.compiled {
		if c.static {
			continue
		}
		fp, fok := c.match(channel)
		sp, sok := c.matchSlow(channel)
		if fok != sok || !sameParams(fp, sp) {
			t.Fatalf("route %s %q, channel %q: fast %v %v, slow %v %v", c.route.Name, c.route.Pattern, channel, fp, fok, sp, sok)
		}
	}
	m, ok := r.Match(channel)
	if !ok {
		for _, miss := range r.Explain(channel, 3) {
			if miss.Reason == "" {
				t.Fatalf("Explain(%q): empty reason for %s", channel, miss.Route.Name)
			}
		}
		return
	}
	if m.Channel != channel {
		t.Fatalf("Match(%q).Channel = %q", channel, m.Channel)
	}
	gen, err := r.Generate(m.Route.Name, m.Params)
	if err != nil {
		// A value matched in context may fail alone where a requirement
		// tests word boundaries.
		var inv *InvalidParameterError
		if errors.As(err, &inv) && wordBoundary.MatchString(m.Route.Requirements[inv.Param]) {
			return
		}
		// Omitting a trailing default changes what surrounds a value.
		var un *UnmatchedChannelError
		if errors.As(err, &un) && slices.ContainsFunc(slices.Collect(maps.Values(m.Route.Requirements)), contextAssertion.MatchString) {
			return
		}
		t.Fatalf("route %q (reqs %q defaults %q): Match(%q) = %v, but Generate: %v", m.Route.Pattern, m.Route.Requirements, m.Route.Defaults, channel, m.Params, err)
	}
	m2, ok := r.Match(gen)
	if !ok {
		t.Fatalf("route %q (reqs %q defaults %q): Match(%q) = %v, Generate = %q, which does not match", m.Route.Pattern, m.Route.Requirements, m.Route.Defaults, channel, m.Params, gen)
	}
	if m2.Route != m.Route || !sameParams(m2.Params, m.Params) {
		t.Fatalf("route %q: Match(%q) = %v; Generate = %q; Match(%q) = %s %v", m.Route.Pattern, channel, m.Params, gen, gen, m2.Route.Name, m2.Params)
	}
}

// checkGenerate generates route "r" of a one-route router with value for
// every placeholder: a channel returned must match the route.
func checkGenerate(t *testing.T, r *Router, placeholders []string, value string) {
	t.Helper()
	params := make(map[string]string, len(placeholders))
	for _, ph := range placeholders {
		params[ph[1:len(ph)-1]] = value
	}
	ch, err := r.Generate("r", params)
	if err != nil {
		return
	}
	if m, ok := r.Match(ch); !ok || m.Route.Name != "r" {
		route := r.Route("r")
		t.Fatalf("route %q (reqs %q defaults %q): Generate(%q) = %q, which does not match", route.Pattern, route.Requirements, route.Defaults, params, ch)
	}
}

// FuzzCompilePattern compiles a random pattern with a random requirement
// on its first placeholder and a random default on its last: NewRouter
// must not panic, and when it compiles, matching random channels must be
// consistent with generation.
func FuzzCompilePattern(f *testing.F) {
	seeds := []struct {
		pattern, req, def, channel string
		useDef                     bool
	}{
		{"oro/email_event/{user_id}/{organization_id}", `\d+`, "", "oro/email_event/5/7", false},
		{"a/{x}.{y}", "", "json", "a/b.c", true},
		{"a/{x}.{y}", "", "json", "a/b", true},
		{"{x}{y}", "", "", "abc", false},
		{"/{x}", "", "d", "/", true},
		{"{x}", `(a)(b)?`, "ab", "", true},
		{"a/{x<\\d+>?5}", "", "", "a", false},
		{"files/{path}", `.+`, "", "files/a/b", false},
		{"a/{x}/{y}", `(?P<n>x)|y`, "z", "a/x/z", true},
		{"{a},{b};{c}:{d}", `[^,]*`, "", "1,2;3:4", false},
		{"a/{1x}", "", "", "a/1", false},
		{"a/{x}", `(?=a)`, "", "a/a", false},
		{"a/{x}", `a\b`, "", "a/a", false},
		{"a/{x}-{y}", `\w+`, "", "a/b-c", false},
		{"é/{x}", "", "", "é/1", false},
		{"{x}/{y}/{z}", `[^/]*`, "", "//", true},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.req, s.def, s.channel, s.useDef)
	}
	f.Fuzz(func(t *testing.T, pattern, req, def, channel string, useDef bool) {
		route := &Route{Name: "r", Pattern: pattern, Options: map[string]any{"utf8": true}}
		phs := placeholderRe.FindAllString(pattern, -1)
		if len(phs) > 0 && req != "" {
			route.Requirements = map[string]string{phs[0][1 : len(phs[0])-1]: req}
		}
		if len(phs) > 0 && useDef {
			route.Defaults = map[string]string{phs[len(phs)-1][1 : len(phs[len(phs)-1])-1]: def}
		}
		r, err := NewRouter([]*Route{route}, Options{})
		if err != nil {
			if !isRouteError(err) {
				t.Fatalf("NewRouter error %v is not made of *RouteError", err)
			}
			return
		}
		// The requirement as compiled means what it meant before its
		// captures were removed.
		if c := r.compiled[0]; !c.static && req != "" {
			for _, tk := range c.tokens {
				if !tk.isVar || tk.show == "" || r.Route("r").Requirements[tk.name] == "" {
					continue
				}
				if orig, err := regexp.Compile(`(?s)^(?:` + nonCapturing(tk.show) + `)$`); err == nil {
					for _, s := range []string{channel, def, req, ""} {
						if orig.MatchString(s) != c.exact[tk.v].MatchString(s) {
							t.Fatalf("requirement %q: original and canonical %q disagree on %q", tk.show, tk.req, s)
						}
					}
				}
			}
		}
		checkMatch(t, r, channel)
		checkMatch(t, r, pattern)
		if def != "" {
			checkMatch(t, r, def)
		}
		checkGenerate(t, r, phs, channel)
		checkGenerate(t, r, phs, def)
		// Legacy compilation and matching must not panic either.
		if l, err := NewRouter([]*Route{route}, Options{Legacy: true}); err == nil {
			if m, ok := l.Match(channel); ok {
				_, _ = l.Generate("r", m.Params)
			}
			l.Explain(channel, 1)
		}
	})
}

// FuzzMatch matches random channels against Oro's routes and a few
// others, with 2.x and 0.x semantics.
func FuzzMatch(f *testing.F) {
	for _, ch := range append(oroChannels, "", "/", "oro/email_event/5/all", "a/b.c", "x/1/2", "oro/ping/") {
		f.Add(ch)
	}
	extra := []*Route{
		rt("dot", "a/{x}.{y}", "y", `json|xml`),
		withDefaults(rt("opt", "x/{a}/{b}", "a", `\d+`), "b", "1"),
		rt("adj", "c{x}{y}", "x", `\d`),
		withDefaults(rt("lone", "/{x}"), "x", "d"),
		rt("any", "e/{x}", "x", ".+"),
	}
	routes, err := Load([]Resource{{Resource: "testdata/oro", Type: "oro"}}, ".")
	if err != nil {
		f.Fatal(err)
	}
	routes = append(routes, extra...)
	r := mustRouter(f, Options{}, routes...)
	legacy := mustRouter(f, Options{Legacy: true}, routes...)
	f.Fuzz(func(t *testing.T, channel string) {
		checkMatch(t, r, channel)
		if m, ok := legacy.Match(channel); ok {
			if m.Route.Pattern == channel {
				return
			}
			if _, err := legacy.Generate(m.Route.Name, m.Params); err != nil && len(m.Params) > 0 {
				var miss *MissingParametersError
				if !errors.As(err, &miss) {
					t.Fatalf("legacy Match(%q) = %s %v, Generate: %v", channel, m.Route.Name, m.Params, err)
				}
			}
		} else {
			legacy.Explain(channel, 3)
		}
	})
}
