package wamp

import (
	"fmt"
	"strings"
)

// PrefixMode chooses how a v1 CURIE ("prefix:rest") is expanded.
type PrefixMode int

const (
	// PrefixRatchet expands as Ratchet's WampConnection::getUri does, which
	// is what GosWebSocketBundle servers did: URIs containing "http://" or
	// "https://" are left alone; otherwise the text is split on ':', only the
	// first two pieces are kept, and a known prefix becomes
	// prefixURI + "#" + rest. It is the default.
	PrefixRatchet PrefixMode = iota
	// PrefixSpec expands as the WAMP v1 specification and AutobahnJS do:
	// prefixURI + everything after the first ':'.
	PrefixSpec
)

// ParsePrefixMode reads "ratchet" or "spec".
func ParsePrefixMode(s string) (PrefixMode, error) {
	switch s {
	case "", "ratchet":
		return PrefixRatchet, nil
	case "spec":
		return PrefixSpec, nil
	}
	return 0, fmt.Errorf("wamp: unknown prefix mode %q (want ratchet or spec)", s)
}

// String returns the configuration name of the mode.
func (m PrefixMode) String() string {
	if m == PrefixSpec {
		return "spec"
	}
	return "ratchet"
}

// Prefixes holds the CURIE prefixes one v1 session declared. The zero value
// is ready to use. It is not safe for concurrent use: a session owns it.
type Prefixes struct {
	Mode PrefixMode
	m    map[string]string
}

// Set records a PREFIX message.
func (p *Prefixes) Set(prefix, uri string) {
	if p.m == nil {
		p.m = make(map[string]string)
	}
	p.m[prefix] = uri
}

// Len returns the number of prefixes declared.
func (p *Prefixes) Len() int { return len(p.m) }

// Has reports whether prefix is declared.
func (p *Prefixes) Has(prefix string) bool {
	_, ok := p.m[prefix]
	return ok
}

// Resolve expands uri if it is a CURIE with a known prefix, and returns it
// unchanged otherwise.
func (p *Prefixes) Resolve(uri string) string {
	if len(p.m) == 0 {
		return uri
	}
	if p.Mode == PrefixSpec {
		prefix, rest, ok := strings.Cut(uri, ":")
		if base, known := p.m[prefix]; ok && known {
			return base + rest
		}
		return uri
	}
	if hasHTTPScheme(uri) {
		return uri
	}
	prefix, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return uri
	}
	// PHP's list($p, $a) = explode(':', $uri) drops everything after a
	// second ':'.
	rest, _, _ = strings.Cut(rest, ":")
	if base, known := p.m[prefix]; known {
		return base + "#" + rest
	}
	return uri
}

// hasHTTPScheme mirrors Ratchet's preg_match('/http(s*)\:\/\//', $uri).
func hasHTTPScheme(uri string) bool {
	for {
		i := strings.Index(uri, "http")
		if i < 0 {
			return false
		}
		rest := strings.TrimLeft(uri[i+4:], "s")
		if strings.HasPrefix(rest, "://") {
			return true
		}
		uri = uri[i+4:]
	}
}
