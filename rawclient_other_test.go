//go:build !unix

package socketio

import "syscall"

// smallReceiveBuffer does nothing here: see rawclient_unix_test.go.
func smallReceiveBuffer(network, address string, c syscall.RawConn) error { return nil }
