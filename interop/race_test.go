//go:build race

package interop_test

// Under `go test -race` herald itself is built with -race too, so the real
// peers' traffic also checks the server for data races (a race makes it exit
// 66, which the SIGTERM check reports with the server's log).
func init() { raceEnabled = true }
