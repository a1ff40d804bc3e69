package engineio

import (
	"bufio"
	"net"
	"sync"
)

// wsIn is the byte source under the bufio.Reader x/net reads frames from,
// on a socket that rawReader can read (see rawread_unix.go). It exists so
// that an idle WebSocket holds no read buffer. Between messages readLoop
// waits in wait, which takes a buffer from a pool only once the socket has
// bytes, and reads them into it with the read(2) that found them: no more
// system calls than a plain read. The buffer goes back to the pool once
// x/net has taken every byte. x/net's own bufio.Reader over a wsIn is
// tiny: it only copies.
//
// Only the reading goroutine uses a wsIn.
type wsIn struct {
	conn    net.Conn
	br      *bufio.Reader // x/net's reader, over this
	raw     *rawReader
	buf     *[]byte // from wsReadPool while pending is not empty
	pending []byte  // read from the socket, not yet taken
	err     error   // met by wait: returned once pending is taken
}

const (
	wsReadChunk = 4096 // bytes wait reads at once
	wsInBuf     = 64   // x/net's bufio.Reader over a wsIn: a frame header, at least
)

var wsReadPool = sync.Pool{New: func() any { b := make([]byte, wsReadChunk); return &b }}

// newWSIn returns the reader for x/net over conn, and the wsIn under it,
// or nil when conn is not a socket that can be read this way (TLS, or a
// platform without rawReader): x/net then reads conn through a buffer of
// its own, and a readLoop waits inside x/net.
func newWSIn(conn net.Conn) (*bufio.Reader, *wsIn) {
	raw := newRawReader(conn)
	if raw == nil {
		return bufio.NewReaderSize(conn, wsReadBuf), nil
	}
	in := &wsIn{conn: conn, raw: raw}
	in.br = bufio.NewReaderSize(in, wsInBuf)
	return in.br, in
}

func (in *wsIn) Read(p []byte) (int, error) {
	if len(in.pending) == 0 {
		if in.err != nil {
			return 0, in.err
		}
		// Inside a frame whose bytes are still coming: read straight
		// into p, so that a client trickling a frame in holds no pooled
		// buffer either.
		return in.conn.Read(p)
	}
	n := copy(p, in.pending)
	in.pending = in.pending[n:]
	if len(in.pending) == 0 {
		wsReadPool.Put(in.buf)
		in.buf, in.pending = nil, nil
	}
	return n, nil
}

// wait returns once there is something to read: bytes, or an error (the
// connection's end, a deadline) that the next read returns. It does nothing
// on a nil wsIn.
func (in *wsIn) wait() {
	if in == nil || len(in.pending) > 0 || in.err != nil || in.br.Buffered() > 0 {
		return
	}
	b, n, err := in.raw.read()
	if err != nil {
		in.err = err
		return
	}
	in.buf, in.pending = b, (*b)[:n]
}
