//go:build !linux

package netpoll

// Poller is unavailable on this system: New returns ErrUnsupported.
type Poller struct{}

// Handle is unavailable on this system.
type Handle struct{}

// New returns ErrUnsupported.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Register returns ErrUnsupported.
func (p *Poller) Register(any, func()) (*Handle, error) { return nil, ErrUnsupported }

// Close does nothing.
func (p *Poller) Close() error { return nil }

// Arm returns ErrUnsupported.
func (h *Handle) Arm() error { return ErrUnsupported }

// Remove does nothing.
func (h *Handle) Remove() {}
