//go:build !linux

package server

import "runtime"

// pollGate is Linux's; elsewhere a pass is a plain yield (and the writers
// are not used: connections are written by blocking goroutines).
type pollGate struct{}

func newPollGate() (*pollGate, error) { return &pollGate{}, nil }

func (*pollGate) pass()  { runtime.Gosched() }
func (*pollGate) close() {}
