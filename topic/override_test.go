package topic

import "testing"

// As in Gos's Route::setPattern, an explicit requirement or default wins
// over the inline one.
func TestExplicitRequirementWinsOverInline(t *testing.T) {
	r, err := NewRouter([]*Route{
		{Name: "r", Pattern: "a/{x<\\d+>?7}", Callback: "c", Requirements: map[string]string{"x": "[a-z]+"}, Defaults: map[string]string{"x": "abc"}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Match("a/12"); ok {
		t.Error("the inline requirement was used")
	}
	m, ok := r.Match("a/xyz")
	if !ok || m.Params["x"] != "xyz" {
		t.Fatalf("a/xyz: %v %+v", ok, m)
	}
	// The optional trailing placeholder takes the explicit default, and is
	// left out when generated with it, as Gos's generator does.
	if m, ok := r.Match("a"); !ok || m.Params["x"] != "abc" {
		t.Fatalf("a: %v %+v, want x=abc", ok, m)
	}
	if got, err := r.Generate("r", nil); err != nil || got != "a" {
		t.Fatalf("Generate with the default: %q, %v; want a", got, err)
	}
}

// A later route with the same name replaces the earlier one and moves to
// the end, as RouteCollection::add does: an application overrides a
// bundle's route by redeclaring it.
func TestLaterRouteWithSameNameReplacesEarlier(t *testing.T) {
	r, err := NewRouter([]*Route{
		{Name: "ping", Pattern: "oro/ping", Callback: "oro_sync.ping", Source: Source{"bundle.yml", 1}},
		{Name: "catchall", Pattern: "oro/{x}", Callback: "broadcast"},
		{Name: "ping", Pattern: "acme/ping", Callback: "acme.ping", Source: Source{"app.yml", 3}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Routes()); n != 2 {
		t.Fatalf("%d routes, want 2", n)
	}
	if got := r.Routes()[1]; got.Name != "ping" || got.Source.File != "app.yml" {
		t.Fatalf("last route %+v, want the overriding ping", got)
	}
	if m, ok := r.Match("oro/ping"); !ok || m.Route.Name != "catchall" {
		t.Fatalf("oro/ping should now reach catchall, got %v %+v", ok, m)
	}
	if m, ok := r.Match("acme/ping"); !ok || m.Route.Callback != "acme.ping" {
		t.Fatalf("acme/ping: %v %+v", ok, m)
	}
}
