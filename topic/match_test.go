package topic

import (
	"strings"
	"testing"
)

// TestMatch covers the 2.x matching rules (compat.md §2.2).
func TestMatch(t *testing.T) {
	type probe struct {
		channel string
		route   string // "" = no match
		params  map[string]string
	}
	tests := []struct {
		name   string
		routes []*Route
		probes []probe
	}{
		{
			name:   "requirement anchored at both ends",
			routes: []*Route{rt("r", "a/{x}", "x", `\d+`)},
			probes: []probe{
				{"a/12", "r", map[string]string{"x": "12"}},
				{"a/12x", "", nil},
				{"a/x12", "", nil},
			},
		},
		{
			name:   "leading ^ and trailing $ of a requirement are stripped",
			routes: []*Route{rt("r", "a/{x}/b", "x", `^\d+$`)},
			probes: []probe{
				{"a/12/b", "r", map[string]string{"x": "12"}},
				{"a/1x/b", "", nil},
			},
		},
		{
			name:   "case-sensitive: static text",
			routes: []*Route{rt("r", "Oro/ping")},
			probes: []probe{{"Oro/ping", "r", nil}, {"oro/ping", "", nil}, {"ORO/PING", "", nil}},
		},
		{
			name:   "case-sensitive: requirement",
			routes: []*Route{rt("r", "a/{x}", "x", `[a-z]+`)},
			probes: []probe{{"a/abc", "r", map[string]string{"x": "abc"}}, {"a/ABC", "", nil}},
		},
		{
			name:   "capturing groups become non-capturing",
			routes: []*Route{rt("r", "a/{x}/{y}", "x", `(foo|bar)(baz)?`, "y", `(?P<inner>\d)+`)},
			probes: []probe{
				{"a/foobaz/12", "r", map[string]string{"x": "foobaz", "y": "12"}},
				{"a/bar/3", "r", map[string]string{"x": "bar", "y": "3"}},
				{"a/qux/3", "", nil},
			},
		},
		{
			name:   "alternation stays inside the placeholder",
			routes: []*Route{rt("r", "a/{x}/end", "x", `\d+|\*`)},
			probes: []probe{
				{"a/5/end", "r", map[string]string{"x": "5"}},
				{"a/*/end", "r", map[string]string{"x": "*"}},
				{"a/5*/end", "", nil},
			},
		},
		{
			name:   "default requirement excludes the next separator",
			routes: []*Route{rt("r", "a/{x}.{y}")},
			probes: []probe{
				{"a/b.c", "r", map[string]string{"x": "b", "y": "c"}},
				{"a/b.c.d", "r", map[string]string{"x": "b", "y": "c.d"}},
				{"a/b/c.d", "", nil},
				{"a/.c", "", nil},
			},
		},
		{
			name:   "every separator character",
			routes: []*Route{rt("r", "{a},{b};{c}:{d}-{e}_{f}~{g}+{h}*{i}={j}@{k}|{l}")},
			probes: []probe{
				{"1,2;3:4-5_6~7+8*9=10@11|12", "r", map[string]string{
					"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6",
					"g": "7", "h": "8", "i": "9", "j": "10", "k": "11", "l": "12"}},
			},
		},
		{
			name:   "a non-separator character after a placeholder is not excluded",
			routes: []*Route{rt("r", "a/{x}x{y}")},
			probes: []probe{
				// [^/]+ is greedy: x takes as much as it can.
				{"a/1x2x3", "r", map[string]string{"x": "1x2", "y": "3"}},
			},
		},
		{
			name:   "separator after placeholders (next static char found past them)",
			routes: []*Route{rt("r", "{x}{y}.z")},
			probes: []probe{
				{"ab.z", "r", map[string]string{"x": "a", "y": "b"}},
				{"a.b.z", "", nil}, // x excludes '.'; y = "b" would leave ".b" for x
			},
		},
		{
			name:   "a value never contains '/'",
			routes: []*Route{rt("r", "a/{x}")},
			probes: []probe{{"a/b", "r", map[string]string{"x": "b"}}, {"a/b/c", "", nil}, {"a/", "", nil}},
		},
		{
			name:   "a requirement may allow '/'",
			routes: []*Route{rt("r", "files/{path}", "path", `.+`)},
			probes: []probe{{"files/a/b/c", "r", map[string]string{"path": "a/b/c"}}},
		},
		{
			name:   "adjacent placeholders: the first is greedy",
			routes: []*Route{rt("r", "{x}{y}")},
			probes: []probe{{"abc", "r", map[string]string{"x": "ab", "y": "c"}}, {"a", "", nil}},
		},
		{
			name:   "dot matches newline (s flag)",
			routes: []*Route{rt("r", "a/{x}", "x", `.+`)},
			probes: []probe{{"a/b\nc", "r", map[string]string{"x": "b\nc"}}},
		},
		{
			name:   "$ is the very end (D flag)",
			routes: []*Route{rt("r", "a/{x}", "x", `\d+`)},
			probes: []probe{{"a/1\n", "", nil}},
		},
		{
			name:   "optional trailing placeholders from defaults",
			routes: []*Route{withDefaults(rt("r", "a/{x}/{y}"), "y", "z")},
			probes: []probe{
				{"a/1", "r", map[string]string{"x": "1", "y": "z"}},
				{"a/1/2", "r", map[string]string{"x": "1", "y": "2"}},
				{"a/1/", "", nil},
				{"a", "", nil},
			},
		},
		{
			name:   "all placeholders optional",
			routes: []*Route{withDefaults(rt("r", "a/{x}/{y}"), "x", "1", "y", "2")},
			probes: []probe{
				{"a", "r", map[string]string{"x": "1", "y": "2"}},
				{"a/5", "r", map[string]string{"x": "5", "y": "2"}},
				{"a/5/6", "r", map[string]string{"x": "5", "y": "6"}},
			},
		},
		{
			name:   "a default before static text is not optional",
			routes: []*Route{withDefaults(rt("r", "a/{x}/b"), "x", "5")},
			probes: []probe{{"a/7/b", "r", map[string]string{"x": "7"}}, {"a/b", "", nil}, {"a//b", "", nil}},
		},
		{
			name:   "a lone optional placeholder keeps its separator",
			routes: []*Route{withDefaults(rt("r", "/{x}"), "x", "d")},
			probes: []probe{
				{"/", "r", map[string]string{"x": "d"}},
				{"/v", "r", map[string]string{"x": "v"}},
				{"", "", nil},
			},
		},
		{
			name:   "a lone optional placeholder without separator",
			routes: []*Route{withDefaults(rt("r", "{x}"), "x", "d")},
			probes: []probe{{"", "r", map[string]string{"x": "d"}}, {"v", "r", map[string]string{"x": "v"}}},
		},
		{
			name:   "defaults that are no placeholders are parameters too",
			routes: []*Route{withDefaults(rt("r", "a/{x}"), "_format", "json")},
			probes: []probe{{"a/1", "r", map[string]string{"x": "1", "_format": "json"}}},
		},
		{
			name:   "a static route's defaults are its parameters",
			routes: []*Route{withDefaults(rt("r", "oro/ping"), "k", "v")},
			probes: []probe{{"oro/ping", "r", map[string]string{"k": "v"}}},
		},
		{
			name:   "first match in load order wins",
			routes: []*Route{rt("first", "a/{x}"), rt("second", "a/{y}"), rt("third", "a/b")},
			probes: []probe{
				{"a/b", "first", map[string]string{"x": "b"}},
				{"a/c", "first", map[string]string{"x": "c"}},
			},
		},
		{
			name:   "a static route declared first wins over a later dynamic one",
			routes: []*Route{rt("static", "a/b"), rt("dyn", "a/{x}"), rt("static2", "a/b")},
			probes: []probe{{"a/b", "static", nil}, {"a/c", "dyn", map[string]string{"x": "c"}}},
		},
		{
			name:   "a dynamic route declared first wins over a later static one",
			routes: []*Route{rt("dyn1", "x/{x}"), rt("dyn2", "a/{x}"), rt("static", "a/b")},
			probes: []probe{{"a/b", "dyn2", map[string]string{"x": "b"}}},
		},
		{
			name:   "inline requirement and default",
			routes: []*Route{rt("r", "a/{x<\\d+>?5}")},
			probes: []probe{
				{"a", "r", map[string]string{"x": "5"}},
				{"a/7", "r", map[string]string{"x": "7"}},
				{"a/b", "", nil},
			},
		},
		{
			name:   "inline requirement only",
			routes: []*Route{rt("r", "a/{x<[a-z]+>}/{y}")},
			probes: []probe{{"a/b/1", "r", map[string]string{"x": "b", "y": "1"}}, {"a/1/1", "", nil}},
		},
		{
			name:   "inline {x?} sets no default",
			routes: []*Route{rt("r", "a/{x?}")},
			probes: []probe{{"a/1", "r", map[string]string{"x": "1"}}, {"a", "", nil}},
		},
		{
			name:   "braces that are no placeholders are literal",
			routes: []*Route{rt("r", "a/{}/{x-y}/{z}")},
			probes: []probe{{"a/{}/{x-y}/1", "r", map[string]string{"z": "1"}}, {"a/b/c/1", "", nil}},
		},
		{
			name:   "regex characters in static text are literal",
			routes: []*Route{rt("r", "a.b+(c)/{x}")},
			probes: []probe{{"a.b+(c)/1", "r", map[string]string{"x": "1"}}, {"axbb(c)/1", "", nil}},
		},
		{
			name:   "the pattern is trimmed",
			routes: []*Route{rt("r", "  a/{x}\t\n")},
			probes: []probe{{"a/1", "r", map[string]string{"x": "1"}}},
		},
		{
			name:   "utf8 option",
			routes: []*Route{{Name: "r", Pattern: "café/{x}", Options: map[string]any{"utf8": true}, Requirements: map[string]string{"x": `\p{L}+`}}},
			probes: []probe{{"café/é", "r", map[string]string{"x": "é"}}, {"café/1", "", nil}},
		},
		{
			name:   "requirements for names not in the pattern are ignored",
			routes: []*Route{rt("r", "a/{x}", "nope", `\d+`)},
			probes: []probe{{"a/b", "r", map[string]string{"x": "b"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRouter(t, Options{}, tt.routes...)
			for _, p := range tt.probes {
				m, ok := r.Match(p.channel)
				switch {
				case p.route == "" && ok:
					t.Errorf("Match(%q) = %s %v, want no match", p.channel, m.Route.Name, m.Params)
				case p.route != "" && !ok:
					t.Errorf("Match(%q): no match, want %s %v", p.channel, p.route, p.params)
				case ok && (m.Route.Name != p.route || !sameParams(m.Params, p.params)):
					t.Errorf("Match(%q) = %s %v, want %s %v", p.channel, m.Route.Name, m.Params, p.route, p.params)
				}
				// The fast path and the submatch path agree.
				for _, c := range r.compiled {
					if c.static {
						continue
					}
					fp, fok := c.match(p.channel)
					sp, sok := c.matchSlow(p.channel)
					if fok != sok || !sameParams(fp, sp) {
						t.Errorf("route %s, %q: match %v %v, matchSlow %v %v", c.route.Name, p.channel, fp, fok, sp, sok)
					}
				}
			}
		})
	}
}

func TestFastPathChosen(t *testing.T) {
	tests := []struct {
		pattern string
		reqs    []string
		fast    bool
	}{
		{"oro/email_event/{user_id}/{organization_id}", []string{"user_id", `\d+`, "organization_id", `\d+|\*`}, true},
		{"a/{x}.{y}", nil, true},
		{"a/{x}/b", []string{"x", `.+`}, false},    // may contain '/'
		{"a/{x}/b", []string{"x", `[^x]+`}, false}, // may contain '/'
		{"{x}{y}", nil, false},                     // adjacent
		{"a/{x}x{y}", nil, false},                  // [^/]+ may contain 'x'
		{"a/{x}/b", []string{"x", `(?i)A+`}, true},
	}
	for _, tt := range tests {
		r := mustRouter(t, Options{}, rt("r", tt.pattern, tt.reqs...))
		if got := r.compiled[0].fast; got != tt.fast {
			t.Errorf("%s %q: fast = %v, want %v", tt.pattern, tt.reqs, got, tt.fast)
		}
	}
	r := mustRouter(t, Options{}, withDefaults(rt("r", "a/{x}"), "x", "1"))
	if r.compiled[0].fast {
		t.Error("a route with optional placeholders took the fast path")
	}
}

func TestNewRouterErrors(t *testing.T) {
	long := strings.Repeat("a", MaxPlaceholderNameLength+1)
	ok32 := strings.Repeat("b", MaxPlaceholderNameLength)
	var many strings.Builder
	for i := range MaxPlaceholders + 1 {
		many.WriteString("/{p" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "}")
	}
	tests := []struct {
		name   string
		routes []*Route
		want   [][]string
	}{
		{"digit", []*Route{rt("r", "a/{1x}")}, [][]string{{`route "r"`, `placeholder name "1x"`, "must not start with a digit"}}},
		{"duplicate placeholder", []*Route{rt("r", "{a}/{a}")}, [][]string{{`route "r"`, `placeholder "a" more than once`}}},
		{"long name", []*Route{rt("r", "a/{"+long+"}")}, [][]string{{`route "r"`, "longer than 32 characters"}}},
		{"long pattern", []*Route{rt("r", strings.Repeat("a", MaxPatternLength+1))}, [][]string{{`route "r"`, "1025 bytes", "at most 1024"}}},
		{"too many placeholders", []*Route{rt("r", many.String())}, [][]string{{`route "r"`, "65 placeholders", "at most 64"}}},
		{"long requirement", []*Route{rt("r", "a/{x}", "x", strings.Repeat("a", MaxRequirementLength+1))}, [][]string{{`route "r"`, `requirement for "x"`, "at most 1024"}}},
		{"lookahead", []*Route{rt("r", "a/{x}", "x", `(?=a)a`)}, [][]string{{`route "r"`, `requirement for "x"`, `"(?=a)a"`, "RE2"}}},
		{"backreference", []*Route{rt("r", "a/{x}", "x", `(a)\1`)}, [][]string{{`requirement for "x"`, `\1`}}},
		{"possessive", []*Route{rt("r", "a/{x}", "x", `a++`)}, [][]string{{`requirement for "x"`, "a++"}}},
		{"empty requirement", []*Route{rt("r", "a/{x}", "x", `^$`)}, [][]string{{`requirement for "x" cannot be empty`}}},
		{"empty inline requirement", []*Route{rt("r", "a/{x<>}")}, [][]string{{`requirement for "x" cannot be empty`}}},
		{"non-ASCII pattern without utf8", []*Route{rt("r", "café/{x}")}, [][]string{{`route "r"`, `"utf8" option`}}},
		{"\\p without utf8", []*Route{rt("r", "a/{x}", "x", `\p{L}+`)}, [][]string{{`requirement "\\p{L}+"`, `"utf8" option`}}},
		{"invalid UTF-8", []*Route{{Name: "r", Pattern: "a/\xff", Options: map[string]any{"utf8": true}}}, [][]string{{"not valid UTF-8"}}},
		{"every problem is reported", []*Route{
			{Name: "bad1", Pattern: "a/{1x}", Source: Source{"f.yml", 1}},
			rt("good", "a/{x}"),
			{Name: "bad2", Pattern: "b/{x}", Requirements: map[string]string{"x": "(?<=a)"}, Source: Source{"f.yml", 9}},
		}, [][]string{{`f.yml:1: route "bad1"`}, {`f.yml:9: route "bad2"`}}},
		{"nil route", []*Route{nil}, [][]string{{"route 0 is nil"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRouter(tt.routes, Options{})
			if r != nil {
				t.Error("NewRouter returned a router with an error")
			}
			wantErrs(t, err, tt.want...)
		})
	}
	if _, err := NewRouter([]*Route{rt("r", "a/{"+ok32+"}"), rt("s", "a/{x<\\d+>}", "x", `^\d+$`)}, Options{}); err != nil {
		t.Errorf("a 32-character name or an equal inline and explicit requirement: %v", err)
	}
	if _, err := NewRouter([]*Route{{Name: "r", Pattern: "a/{1x}"}}, Options{}); !isRouteError(err) {
		t.Errorf("error %v is not a *RouteError", err)
	}
}

func TestNewRouterCopiesInlineRoutes(t *testing.T) {
	in := rt("r", "a/{x<\\d+>?5}")
	r := mustRouter(t, Options{}, in)
	got := r.Route("r")
	if in.Pattern != "a/{x<\\d+>?5}" || in.Requirements != nil {
		t.Errorf("NewRouter modified its input: %+v", in)
	}
	if got.Pattern != "a/{x}" || got.Requirements["x"] != `\d+` || got.Defaults["x"] != "5" {
		t.Errorf("normalized route = %+v", got)
	}
	plain := rt("p", "a/{x}")
	r = mustRouter(t, Options{}, plain)
	if r.Route("p") != plain || r.Routes()[0] != plain {
		t.Error("a route without inline parts was copied")
	}
	if r.Route("nope") != nil {
		t.Error("Route(unknown) != nil")
	}
}

func TestStaticPrefix(t *testing.T) {
	tests := []struct {
		route *Route
		want  string
	}{
		{rt("r", "oro/email_event/{u}/{o}"), "oro/email_event"},
		{rt("r", "a-{x}"), "a-"},
		{rt("r", "ab{x}"), "ab"},
		{rt("r", "{x}/b"), ""},
		{rt("r", "-{x}"), "-"},
		{rt("r", "/{x}"), ""},
		{withDefaults(rt("r", "-{x}"), "x", "1"), ""},
		{withDefaults(rt("r", "a-{x}"), "x", "1"), "a"},
		{rt("r", "oro/ping"), "oro/ping"},
	}
	for _, tt := range tests {
		r := mustRouter(t, Options{}, tt.route)
		if got := r.compiled[0].prefix; got != tt.want {
			t.Errorf("%q: static prefix %q, want %q", tt.route.Pattern, got, tt.want)
		}
		// The prefix never keeps a matching channel out.
		if ch, err := r.Generate("r", map[string]string{"u": "1", "o": "2", "x": "v"}); err == nil {
			if _, ok := r.Match(ch); !ok {
				t.Errorf("%q: generated %q does not match", tt.route.Pattern, ch)
			}
		}
	}
}
