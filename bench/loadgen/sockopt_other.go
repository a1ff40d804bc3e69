//go:build !linux

package loadgen

import (
	"errors"
	"syscall"
)

// sockopts refuses DialOptions.RecvBuf and MSS, which are set on Linux
// only (the load benchmarks need Linux anyway: see bench/README.md); the
// rest of the package, which the root package's benchmarks use, builds
// everywhere.
func sockopts(DialOptions) func(_, _ string, rc syscall.RawConn) error {
	return func(_, _ string, _ syscall.RawConn) error {
		return errors.New("loadgen: RecvBuf and MSS are set on Linux only")
	}
}
