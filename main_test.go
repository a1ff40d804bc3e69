package socketio

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine started by a test (a socket's
// handler goroutine, a WebSocket reader or writer, a long poll, a timer
// callback) is still alive once every test is done. This is the package's
// only TestMain: add package-wide setup here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
