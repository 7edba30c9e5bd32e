package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// Every run ends its goroutines: subscriber and publisher readers, HTTP
// keep-alive connections, the AMQP connection, the progress ticker; the
// tests' servers (herald, nexus) are shut down too.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
