package dealer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a timer goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
