//go:build unix

package socketio

import "syscall"

// smallReceiveBuffer is a net.Dialer Control function that shrinks the
// socket's receive buffer before it connects, so that the TCP window stays
// small: a slow reader then holds back the server after a few KiB, not
// after the megabytes of an autotuned loopback window.
func smallReceiveBuffer(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	if err != nil {
		return err
	}
	return serr
}
