package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestCachedUsersTTL(t *testing.T) {
	src := testUsers()
	clk := &clock{now: t0}
	c := &CachedUsers{Users: src, TTL: 10 * time.Second, NotFoundTTL: 2 * time.Second, Now: clk.Now}
	ctx := context.Background()
	for range 3 {
		u, err := c.LookupUser(ctx, "alice")
		if err != nil || u.ID != "7" {
			t.Fatalf("alice: %+v %v", u, err)
		}
	}
	if src.calls.Load() != 1 {
		t.Fatalf("calls %d, want 1", src.calls.Load())
	}
	clk.Add(10 * time.Second)
	if _, err := c.LookupUser(ctx, "alice"); err != nil || src.calls.Load() != 2 {
		t.Fatalf("after TTL: err %v calls %d, want a new lookup", err, src.calls.Load())
	}

	// Not found is cached too, for NotFoundTTL.
	for range 3 {
		if _, err := c.LookupUser(ctx, "ghost"); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("ghost: %v", err)
		}
	}
	if src.calls.Load() != 3 {
		t.Fatalf("calls %d, want 3", src.calls.Load())
	}
	clk.Add(2 * time.Second)
	c.LookupUser(ctx, "ghost")
	if src.calls.Load() != 4 {
		t.Fatalf("not-found kept past NotFoundTTL")
	}

	c.Forget("alice")
	c.LookupUser(ctx, "alice")
	if src.calls.Load() != 5 {
		t.Fatal("Forget did not drop the entry")
	}
}

func TestCachedUsersDoesNotCacheFailures(t *testing.T) {
	src := &mapUsers{err: errors.New("db down")}
	c := &CachedUsers{Users: src}
	for range 3 {
		if _, err := c.LookupUser(context.Background(), "alice"); err == nil || errors.Is(err, ErrUserNotFound) {
			t.Fatalf("err %v", err)
		}
	}
	if src.calls.Load() != 3 {
		t.Fatalf("calls %d: failures must not be cached", src.calls.Load())
	}
}

func TestCachedUsersReturnsCopies(t *testing.T) {
	c := &CachedUsers{Users: testUsers()}
	u, _ := c.LookupUser(context.Background(), "alice")
	u.Roles[0] = "ROLE_HACKED"
	u.PasswordHash = "x"
	again, _ := c.LookupUser(context.Background(), "alice")
	if again.Roles[0] != "ROLE_USER" || again.PasswordHash != alice.PasswordHash {
		t.Fatalf("cache changed through a returned user: %+v", again)
	}
}

func TestCachedUsersCapacity(t *testing.T) {
	src := &mapUsers{users: map[string]*User{}}
	for i := range 5 {
		n := fmt.Sprint("u", i)
		src.users[n] = &User{ID: n, Username: n}
	}
	c := &CachedUsers{Users: src, Capacity: 3}
	for i := range 5 {
		c.LookupUser(context.Background(), fmt.Sprint("u", i))
	}
	if c.Len() != 3 {
		t.Fatalf("Len %d, want 3", c.Len())
	}
	c.LookupUser(context.Background(), "u4") // kept
	c.LookupUser(context.Background(), "u0") // evicted earlier
	if src.calls.Load() != 6 {
		t.Fatalf("calls %d, want 6", src.calls.Load())
	}
}

// blockingUsers blocks every lookup until release is closed.
type blockingUsers struct {
	calls   atomic.Int64
	started chan struct{}
	release chan struct{}
}

func (b *blockingUsers) LookupUser(ctx context.Context, username string) (*User, error) {
	b.calls.Add(1)
	b.started <- struct{}{}
	select {
	case <-b.release:
		return &User{ID: "1", Username: username}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("query: %w", ctx.Err())
	}
}

func TestCachedUsersSharesConcurrentLookups(t *testing.T) {
	src := &blockingUsers{started: make(chan struct{}, 100), release: make(chan struct{})}
	c := &CachedUsers{Users: src}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			u, err := c.LookupUser(context.Background(), "alice")
			if err == nil && u.Username != "alice" {
				err = fmt.Errorf("user %+v", u)
			}
			errs <- err
		})
	}
	<-src.started
	time.Sleep(50 * time.Millisecond) // let the others queue behind the first
	close(src.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("%d lookups for 20 concurrent callers, want 1", n)
	}
}

func TestCachedUsersLeaderCancelDoesNotFailOthers(t *testing.T) {
	src := &blockingUsers{started: make(chan struct{}, 100), release: make(chan struct{})}
	c := &CachedUsers{Users: src}
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.LookupUser(leaderCtx, "alice")
		leaderErr <- err
	}()
	<-src.started
	waiterErr := make(chan error, 1)
	go func() {
		_, err := c.LookupUser(context.Background(), "alice")
		waiterErr <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v, want canceled", err)
	}
	<-src.started // the waiter started its own lookup
	close(src.release)
	if err := <-waiterErr; err != nil {
		t.Fatalf("waiter failed with the leader's cancellation: %v", err)
	}

	// A waiter whose own context ends stops waiting.
	src2 := &blockingUsers{started: make(chan struct{}, 100), release: make(chan struct{})}
	c2 := &CachedUsers{Users: src2}
	go c2.LookupUser(context.Background(), "bob")
	<-src2.started
	ctx, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := c2.LookupUser(ctx, "bob"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter: %v, want deadline exceeded", err)
	}
	close(src2.release)
}

func TestCachedUsersInVerifier(t *testing.T) {
	src := testUsers()
	v := &TicketVerifier{Secret: testSecret, Users: NewCachedUsers(src, 0), Now: func() time.Time { return t0 }}
	for range 5 {
		if _, err := v.Verify(context.Background(), MintTicket(testSecret, "alice", alice.PasswordHash, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if src.calls.Load() != 1 {
		t.Fatalf("calls %d, want 1", src.calls.Load())
	}
}
