package server

import (
	"net/http"
	"slices"
)

// Identity is who a connection is. Handlers and route policies decide by
// it. The zero value is an anonymous connection.
type Identity struct {
	// UserID is the application's user id ("" when anonymous). Secured
	// topics compare it with a channel parameter.
	UserID string
	// Username is the user's login name ("" when anonymous).
	Username string
	// Roles are the user's roles, such as ROLE_ADMIN.
	Roles []string
	// Anonymous is set for connections without a user: no ticket, or an
	// anonymous ticket.
	Anonymous bool
	// Backend marks the application's own backend connections (pushers,
	// `herald publish`), which backend-only policies admit.
	Backend bool
	// Channels, when not nil, lists the only topics the connection may
	// subscribe to (a JWT's channels claim): exact topics, or prefixes
	// ending in "*".
	Channels []string
}

// Authenticated reports whether the identity is a known user.
func (id Identity) Authenticated() bool { return !id.Anonymous && id.UserID != "" }

// HasRole reports whether the identity holds role.
func (id Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// Authenticator decides who an upgrade request is. sessionID is the WAMP
// session id the connection will get (Oro names anonymous users after it).
// An error refuses the connection as Config.AuthFailure says.
type Authenticator interface {
	Authenticate(r *http.Request, sessionID string) (Identity, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request, sessionID string) (Identity, error)

// Authenticate implements Authenticator.
func (f AuthenticatorFunc) Authenticate(r *http.Request, sessionID string) (Identity, error) {
	return f(r, sessionID)
}
