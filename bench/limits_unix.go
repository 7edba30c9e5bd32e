//go:build unix

package bench

import (
	"fmt"
	"syscall"
)

// checkFileLimit fails when the process may not open n files (Go raises
// the soft limit to the hard one at start-up).
func checkFileLimit(n int) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return nil // unknown: let the connections fail and be counted
	}
	if uint64(n) > l.Cur {
		return fmt.Errorf("%d connections need about %d open files, but this process may open %d (ulimit -n); use fewer connections", n-64, n, l.Cur)
	}
	return nil
}
