package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a goroutine of the client (reader, writer,
// upgrade, reconnection, handler queue) or of a test server outlives the
// tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
