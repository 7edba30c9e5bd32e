package topic

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// testdataRoutes loads every routing tree of testdata: Oro's nine routes
// and the Gos routes.
func testdataRoutes(t *testing.T) []*Route {
	t.Helper()
	routes, err := Load([]Resource{
		{Resource: "testdata/oro", Type: "oro"},
		{Resource: "testdata/gos"},
	}, ".")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return routes
}

// valuePool holds values that meet, nearly meet or break the testdata's
// requirements: case, separators, anchors, newlines, non-ASCII.
var valuePool = []string{
	"", "5", "42", "0", "007", "*", "all", "5*", "*5", "1abc", "abc1",
	"lobby", "LOBBY", "Lobby", "lobbY", "BAD", "ping", "PING", "ping_pong", "get_Info",
	"en", "EN", "fr_FR", "fr_fr", "en_GBR", "de", "beef", "BEEF", "c0ffee", "c0ffee00", "abc", "12345678901",
	"json", "JSON", "yml", "yaml", "yaaml", "xml", "report", "report.v2", "a/b", "a/b/c", "/", "a-b", "a:b", "main",
	"x y", "lobby\n", "\nlobby", "5\n", "é", "ü1", "\x00", "tab\t",
}

// randomValue is a value from the pool, or a random string over an
// alphabet that mixes every class the requirements use.
func randomValue(rng *rand.Rand) string {
	if rng.IntN(3) > 0 {
		return valuePool[rng.IntN(len(valuePool))]
	}
	const alphabet = "abzAZ059_*.:/-\né"
	var b strings.Builder
	for range rng.IntN(7) {
		r := []rune(alphabet)
		b.WriteRune(r[rng.IntN(len(r))])
	}
	return b.String()
}

// TestGenerateThenMatch is a property test over the routes in testdata:
// for random parameters, every channel Generate returns matches the same
// route, with the parameters it was generated from (defaults filling the
// omitted ones), and every refusal is a typed generation error.
func TestGenerateThenMatch(t *testing.T) {
	routes := testdataRoutes(t)
	r := mustRouter(t, Options{}, routes...)
	rng := rand.New(rand.NewPCG(1, 2))
	const trials = 3000
	for _, route := range r.Routes() {
		vars := r.compiled[r.byName[route.Name]].vars
		generated, refused := 0, 0
		for range trials {
			params := map[string]string{}
			for _, v := range vars {
				if _, hasDef := route.Defaults[v]; hasDef && rng.IntN(3) == 0 {
					continue // let the default apply
				}
				params[v] = randomValue(rng)
			}
			ch, err := r.Generate(route.Name, params)
			if err != nil {
				if !isGenerationError(err) {
					t.Fatalf("Generate(%s, %q): %v is not a generation error", route.Name, params, err)
				}
				if ch != "" {
					t.Fatalf("Generate(%s, %q) = %q with error %v", route.Name, params, ch, err)
				}
				refused++
				continue
			}
			generated++
			m, ok := r.Match(ch)
			if !ok {
				t.Fatalf("Generate(%s, %q) = %q, which matches no route", route.Name, params, ch)
			}
			if m.Route != route {
				t.Fatalf("Generate(%s, %q) = %q, which matches %s", route.Name, params, ch, m.Route.Name)
			}
			for _, v := range vars {
				want, given := params[v]
				if !given {
					want = route.Defaults[v]
				}
				if m.Params[v] != want {
					t.Fatalf("Generate(%s, %q) = %q, which matches back with %s=%q, want %q", route.Name, params, ch, v, m.Params[v], want)
				}
			}
		}
		// The property is not vacuous: each route with placeholders both
		// generated and refused channels.
		if generated == 0 || len(vars) > 0 && refused == 0 {
			t.Errorf("route %s: %d generated, %d refused out of %d trials", route.Name, generated, refused, trials)
		}
	}
	if n := len(r.Routes()); n != 9+9 {
		t.Errorf("%d routes in testdata, want 18", n)
	}
}

// TestGenerateThenMatchCases pins the cases the property test is about.
func TestGenerateThenMatchCases(t *testing.T) {
	r := mustRouter(t, Options{}, testdataRoutes(t)...)
	tests := []struct {
		route  string
		params map[string]string
		want   string // "" for a refusal
	}{
		{"acme_chat", map[string]string{"room": "lobby"}, "acme/chat/lobby"},
		{"acme_chat", map[string]string{"room": "BAD"}, ""},
		{"acme_news", map[string]string{"locale": "fr_FR"}, "acme/fr_FR/news"},
		{"acme_news", map[string]string{"locale": "fr_fr"}, ""},
		{"acme_news", map[string]string{"locale": "EN"}, ""},
		{"acme_game", map[string]string{"id": "BEEF"}, ""},
		{"acme_game", map[string]string{"id": "beef"}, "acme/game-beef"},
		{"acme_file", map[string]string{"name": "report", "ext": "JSON"}, ""},
		{"acme_file", map[string]string{"name": "report", "ext": "yml"}, "acme/file/report.yml"},
		{"acme_rpc", map[string]string{"method": "PING"}, ""},
		{"acme_rpc", nil, "acme/rpc"},
		{"acme_board", map[string]string{"board": "games"}, "acme/board/games"},
		{"acme_tree", map[string]string{"path": "a/b/c"}, "acme/tree/a/b/c"},
		{"oro_email.event", map[string]string{"user_id": "5", "organization_id": "*"}, "oro/email_event/5/*"},
	}
	for _, tt := range tests {
		ch, err := r.Generate(tt.route, tt.params)
		if tt.want == "" {
			if _, ok := err.(*InvalidParameterError); !ok {
				t.Errorf("Generate(%s, %v) = %q, %v; want an *InvalidParameterError", tt.route, tt.params, ch, err)
			}
			continue
		}
		if err != nil || ch != tt.want {
			t.Errorf("Generate(%s, %v) = %q, %v; want %q", tt.route, tt.params, ch, err, tt.want)
			continue
		}
		if m, ok := r.Match(ch); !ok || m.Route.Name != tt.route {
			t.Errorf("%q does not match %s back", ch, tt.route)
		}
	}
}

// isGenerationError reports whether err is one of the errors Generate
// documents for a known route.
func isGenerationError(err error) bool {
	switch err.(type) {
	case *MissingParametersError, *InvalidParameterError, *UnmatchedChannelError:
		return true
	}
	return false
}
