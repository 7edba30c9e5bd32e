package wamp_test

import (
	"testing"

	"github.com/heraldws/herald/wamp"
)

func TestPrefixesRatchet(t *testing.T) {
	t.Parallel()
	var p wamp.Prefixes // zero value: Ratchet mode
	if got := p.Resolve("calc:add"); got != "calc:add" {
		t.Fatalf("Resolve with no prefixes = %q", got)
	}
	p.Set("calc", "http://example.com/calc")
	p.Set("acme", "acme/base")
	p.Set("", "empty/base")
	tests := []struct{ in, want string }{
		{"calc:add", "http://example.com/calc#add"},
		{"acme:chat", "acme/base#chat"},
		// Only the first two ':'-separated pieces are kept.
		{"acme:b:c", "acme/base#b"},
		{"acme:", "acme/base#"},
		{":x", "empty/base#x"},
		// URIs containing http:// or https:// anywhere are left alone.
		{"http://example.com/calc#add", "http://example.com/calc#add"},
		{"https://example.com/x:y", "https://example.com/x:y"},
		{"acme:see http://x", "acme:see http://x"},
		{"acme:httpsss://x", "acme:httpsss://x"},
		{"HTTP://x", "HTTP://x"}, // case-sensitive, like Ratchet's regexp
		{"acme:http:/x", "acme/base#http"},
		// Unknown prefix and no colon: unchanged.
		{"other:add", "other:add"},
		{"acme/chat", "acme/chat"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := p.Resolve(tt.in); got != tt.want {
			t.Errorf("Ratchet Resolve(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A later PREFIX replaces an earlier one.
	p.Set("acme", "acme/v2")
	if got := p.Resolve("acme:chat"); got != "acme/v2#chat" {
		t.Errorf("after redefinition Resolve = %q", got)
	}
}

func TestPrefixesSpec(t *testing.T) {
	t.Parallel()
	p := wamp.Prefixes{Mode: wamp.PrefixSpec}
	p.Set("calc", "http://example.com/calc#")
	p.Set("acme", "acme/")
	tests := []struct{ in, want string }{
		{"calc:add", "http://example.com/calc#add"},
		{"acme:chat", "acme/chat"},
		{"acme:b:c", "acme/b:c"},
		{"acme:", "acme/"},
		{"other:add", "other:add"},
		{"acme/chat", "acme/chat"},
		{"http://example.com/calc#add", "http://example.com/calc#add"},
	}
	for _, tt := range tests {
		if got := p.Resolve(tt.in); got != tt.want {
			t.Errorf("spec Resolve(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParsePrefixMode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]wamp.PrefixMode{"": wamp.PrefixRatchet, "ratchet": wamp.PrefixRatchet, "spec": wamp.PrefixSpec} {
		got, err := wamp.ParsePrefixMode(in)
		if err != nil || got != want {
			t.Errorf("ParsePrefixMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := wamp.ParsePrefixMode("autobahn"); err == nil {
		t.Error("ParsePrefixMode(autobahn) succeeded")
	}
	if wamp.PrefixRatchet.String() != "ratchet" || wamp.PrefixSpec.String() != "spec" {
		t.Error("PrefixMode.String does not round-trip")
	}
}
