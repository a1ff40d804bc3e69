//go:build !linux

package engineio

// Idle readers park only on Linux (see park_linux.go): elsewhere an idle
// WebSocket's reader waits in the runtime's poller, on its goroutine.

type idlePoller struct{}

var idler idlePoller

const parkAvailable = false

func (*idlePoller) add(*Session, *wsIn) (uint64, bool) { return 0, false }

func (*idlePoller) forget(uint64) {}
