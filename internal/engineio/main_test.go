package engineio

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine started by a test (a session
// writer, a long poll, a timer callback, an HTTP connection) is still alive
// once every test is done.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
