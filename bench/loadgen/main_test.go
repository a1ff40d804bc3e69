package loadgen

import (
	"testing"

	"go.uber.org/goleak"
)

// The clients' goroutines, and the server's in the tests, end with each
// test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
