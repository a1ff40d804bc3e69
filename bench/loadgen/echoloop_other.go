//go:build !linux

package loadgen

import (
	"errors"
	"sync/atomic"
)

var errNoLoop = errors.New("loadgen: no event loop on this platform")

// echoLoop needs epoll: elsewhere Echo drives its clients with goroutines.
func echoLoop([]*Client, []byte, []byte, *atomic.Int32) ([]int64, int64, int64, error) {
	return nil, 0, 0, errNoLoop
}
