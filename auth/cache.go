package auth

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// Defaults of CachedUsers.
const (
	DefaultUserCacheTTL      = 30 * time.Second
	DefaultNotFoundCacheTTL  = 5 * time.Second
	DefaultUserCacheCapacity = 10_000
)

// CachedUsers is a [UserProvider] that keeps what another provider answers
// for a short time: users for TTL and "not found" for NotFoundTTL. Lookups
// that fail otherwise are not kept. Concurrent lookups of one username that
// miss the cache share a single call to Users.
//
// A user's changes (password, roles, removal) reach herald after at most
// TTL. Set the fields before first use and never change them; the methods
// are safe for concurrent use. The zero value with Users set is ready.
type CachedUsers struct {
	// Users answers the lookups that miss the cache. Required.
	Users UserProvider
	// TTL is how long a found user is kept. Zero means 30 s; negative
	// disables the cache (but not the sharing of concurrent lookups).
	TTL time.Duration
	// NotFoundTTL is how long "not found" is kept. Zero means 5 s;
	// negative disables it.
	NotFoundTTL time.Duration
	// Capacity bounds the entries kept; the oldest goes first when full.
	// Zero means 10,000.
	Capacity int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // of *cacheEntry, oldest at the front
	order   *list.List
	calls   map[string]*lookupCall
}

type cacheEntry struct {
	username string
	user     *User // nil: not found
	expires  time.Time
}

type lookupCall struct {
	done chan struct{}
	user *User
	err  error
}

// NewCachedUsers returns a cache in front of users keeping users for ttl
// (zero: 30 s); other settings take their defaults.
func NewCachedUsers(users UserProvider, ttl time.Duration) *CachedUsers {
	return &CachedUsers{Users: users, TTL: ttl}
}

func (c *CachedUsers) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// LookupUser implements [UserProvider]. The returned user is the caller's
// own copy.
//
// A caller whose ctx ends stops waiting at once. When the call being shared
// fails because the context of the caller that started it ended, the other
// callers start a new call rather than fail with someone else's context
// error.
func (c *CachedUsers) LookupUser(ctx context.Context, username string) (*User, error) {
	for {
		c.mu.Lock()
		if c.entries == nil {
			c.entries = make(map[string]*list.Element)
			c.order = list.New()
			c.calls = make(map[string]*lookupCall)
		}
		if el, ok := c.entries[username]; ok {
			e := el.Value.(*cacheEntry)
			if c.now().Before(e.expires) {
				c.mu.Unlock()
				if e.user == nil {
					return nil, ErrUserNotFound
				}
				return e.user.clone(), nil
			}
			c.order.Remove(el)
			delete(c.entries, username)
		}
		if call, ok := c.calls[username]; ok {
			c.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if call.err != nil && isContextErr(call.err) && ctx.Err() == nil {
				continue // the leader's context ended, not ours: try again
			}
			return call.user.clone(), call.err
		}
		call := &lookupCall{done: make(chan struct{})}
		c.calls[username] = call
		c.mu.Unlock()
		return c.lead(ctx, username, call)
	}
}

// lead makes the shared call and publishes its result.
func (c *CachedUsers) lead(ctx context.Context, username string, call *lookupCall) (*User, error) {
	finished := false
	defer func() {
		if !finished { // Users panicked: release the waiters, then re-panic
			call.err = errors.New("auth: user lookup panicked")
			c.mu.Lock()
			delete(c.calls, username)
			c.mu.Unlock()
			close(call.done)
		}
	}()
	user, err := c.Users.LookupUser(ctx, username)
	finished = true
	if err == nil && user == nil {
		err = ErrUserNotFound
	}
	user = user.clone()
	call.user, call.err = user, err

	c.mu.Lock()
	delete(c.calls, username)
	now := c.now()
	switch {
	case err == nil:
		if ttl := durationOr(c.TTL, DefaultUserCacheTTL); ttl > 0 {
			c.store(&cacheEntry{username: username, user: user, expires: now.Add(ttl)})
		}
	case errors.Is(err, ErrUserNotFound):
		if ttl := durationOr(c.NotFoundTTL, DefaultNotFoundCacheTTL); ttl > 0 {
			c.store(&cacheEntry{username: username, expires: now.Add(ttl)})
		}
	}
	c.mu.Unlock()
	close(call.done)
	return user.clone(), err
}

// store adds e, evicting the oldest entries when full. c.mu is held.
func (c *CachedUsers) store(e *cacheEntry) {
	capacity := c.Capacity
	if capacity <= 0 {
		capacity = DefaultUserCacheCapacity
	}
	if el, ok := c.entries[e.username]; ok {
		c.order.Remove(el)
		delete(c.entries, e.username)
	}
	for c.order.Len() >= capacity {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).username)
	}
	c.entries[e.username] = c.order.PushBack(e)
}

// Forget drops what the cache holds for username, so that the next lookup
// asks Users again.
func (c *CachedUsers) Forget(username string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[username]; ok {
		c.order.Remove(el)
		delete(c.entries, username)
	}
}

// Len returns the number of entries held, expired ones included until they
// are looked up or pushed out.
func (c *CachedUsers) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.order == nil {
		return 0
	}
	return c.order.Len()
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
