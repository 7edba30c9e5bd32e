package auth

import (
	"context"
	"errors"
	"slices"
)

// ErrUserNotFound is what a [UserProvider] returns, possibly wrapped, when no
// user has the username asked for. Any other error means the lookup itself
// failed (database down, timeout).
var ErrUserNotFound = errors.New("auth: user not found")

// User is an application user as ticket verification needs it.
type User struct {
	// ID is the application's user id as text (Oro: oro_user.id). Secured
	// topics compare it with a channel parameter.
	ID string
	// Username is the user's identifier, the one in the user's tickets.
	Username string
	// PasswordHash is the password hash stored for the user (Oro:
	// oro_user.password). Oro signs user tickets with it, so a ticket stops
	// verifying when the user changes password.
	PasswordHash string
	// Roles are the user's roles, such as ROLE_ADMINISTRATOR.
	Roles []string
}

// clone returns a deep copy, so that cached users cannot be changed
// through what callers receive.
func (u *User) clone() *User {
	if u == nil {
		return nil
	}
	c := *u
	c.Roles = slices.Clone(u.Roles)
	return &c
}

// UserProvider looks users up by username. Implementations must be safe for
// concurrent use and return an error wrapping [ErrUserNotFound] when the
// user does not exist.
type UserProvider interface {
	LookupUser(ctx context.Context, username string) (*User, error)
}

// UserProviderFunc adapts a function to [UserProvider].
type UserProviderFunc func(ctx context.Context, username string) (*User, error)

// LookupUser implements [UserProvider].
func (f UserProviderFunc) LookupUser(ctx context.Context, username string) (*User, error) {
	return f(ctx, username)
}
