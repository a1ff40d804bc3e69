package engineio

import (
	"bufio"
	"errors"
	"net"
	"os"
	"sync"
	"time"
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
// Where the platform allows (see park_linux.go), an idle WebSocket holds
// no goroutine either: wait reports a socket with nothing to read instead
// of waiting, and the reader parks the session. Parking and waking again
// cost about 4 µs in a round trip, and several times that in CPU on a
// lightly loaded server (more goroutines, more threads woken), so only
// quiet connections park. A reader woken within parkAfter of parking,
// twice in a row, is busy: it waits in the runtime's poller, until a read
// deadline finds that no bytes came in the last parkAfter (the deadline
// moves on each parkAfter while some do); then it parks again. parkAfter
// is 10 s, or half the ping interval if that is shorter, so that a
// connection whose only traffic is the heartbeat parks between pongs.
//
// Only the reading goroutine uses a wsIn (a parked session's reader is
// the next one).
type wsIn struct {
	conn    net.Conn
	br      *bufio.Reader // x/net's reader, over this
	raw     *rawReader
	buf     *[]byte // from wsReadPool while pending is not empty
	pending []byte  // read from the socket, not yet taken
	err     error   // met by wait: returned once pending is taken

	// parking
	xconn      parkConn        // the connection x/net has
	canPark    bool            // wait may report idle
	done       <-chan struct{} // closed when the session closes
	busy       bool            // wait waits, until idleBy
	parkAfter  time.Duration   // see above
	idleBy     time.Time       // the read deadline while busy, or zero
	reads      int             // reads with bytes since idleBy was set
	parkedAt   time.Time       // when the session last parked
	quick      int             // parks in a row that ended within parkAfter
	registered bool            // the socket is in the idle poller's set

	loan *Loan // this reader's, made by the first lend
}

const (
	wsReadChunk = 4096 // bytes wait reads at once
	wsInBuf     = 64   // x/net's bufio.Reader over a wsIn: a frame header, at least
)

// parkAfter's longest; tests change it, before starting any server.
var parkAfterMax = 10 * time.Second

// parkConn is the connection x/net gets for a WebSocket that may park. x/net
// closes its connection when its handler returns, which is when a parking
// reader's goroutine ends: once parked, the connection is closed by the
// reader that ends the session instead.
type parkConn struct {
	net.Conn
	parked bool // set by the reader when it first parks
}

func (c *parkConn) Close() error {
	if c.parked {
		return nil
	}
	return c.Conn.Close()
}

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
	in := &wsIn{conn: conn, raw: raw, canPark: parkAvailable && parkEnabled, parkAfter: parkAfterMax}
	in.xconn.Conn = conn
	in.br = bufio.NewReaderSize(in, wsInBuf)
	return in.br, in
}

// parkEnabled turns parking off, for tests of the reader without it. Tests
// set it before starting any server, never while one runs.
var parkEnabled = true

// lend returns the Loan a reader of s's WebSocket gives its messages' work,
// or nil when there is none: no LoanHandler, or no wsIn.
func (in *wsIn) lend(s *Session) *Loan {
	if in == nil || s.srv.lh == nil {
		return nil
	}
	if in.loan == nil {
		in.loan = &Loan{s: s, in: in}
	}
	return in.loan
}

// reader returns the reader x/net reads frames from, or nil without a
// wsIn.
func (in *wsIn) reader() *bufio.Reader {
	if in == nil {
		return nil
	}
	return in.br
}

// closed reports whether the session has closed. A reader that changes the
// read deadline asks afterwards: the session's close sets one to wake it.
func (in *wsIn) closed() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// resumed counts a park that has just ended, and makes the reader busy
// after two short ones in a row.
func (in *wsIn) resumed() {
	if time.Since(in.parkedAt) >= in.parkAfter {
		in.quick = 0
		return
	}
	in.quick++
	if in.quick >= 2 {
		in.quick = 0
		in.busy = true
	}
}

func (in *wsIn) Read(p []byte) (int, error) {
	if len(in.pending) == 0 {
		if in.err != nil {
			return 0, in.err
		}
		// Inside a frame whose bytes are still coming: read straight
		// into p, so that a client trickling a frame in holds no pooled
		// buffer either. A deadline for parking must not cut it short.
		if !in.idleBy.IsZero() {
			in.idleBy = time.Time{}
			in.conn.SetReadDeadline(time.Time{})
			if in.closed() {
				return 0, os.ErrDeadlineExceeded
			}
		}
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
// connection's end, a deadline) that the next read returns. It reports
// idle instead when the reader should park: the socket has nothing to
// read and the reader is not busy, or has been busy without bytes for a
// whole parkAfter. It does nothing on a nil wsIn.
func (in *wsIn) wait() (idle bool) {
	if in == nil || len(in.pending) > 0 || in.err != nil || in.br.Buffered() > 0 {
		return false
	}
	for {
		if in.canPark && in.busy && in.idleBy.IsZero() {
			// A read deadline to leave by, moved on only when it
			// passes: nothing to do per message but count.
			in.idleBy, in.reads = time.Now().Add(in.parkAfter), 0
			in.conn.SetReadDeadline(in.idleBy)
			if in.closed() {
				in.err = os.ErrDeadlineExceeded
				return false
			}
		}
		b, n, empty, err := in.raw.read(in.canPark && !in.busy)
		switch {
		case empty:
			return true
		case err == nil:
			in.buf, in.pending = b, (*b)[:n]
			in.reads++
			return false
		case in.busy && !in.idleBy.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(in.idleBy):
			if in.reads > 0 {
				in.idleBy = time.Time{} // still busy: a new deadline
				continue
			}
			in.busy, in.idleBy = false, time.Time{}
			in.conn.SetReadDeadline(time.Time{}) // the park checks for a close
			return true
		default:
			in.err = err
			return false
		}
	}
}
