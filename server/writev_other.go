//go:build !linux

package server

import "net"

// writevScratch is unused where connections have no non-blocking writer.
type writevScratch struct{}

// newTryWriter returns nil: outboxes are written by blocking goroutines.
func newTryWriter(net.Conn) tryWriter { return nil }
