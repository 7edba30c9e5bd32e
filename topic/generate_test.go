package topic

import (
	"errors"
	"slices"
	"testing"
)

func TestGenerate(t *testing.T) {
	tests := []struct {
		name   string
		route  *Route
		params map[string]string
		want   string
	}{
		{"static", rt("r", "oro/ping"), nil, "oro/ping"},
		{"placeholders", rt("r", "oro/email_event/{u}/{o}", "u", `\d+`, "o", `\d+|\*`), map[string]string{"u": "5", "o": "*"}, "oro/email_event/5/*"},
		{"separators", rt("r", "a/{x}.{y}"), map[string]string{"x": "b", "y": "c"}, "a/b.c"},
		{"requirement with a class", rt("r", "acme/chat/{room}", "room", `[a-z]+`), map[string]string{"room": "lobby"}, "acme/chat/lobby"},
		{"extra parameters are ignored", rt("r", "a/{x}"), map[string]string{"x": "1", "y": "2"}, "a/1"},
		{"trailing default omitted", withDefaults(rt("r", "a/{x}/{y}"), "y", "z"), map[string]string{"x": "1", "y": "z"}, "a/1"},
		{"trailing default from defaults", withDefaults(rt("r", "a/{x}/{y}"), "y", "z"), map[string]string{"x": "1"}, "a/1"},
		{"trailing value differs from default", withDefaults(rt("r", "a/{x}/{y}"), "y", "z"), map[string]string{"x": "1", "y": "2"}, "a/1/2"},
		{"default before a given value is written", withDefaults(rt("r", "a/{x}/{y}"), "x", "1", "y", "2"), map[string]string{"y": "3"}, "a/1/3"},
		{"all defaults omitted", withDefaults(rt("r", "a/{x}/{y}"), "x", "1", "y", "2"), nil, "a"},
		{"default before static text is written", withDefaults(rt("r", "a/{x}/b"), "x", "5"), nil, "a/5/b"},
		{"lone optional keeps its separator", withDefaults(rt("r", "/{x}"), "x", "d"), nil, "/"},
		{"lone optional without separator", withDefaults(rt("r", "{x}"), "x", "d"), nil, ""},
		{"inline default", rt("r", "sample/{method<[a-z_]+>?ping}"), nil, "sample"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRouter(t, Options{}, tt.route)
			got, err := r.Generate("r", tt.params)
			if err != nil || got != tt.want {
				t.Fatalf("Generate = %q, %v; want %q", got, err, tt.want)
			}
			// What is generated matches back with the same parameters.
			m, ok := r.Match(got)
			if !ok {
				t.Fatalf("generated %q does not match its route", got)
			}
			for k, v := range tt.params {
				if slices.Contains(r.compiled[0].vars, k) && m.Params[k] != v {
					t.Errorf("matching %q back gives %s=%q, want %q", got, k, m.Params[k], v)
				}
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	r := mustRouter(t, Options{},
		rt("email", "oro/email_event/{user_id}/{organization_id}", "user_id", `\d+`, "organization_id", `\d+|\*`),
		withDefaults(rt("def", "a/{x}/{y}", "x", `\d+`), "x", "bad", "y", "1"),
		rt("sep", "a/{x}.{y}"),
		rt("chat", "acme/chat/{room}", "room", `[a-z]+`),
		rt("boundary", "b/{n}{word}", "n", `\d+\b`, "word", `[a-z]+`),
		rt("dollar", "d/{x}/end", "x", `a$|b`),
	)
	_, err := r.Generate("email", map[string]string{"organization_id": "1"})
	var miss *MissingParametersError
	if !errors.As(err, &miss) || miss.Route != "email" || !slices.Equal(miss.Names, []string{"user_id"}) {
		t.Errorf("missing user_id: %v", err)
	}
	_, err = r.Generate("email", nil)
	if !errors.As(err, &miss) || !slices.Equal(miss.Names, []string{"user_id", "organization_id"}) {
		t.Errorf("missing both: %v", err)
	} else if want := `topic: cannot generate a channel for route "email": missing parameters "user_id", "organization_id"`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}

	invalid := []struct {
		route  string
		params map[string]string
		want   InvalidParameterError
	}{
		{"email", map[string]string{"user_id": "abc", "organization_id": "1"}, InvalidParameterError{"email", "user_id", "abc", `\d+`}},
		// Anchored as a whole: Gos's ^\d+|\*$ would accept "5abc".
		{"email", map[string]string{"user_id": "1", "organization_id": "5abc"}, InvalidParameterError{"email", "organization_id", "5abc", `\d+|\*`}},
		{"email", map[string]string{"user_id": "", "organization_id": "1"}, InvalidParameterError{"email", "user_id", "", `\d+`}},
		// A default that is written must match too.
		{"def", map[string]string{"y": "2"}, InvalidParameterError{"def", "x", "bad", `\d+`}},
		// The default requirement excludes the next separator.
		{"sep", map[string]string{"x": "b.c", "y": "d"}, InvalidParameterError{"sep", "x", "b.c", `[^/\.]+`}},
		{"sep", map[string]string{"x": "b", "y": "c/d"}, InvalidParameterError{"sep", "y", "c/d", `[^/]+`}},
		// Case-sensitive, as the matcher: Gos's #^[a-z]+$#i would let
		// "BAD" through and build a channel no route matches.
		{"chat", map[string]string{"room": "BAD"}, InvalidParameterError{"chat", "room", "BAD", `[a-z]+`}},
		{"chat", map[string]string{"room": "Lobby"}, InvalidParameterError{"chat", "room", "Lobby", `[a-z]+`}},
		// (?s) as in the matcher, but still anchored at the very end.
		{"chat", map[string]string{"room": "lobby\n"}, InvalidParameterError{"chat", "room", "lobby\n", `[a-z]+`}},
	}
	for _, tt := range invalid {
		_, err := r.Generate(tt.route, tt.params)
		var inv *InvalidParameterError
		if !errors.As(err, &inv) || *inv != tt.want {
			t.Errorf("Generate(%s, %v) = %v, want %+v", tt.route, tt.params, err, tt.want)
		}
	}
	if ch, err := r.Generate("chat", map[string]string{"room": "BAD"}); ch != "" {
		t.Errorf("Generate(chat, room=BAD) = %q, %v; want no channel", ch, err)
	}
	if m, ok := r.Match("acme/chat/BAD"); ok {
		t.Errorf("acme/chat/BAD matches %s; the matcher is case-sensitive", m.Route.Name)
	}

	// Each value passes alone, but not in place: the channel is refused.
	for _, tt := range []struct {
		route   string
		params  map[string]string
		channel string
	}{
		{"boundary", map[string]string{"n": "5", "word": "ab"}, "b/5ab"},
		{"dollar", map[string]string{"x": "a"}, "d/a/end"},
	} {
		ch, err := r.Generate(tt.route, tt.params)
		var un *UnmatchedChannelError
		if !errors.As(err, &un) || *un != (UnmatchedChannelError{tt.route, tt.channel}) || ch != "" {
			t.Errorf("Generate(%s, %v) = %q, %v; want an *UnmatchedChannelError for %q", tt.route, tt.params, ch, err, tt.channel)
		}
	}
	if ch, err := r.Generate("dollar", map[string]string{"x": "b"}); err != nil || ch != "d/b/end" {
		t.Errorf("Generate(dollar, x=b) = %q, %v", ch, err)
	}

	_, err = r.Generate("email", map[string]string{"user_id": "x", "organization_id": "1"})
	if want := `topic: cannot generate a channel for route "email": parameter "user_id" must match "\\d+" ("x" given)`; err == nil || err.Error() != want {
		t.Errorf("message %v, want %q", err, want)
	}
	// The default of an omitted trailing placeholder is not checked (Gos).
	if got, err := r.Generate("def", map[string]string{"x": "7"}); err != nil || got != "a/7" {
		t.Errorf("Generate(def, x=7) = %q, %v", got, err)
	}
	if _, err := r.Generate("nope", nil); !errors.Is(err, ErrUnknownRoute) {
		t.Errorf("unknown route: %v", err)
	}
}

func TestGenerateLegacy(t *testing.T) {
	wild := rt("wild", "oro/email_event/{user_id}/{organization_id}", "user_id", `\d+`, "organization_id", `\d+|\*`)
	wild.Wildcards = map[string]bool{"organization_id": true}
	r := mustRouter(t, Options{Legacy: true},
		wild,
		rt("plain", "a/{x}/{y}", "x", `\d+`),
		rt("nosep", "ping"),
	)
	ok := []struct {
		route  string
		params map[string]string
		want   string
	}{
		{"wild", map[string]string{"user_id": "5", "organization_id": "7"}, "oro/email_event/5/7"},
		{"wild", map[string]string{"user_id": "5", "organization_id": "*"}, "oro/email_event/5/*"},
		{"wild", map[string]string{"user_id": "5", "organization_id": "all"}, "oro/email_event/5/all"},
		{"wild", map[string]string{"user_id": "12abc", "organization_id": "1"}, "oro/email_event/12abc/1"}, // #^\d+#i
		{"plain", map[string]string{"x": "1", "y": "anything"}, "a/1/anything"},                            // 0.x dropped y
		{"nosep", nil, "ping"},
	}
	for _, tt := range ok {
		if got, err := r.Generate(tt.route, tt.params); err != nil || got != tt.want {
			t.Errorf("Generate(%s, %v) = %q, %v; want %q", tt.route, tt.params, got, err, tt.want)
		}
	}
	_, err := r.Generate("wild", map[string]string{"user_id": "5"})
	var miss *MissingParametersError
	if !errors.As(err, &miss) || !slices.Equal(miss.Names, []string{"organization_id"}) {
		t.Errorf("missing: %v", err)
	}
	_, err = r.Generate("wild", map[string]string{"user_id": "x5", "organization_id": "1"})
	var inv *InvalidParameterError
	if !errors.As(err, &inv) || *inv != (InvalidParameterError{"wild", "user_id", "x5", `\d+`}) {
		t.Errorf("invalid: %v", err)
	}
	_, err = r.Generate("wild", map[string]string{"user_id": "1", "organization_id": "none"})
	if !errors.As(err, &inv) || inv.Param != "organization_id" || inv.Requirement != `\d+` {
		t.Errorf("wildcard requirement: %v", err)
	}

	colon := mustRouter(t, Options{Legacy: true, TokenSeparator: ":"}, rt("c", "acme:{x}", "x", `\d+`))
	if got, err := colon.Generate("c", map[string]string{"x": "1"}); err != nil || got != "acme:1" {
		t.Errorf("separator ':': %q, %v", got, err)
	}
}
