//go:build !unix

package engineio

import "net"

// Raw reads and writes (rawread_unix.go, rawwrite_unix.go) are for unix
// sockets only.

// rawWriter is not available on this platform: every write of a WebSocket
// goes through the session's writer goroutine.
type rawWriter struct{}

func rawWritable(net.Conn) bool { return false }

func newRawWriter(net.Conn) *rawWriter { return &rawWriter{} }

func (*rawWriter) write([]byte) (int, error) { return 0, nil }

// rawReader is not available on this platform either: a WebSocket's reader
// waits inside x/net's frame reader, with its buffer.
type rawReader struct{}

func newRawReader(net.Conn) *rawReader { return nil }

func (*rawReader) read(bool) (*[]byte, int, bool, error) { panic("unreachable") }
