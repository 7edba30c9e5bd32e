// Package netpoll tells when idle connections become readable, so that a
// server need not keep a goroutine (and its stack and read buffer) per idle
// connection.
//
// A connection is registered once and then armed each time its owner stops
// reading: the next time data (or a hang-up) arrives, the Poller calls the
// connection's callback once, on the Poller's goroutine, and the
// connection stays disarmed until armed again. The callback must not block:
// it typically starts a goroutine that reads until the connection is idle
// again and then re-arms it. On Linux this is one epoll instance in
// one-shot, level-triggered mode; elsewhere New returns ErrUnsupported and
// the caller keeps a goroutine per connection.
//
// The Poller watches a connection next to Go's own network poller, which
// still serves every Read and Write on it: netpoll only replaces the
// goroutine that would otherwise wait in Read.
package netpoll

import "errors"

// ErrUnsupported is returned by New where there is no epoll, and by
// Register for a connection without a file descriptor (TLS, pipes).
var ErrUnsupported = errors.New("netpoll: not supported")

// ErrClosed is returned after the Poller is closed.
var ErrClosed = errors.New("netpoll: poller closed")
