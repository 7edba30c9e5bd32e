package topic

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits that bound the time and memory spent compiling one route. They
// apply to every route, whether it comes from a file or from Go code.
const (
	// MaxPatternLength is the longest pattern, in bytes, that NewRouter accepts.
	MaxPatternLength = 1024
	// MaxPlaceholders is the largest number of placeholders in one pattern.
	MaxPlaceholders = 64
	// MaxRequirementLength is the longest requirement regex, in bytes.
	MaxRequirementLength = 1024
	// MaxPlaceholderNameLength is the longest placeholder name, as in
	// PubSubRouter's RouteCompiler (the PCRE subpattern name limit).
	MaxPlaceholderNameLength = 32
)

// ErrUnknownRoute is returned (wrapped) by Router.Generate for a route name
// that the router does not hold.
var ErrUnknownRoute = errors.New("topic: unknown route")

// Source is where a route (or an import) was declared: a file and the
// 1-based line of the route's key. The zero Source means "declared in Go".
type Source struct {
	// File is the path of the routing file, as resolved by Load.
	File string
	// Line is the 1-based line of the route's key (0 when unknown).
	Line int
}

// String returns "file:line", "file" when the line is unknown, or "" for
// the zero Source.
func (s Source) String() string {
	switch {
	case s.File == "":
		if s.Line > 0 {
			return "line " + strconv.Itoa(s.Line)
		}
		return ""
	case s.Line > 0:
		return s.File + ":" + strconv.Itoa(s.Line)
	default:
		return s.File
	}
}

// Route is one named route: a channel pattern and the handler (callback)
// that serves the channels it matches.
//
// A Route is plain data. Once handed to NewRouter it must not be modified;
// the Router and the Match values it returns share it.
type Route struct {
	// Name is the route's name, the key of its definition in the YAML file.
	Name string
	// Pattern is the channel pattern, e.g. "oro/email_event/{user_id}/{organization_id}".
	// Loaders store it with inline "{name<regex>?default}" parts already
	// moved into Requirements and Defaults; NewRouter also accepts inline
	// parts in routes built in Go.
	Pattern string
	// Callback names the handler: format A's handler.callback, format B's
	// handler, format C's callback. When the file gave a list (PubSubRouter
	// 1.x allowed several topic services per route), Callback is the first
	// element.
	Callback string
	// Callbacks holds every callback name as the file gave it (a single
	// element unless the file gave a list). It may be nil for routes built
	// in Go, where Callback alone counts.
	Callbacks []string
	// Defaults are placeholder (and extra attribute) defaults. A placeholder
	// with a default is optional when it is trailing, as in PubSubRouter 2.x.
	Defaults map[string]string
	// Requirements map a placeholder to a regular expression its value must
	// match (Go RE2 syntax; see the package documentation).
	Requirements map[string]string
	// Options are the route's options, as the file gave them. Only "utf8" is
	// interpreted here (as PubSubRouter does).
	Options map[string]any
	// Wildcards records the format A requirements with "wildcard: true". For
	// 2.x matching the wildcard is already folded into Requirements as
	// `P|\*` (what Oro's BC loader does); Options.Legacy matching uses it to
	// accept "*" and "all" as PubSubRouter 0.x did.
	Wildcards map[string]bool
	// Source is where the route was declared.
	Source Source
}

// Match is the result of a successful Router.Match.
type Match struct {
	// Route is the route that matched (shared, read-only).
	Route *Route
	// Channel is the channel that was matched.
	Channel string
	// Params are the placeholder values captured from the channel merged
	// over the route's Defaults. The map is fresh and owned by the caller.
	Params map[string]string
}

// RouteError is a problem with one route or one routing resource. Its
// message has the form `file:line: route "name": problem`; the location and
// the route name are left out when unknown (a route built in Go, a problem
// with a whole file).
type RouteError struct {
	// Source is where the problem is (the zero Source when unknown).
	Source Source
	// Route is the route name ("" for a problem with a file or resource).
	Route string
	// Err is the problem.
	Err error
	// Resource is, for a problem Load found outside any routing file (a
	// missing path, a resource that yields no file), the resource as it was
	// given to Load, so that callers can point at where it is configured.
	// It is not part of Error's text.
	Resource string
}

// Error implements error.
func (e *RouteError) Error() string {
	var b strings.Builder
	if s := e.Source.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if e.Route != "" {
		b.WriteString("route ")
		b.WriteString(strconv.Quote(e.Route))
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *RouteError) Unwrap() error { return e.Err }

func routeErr(src Source, route, format string, args ...any) *RouteError {
	return &RouteError{Source: src, Route: route, Err: fmt.Errorf(format, args...)}
}

// MissingParametersError is returned by Router.Generate when placeholders
// have neither a parameter nor a default.
type MissingParametersError struct {
	// Route is the route name.
	Route string
	// Names are the missing placeholders, in pattern order.
	Names []string
}

// Error implements error.
func (e *MissingParametersError) Error() string {
	q := make([]string, len(e.Names))
	for i, n := range e.Names {
		q[i] = strconv.Quote(n)
	}
	return fmt.Sprintf("topic: cannot generate a channel for route %q: missing parameters %s", e.Route, strings.Join(q, ", "))
}

// InvalidParameterError is returned by Router.Generate when a parameter
// value does not match its placeholder's requirement.
type InvalidParameterError struct {
	// Route is the route name.
	Route string
	// Param is the placeholder name.
	Param string
	// Value is the value given (or taken from the defaults).
	Value string
	// Requirement is the regular expression the value had to match.
	Requirement string
}

// Error implements error.
func (e *InvalidParameterError) Error() string {
	return fmt.Sprintf("topic: cannot generate a channel for route %q: parameter %q must match %q (%q given)", e.Route, e.Param, e.Requirement, e.Value)
}

// UnmatchedChannelError is returned by Router.Generate when every value
// matches its requirement alone but the channel built from them does not
// match the route: a requirement tests what surrounds its value (\b, $,
// or ^ inside an alternative). Generate never returns a channel that its
// route does not match.
type UnmatchedChannelError struct {
	// Route is the route name.
	Route string
	// Channel is the channel that was built.
	Channel string
}

// Error implements error.
func (e *UnmatchedChannelError) Error() string {
	return fmt.Sprintf("topic: cannot generate a channel for route %q: %q would not match the route (a requirement tests what surrounds its value, such as \\b or $)", e.Route, e.Channel)
}

// phpTruthy reports whether v is true for PHP's empty() test negated: false,
// 0, 0.0, "", "0", nil and empty collections are false.
func phpTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case int64:
		return x != 0
	case uint64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	default:
		return true
	}
}
