//go:build unix

package engineio

import (
	"io"
	"net"
	"syscall"
)

// rawReader waits until a socket has bytes and reads them into a buffer
// from wsReadPool, through the connection's syscall.RawConn, so that the
// runtime's poller and the connection's deadlines still apply. Unlike
// net.Conn's Read, it needs no buffer while it waits.
type rawReader struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // r.do, made once
	buf *[]byte
	n   int
	err error
	// noWait: do reports a socket with nothing to read (empty) rather
	// than wait for bytes.
	noWait, empty bool
}

// newRawReader returns a rawReader for conn, or nil if conn is not a bare
// socket (see rawConn).
func newRawReader(conn net.Conn) *rawReader {
	rc := rawConn(conn)
	if rc == nil {
		return nil
	}
	r := &rawReader{rc: rc}
	r.fn = r.do
	return r
}

func (r *rawReader) do(fd uintptr) bool {
	b := wsReadPool.Get().(*[]byte)
	for {
		n, err := readFD(int(fd), *b)
		errno, _ := err.(syscall.Errno) // compared as itself: cheaper than err == EAGAIN
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			wsReadPool.Put(b)
			if r.noWait {
				r.empty = true
				return true
			}
			return false // the poller wakes this when there is something
		case err != nil:
			r.err = err
		case n == 0:
			r.err = io.EOF
		default:
			r.buf, r.n = b, n
			return true
		}
		wsReadPool.Put(b)
		return true
	}
}

// read waits for bytes and returns them in a buffer from wsReadPool, or
// the error that ended the wait. With noWait, it reports empty instead of
// waiting when the socket has nothing to read.
func (r *rawReader) read(noWait bool) (b *[]byte, n int, empty bool, err error) {
	r.noWait = noWait
	err = r.rc.Read(r.fn)
	b, n, empty = r.buf, r.n, r.empty
	if err == nil {
		err = r.err
	}
	r.buf, r.n, r.err, r.empty = nil, 0, nil, false
	if err != nil {
		return nil, 0, false, err
	}
	return b, n, empty, nil
}
