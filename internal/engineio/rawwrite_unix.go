//go:build unix

package engineio

import (
	"net"
	"syscall"
)

// rawWriter writes to a socket without waiting for it to become writable:
// one write(2) that takes what the kernel buffer has room for, through the
// connection's syscall.RawConn, so that the runtime's poller and the
// connection's deadlines and locks still apply. A net.Conn has no such
// write: its Write parks the goroutine until everything is written.
type rawWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // w.do, made once
	p   []byte
	n   int
	err error
}

// rawConn returns the syscall.RawConn of conn if conn is a bare TCP or
// Unix socket, and nil otherwise. A wrapper (a listener's metrics, rate
// limits, PROXY header) may do something in its Read and Write that a raw
// read or write would skip, even one that embeds the socket and so has
// its SyscallConn method.
func rawConn(conn net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawWritable reports whether conn is a socket rawWriter can write to.
func rawWritable(conn net.Conn) bool {
	return rawConn(conn) != nil
}

func newRawWriter(conn net.Conn) *rawWriter {
	w := &rawWriter{rc: rawConn(conn)}
	w.fn = w.do
	return w
}

func (w *rawWriter) do(fd uintptr) bool {
	for {
		n, err := writeFD(int(fd), w.p)
		errno, _ := err.(syscall.Errno)
		if errno == syscall.EINTR {
			continue
		}
		if errno == syscall.EAGAIN {
			n, err = 0, nil
		}
		w.n, w.err = max(n, 0), err
		return true // never wait for the socket to become writable
	}
}

// write writes what the socket takes of p now, and returns how much that
// was.
func (w *rawWriter) write(p []byte) (int, error) {
	if w.rc == nil || len(p) == 0 {
		return 0, nil
	}
	w.p = p
	err := w.rc.Write(w.fn)
	n := w.n
	if err == nil {
		err = w.err
	}
	w.p, w.n, w.err = nil, 0, nil
	return n, err
}
