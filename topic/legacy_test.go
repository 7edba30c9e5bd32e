package topic

import "testing"

// TestLegacyMatch covers PubSubRouter 0.x matching (compat.md §2.2, 0.3.5).
func TestLegacyMatch(t *testing.T) {
	wildcard := func(r *Route, names ...string) *Route {
		r.Wildcards = map[string]bool{}
		for _, n := range names {
			r.Wildcards[n] = true
			r.Requirements[n] += `|\*`
		}
		return r
	}
	type probe struct {
		channel, route string
		params         map[string]string
	}
	tests := []struct {
		name   string
		sep    string
		routes []*Route
		probes []probe
	}{
		{
			name:   "token counts must be equal",
			routes: []*Route{rt("r", "a/{x}", "x", `\d+`)},
			probes: []probe{{"a/1", "r", map[string]string{"x": "1"}}, {"a/1/2", "", nil}, {"a", "", nil}},
		},
		{
			name:   "no separator: exact equality",
			routes: []*Route{rt("ping", "ping"), rt("param", "{x}", "x", `.*`)},
			probes: []probe{{"ping", "ping", nil}, {"pong", "", nil}, {"{x}", "param", nil}, {"PING", "", nil}},
		},
		{
			name:   "a channel without separator never matches a pattern with one",
			routes: []*Route{rt("r", "a/{x}")},
			probes: []probe{{"a", "", nil}, {"{x}", "", nil}},
		},
		{
			name:   "requirement anchored at the start only",
			routes: []*Route{rt("r", "a/{x}", "x", `\d+`)},
			probes: []probe{{"a/12abc", "r", map[string]string{"x": "12abc"}}, {"a/x12", "", nil}},
		},
		{
			name:   "requirement case-insensitive",
			routes: []*Route{rt("r", "a/{x}", "x", `[a-z]+`)},
			probes: []probe{{"a/ABC", "r", map[string]string{"x": "ABC"}}},
		},
		{
			name:   "static tokens are case-sensitive",
			routes: []*Route{rt("r", "Oro/{x}", "x", `\d+`)},
			probes: []probe{{"Oro/1", "r", map[string]string{"x": "1"}}, {"oro/1", "", nil}},
		},
		{
			name:   "wildcard accepts * and all",
			routes: []*Route{wildcard(rt("r", "a/{x}", "x", `\d+`), "x")},
			probes: []probe{
				{"a/*", "r", map[string]string{"x": "*"}},
				{"a/all", "r", map[string]string{"x": "all"}},
				{"a/5", "r", map[string]string{"x": "5"}},
				{"a/ALL", "", nil},
				{"a/any", "", nil},
			},
		},
		{
			name:   "without wildcard, all is checked against the pattern",
			routes: []*Route{rt("r", "a/{x}", "x", `\d+`)},
			probes: []probe{{"a/all", "", nil}, {"a/*", "", nil}},
		},
		{
			name:   "quirk: a parameter without requirement only matches its name",
			routes: []*Route{rt("r", "a/{x}/{y}", "x", `\d+`)},
			probes: []probe{{"a/1/y", "r", map[string]string{"x": "1", "y": "y"}}, {"a/1/z", "", nil}},
		},
		{
			name:   "a route without requirements accepts anything but reports no parameters",
			routes: []*Route{rt("r", "a/{x}/{y}")},
			probes: []probe{{"a/1/2", "r", map[string]string{}}, {"b/1/2", "", nil}},
		},
		{
			name:   "first match wins",
			routes: []*Route{rt("first", "a/{x}", "x", `\d`), rt("second", "a/{x}", "x", `\d+`)},
			probes: []probe{{"a/12", "first", map[string]string{"x": "12"}}, {"a/b", "", nil}},
		},
		{
			name:   "custom token separator",
			sep:    ":",
			routes: []*Route{rt("r", "acme:{x}", "x", `\d+`), rt("slash", "a/b")},
			probes: []probe{{"acme:1", "r", map[string]string{"x": "1"}}, {"acme/1", "", nil}, {"a/b", "slash", nil}},
		},
		{
			name:   "a repeated parameter reports its first value",
			routes: []*Route{rt("r", "{x}/{x}", "x", `\d+`)},
			probes: []probe{{"1/2", "r", map[string]string{"x": "1"}}},
		},
		{
			name:   "only whole tokens in braces are parameters",
			routes: []*Route{rt("r", "a/x{y}/{z}", "z", `\d+`)},
			probes: []probe{{"a/x{y}/1", "r", map[string]string{"z": "1"}}, {"a/x1/1", "", nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRouter(t, Options{Legacy: true, TokenSeparator: tt.sep}, tt.routes...)
			for _, p := range tt.probes {
				m, ok := r.Match(p.channel)
				switch {
				case p.route == "" && ok:
					t.Errorf("Match(%q) = %s %v, want no match", p.channel, m.Route.Name, m.Params)
				case p.route != "" && !ok:
					t.Errorf("Match(%q): no match, want %s", p.channel, p.route)
				case ok && (m.Route.Name != p.route || !sameParams(m.Params, p.params)):
					t.Errorf("Match(%q) = %s %v, want %s %v", p.channel, m.Route.Name, m.Params, p.route, p.params)
				}
			}
		})
	}
}

func TestLegacyErrors(t *testing.T) {
	_, err := NewRouter([]*Route{
		rt("bad", "a/{x}", "x", `(?=x)`),
	}, Options{Legacy: true})
	wantErrs(t, err,
		[]string{`route "bad"`, `requirement for "x"`, "RE2"})
}
