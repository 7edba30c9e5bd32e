// Package dealer holds the state of a WAMP v2 dealer, the router role
// that routes remote procedure calls: a Registry of the procedures
// callees registered, and the Calls in flight from callers to callees.
//
// It is pure state, neutral about the protocol: no network, no messages,
// no sessions. The server owns the sessions and the wire. It validates
// URIs (wamp.ValidPattern, with the strictness it is configured for, and
// the reserved "wamp." namespace), turns REGISTER, CALL, YIELD, CANCEL
// and the rest into calls on this package, and turns what they return
// into REGISTERED, INVOCATION, RESULT, INTERRUPT, ERROR and meta events.
// Sessions are named by their WAMP v2 session id (SessionID).
//
// # Choices the spec leaves open
//
// Routing a CALL (Registry.Route, Registry.Match): an exact registration
// of the procedure wins; else the prefix registration with the longest
// pattern that the procedure starts with, as a string, not by components
// (wamp.MatchPolicy.Match: "com.a.emerg" matches "com.a.emergency.1");
// else a wildcard registration (wamp.MatchWildcard). When several
// wildcard patterns match, the one with the most non-empty components
// wins, and among those the lexically smallest pattern: for "a.b.c",
// ".b.c" wins over "a.b." and both over "a..".
//
// Shared registrations: a registration is one (procedure, match policy)
// pair, so "com.a" exact and "com.a" prefix are two registrations. A
// callee joining one must ask for the invoke policy it was created with;
// one created with "single" admits no second callee; a callee may not
// join a registration twice. Each refusal is ErrProcedureAlreadyExists.
// The picks: "first" is the earliest joined callee still on it, "last"
// the latest, "random" uniform, and "roundrobin" takes the callees in join
// order; when a callee leaves, the rotation goes on with the callee that
// would have come next. Callees that join are appended to the rotation.
// disclose_caller is kept per callee (Registration.DiscloseCaller).
//
// Ids: registration ids count up from 1 per Registry and invocation ids
// from 1 per Calls (so they are unique per callee as the spec requires),
// skipping ids still in use when they wrap after 2^53 (wamp.MaxID). They
// are never 0.
//
// Calls: a call ends once, by exactly one of Calls.Finish (the final
// YIELD or the callee's ERROR), Calls.Cancel, its timeout, Calls.CalleeGone
// or Calls.CallerGone; every other path then reports false, so the
// caller is never answered twice. Calls.Progress (a progressive YIELD)
// leaves the call in flight. The timeout only ends the call and calls the
// onTimeout callback: sending wamp.error.canceled or wamp.error.timeout
// to the caller and INTERRUPT to the callee is the server's part, as is
// each cancel mode. For "kill", where the caller's answer waits for the
// callee's, the server looks the call up with Calls.Find, sends INTERRUPT,
// and ends the call when the callee answers.
package dealer

import (
	"errors"

	"github.com/heraldws/herald/wamp"
)

// Error is an error the server reports to a peer with the WAMP error URI
// URI. The errors of this package wrap one of the Err values below; see
// ErrorURI.
type Error struct {
	// URI is the WAMP error URI, such as wamp.error.no_such_registration.
	URI string
	// Text describes the error for people.
	Text string
}

// Error implements error.
func (e *Error) Error() string { return e.Text }

// The errors of this package wrap one of these.
var (
	// ErrProcedureAlreadyExists refuses a REGISTER: the callee is already
	// on the registration, it is a "single" one, or it was created with
	// another invoke policy.
	ErrProcedureAlreadyExists = &Error{URI: wamp.URIProcedureAlreadyExists, Text: "procedure already exists"}
	// ErrNoSuchRegistration refuses an UNREGISTER: no registration of that
	// id has the callee on it.
	ErrNoSuchRegistration = &Error{URI: wamp.URINoSuchRegistration, Text: "no such registration"}
	// ErrInvalidArgument refuses a match or invoke policy this package does
	// not know.
	ErrInvalidArgument = &Error{URI: wamp.URIInvalidArgument, Text: "invalid argument"}
	// ErrRequestInFlight refuses a CALL whose request id is that of a call
	// of the same caller still in flight, which the spec forbids.
	ErrRequestInFlight = &Error{URI: wamp.URIProtocolViolation, Text: "request id already in flight"}
)

// ErrClosed is returned by Calls.Start after Calls.Close.
var ErrClosed = errors.New("dealer: calls closed")

// ErrorURI returns the WAMP error URI of err when it wraps an *Error, and
// "" otherwise.
func ErrorURI(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.URI
	}
	return ""
}

// SessionID is the WAMP v2 session id of a caller or callee.
type SessionID uint64

// nextID returns the id after last in [1, wamp.MaxID], wrapping, that
// used does not report in use. The caller makes sure one is free.
func nextID(last uint64, used func(uint64) bool) uint64 {
	for {
		last++
		if last > wamp.MaxID {
			last = 1
		}
		if !used(last) {
			return last
		}
	}
}
