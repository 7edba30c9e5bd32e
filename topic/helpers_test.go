package topic

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rt builds a route for tests: name, pattern, then alternating
// requirement name/regex pairs.
func rt(name, pattern string, reqs ...string) *Route {
	r := &Route{Name: name, Pattern: pattern, Callback: name}
	if len(reqs) > 0 {
		r.Requirements = map[string]string{}
		for i := 0; i+1 < len(reqs); i += 2 {
			r.Requirements[reqs[i]] = reqs[i+1]
		}
	}
	return r
}

func withDefaults(r *Route, kv ...string) *Route {
	r.Defaults = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Defaults[kv[i]] = kv[i+1]
	}
	return r
}

func mustRouter(t testing.TB, opts Options, routes ...*Route) *Router {
	t.Helper()
	r, err := NewRouter(routes, opts)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r
}

// writeTree writes files (path → content) under a new temporary
// directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(routes []*Route) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.Name
	}
	return out
}

// errList splits an errors.Join result into its messages.
func errList(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, errList(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// wantErrs checks that err holds exactly len(wants) errors, the i-th
// containing every substring of wants[i].
func wantErrs(t *testing.T, err error, wants ...[]string) {
	t.Helper()
	got := errList(err)
	if len(got) != len(wants) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(wants), strings.Join(got, "\n"))
	}
	for i, subs := range wants {
		for _, s := range subs {
			if !strings.Contains(got[i], s) {
				t.Errorf("error %d = %q, want it to contain %q", i, got[i], s)
			}
		}
	}
}

func sameParams(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.Equal(a, b)
}

func isRouteError(err error) bool {
	for _, e := range unwrapAll(err) {
		var re *RouteError
		if !errors.As(e, &re) {
			return false
		}
	}
	return true
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}
