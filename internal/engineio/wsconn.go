package engineio

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The WebSocket transport is golang.org/x/net/websocket: it does the
// handshake and owns the connection, and it reads and writes every frame
// but the two commonest (see wsframe.go). Two more of its traits cost a
// lot on a busy server, and this file works around them without changing
// what goes on the wire:
//
//   - x/net flushes its bufio.Writer after every frame: each frame is a
//     write(2), even when the writer has hundreds queued (a broadcast
//     burst). Here x/net writes into wsOut, which keeps the bytes of a
//     whole batch and writes them at once.
//   - x/net keeps the bufio.ReadWriter of the hijacked connection for the
//     connection's lifetime, and runs on the net/http goroutine that
//     served the upgrade: 4 KiB of read buffer, 4 KiB of write buffer and a
//     deep stack per idle connection. Here the connection is hijacked
//     first and handed to x/net with small buffers, on a goroutine of its
//     own, and the net/http one returns. x/net reads through a wsIn
//     (wsin.go), which holds a read buffer only while bytes are waiting;
//     on Linux, that goroutine ends while the socket has nothing to read
//     (see park_linux.go).
const (
	wsReadBuf  = 1024     // without a wsIn: a typical client packet in one read(2); larger ones bypass it
	wsWriteBuf = 256      // a small frame (a pong, the open packet) in one write(2) outside a batch
	wsChunk    = 64 << 10 // a batch is written in chunks of about this size
)

// wsOut is the byte sink under the bufio.Writer x/net writes frames to.
// Between begin and end it keeps what x/net flushes, for the writer to
// send with flush or end. Outside a batch, before the connection belongs
// to a session (the handshake response, the open packet, the probe), writes
// go straight to the connection. Once it does (wake is set), a write from
// outside a batch (a pong or a close that x/net sends from the reading
// goroutine) is kept too, and wake has the session's writer send it: no
// write outside the writer waits for the network, so neither x/net's write
// lock nor w.mu is ever held by a goroutine blocked on a slow client, and
// a broadcast writing to many sessions (see Batch) never waits behind one.
// What a tryEnd could not write stays kept, ahead of anything later. The
// buffer comes from a pool while there is something in it.
type wsOut struct {
	conn net.Conn
	// canTry: conn is a socket that tryEnd can write to without waiting
	// (see rawwrite_unix.go); raw is made on its first use.
	canTry bool
	raw    *rawWriter
	wake   func() // starts the session's writer; set once, by attachLocked

	mu       sync.Mutex
	batching bool
	buf      *[]byte // the batch, or what is kept for the writer
}

var wsBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func newWSOut(conn net.Conn) *wsOut {
	return &wsOut{conn: conn, canTry: rawWritable(conn)}
}

func (w *wsOut) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.batching {
		*w.buf = append(*w.buf, p...)
		w.mu.Unlock()
		return len(p), nil
	}
	wake := w.wake
	if wake == nil && w.buf == nil {
		defer w.mu.Unlock()
		return w.conn.Write(p)
	}
	if w.buf == nil {
		w.buf = wsBufPool.Get().(*[]byte)
	}
	*w.buf = append(*w.buf, p...)
	w.mu.Unlock()
	if wake != nil {
		wake()
	}
	return len(p), nil
}

// begin starts keeping what is written, after what a tryEnd left.
func (w *wsOut) begin() {
	w.mu.Lock()
	w.batching = true
	if w.buf == nil {
		w.buf = wsBufPool.Get().(*[]byte)
	}
	w.mu.Unlock()
}

// buffered returns the bytes kept so far.
func (w *wsOut) buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf == nil {
		return 0
	}
	return len(*w.buf)
}

// flush writes what is kept, in one write.
func (w *wsOut) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := *w.buf
	*w.buf = b[:0]
	if len(b) == 0 {
		return nil
	}
	_, err := w.conn.Write(b)
	return err
}

// end flushes and goes back to writing straight through.
func (w *wsOut) end() error {
	err := w.flush()
	w.mu.Lock()
	w.batching = false
	w.releaseLocked()
	w.mu.Unlock()
	return err
}

// tryEnd ends the batch with one write that does not wait for the
// network: it reports whether the connection took everything. What it
// did not take stays, ahead of anything written later, until the next
// begin and end send it.
func (w *wsOut) tryEnd() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batching = false
	b := *w.buf
	if w.raw == nil {
		w.raw = newRawWriter(w.conn)
	}
	n, err := w.raw.write(b)
	if err != nil {
		return false, err
	}
	if n < len(b) {
		*w.buf = b[:copy(b, b[n:])]
		return false, nil
	}
	w.releaseLocked()
	return true, nil
}

func (w *wsOut) releaseLocked() {
	if cap(*w.buf) <= 2*wsChunk {
		*w.buf = (*w.buf)[:0]
		wsBufPool.Put(w.buf)
	}
	w.buf = nil
}

// linger half-closes the connection and reads what the client still sends,
// up to max bytes or for a second, before the connection is closed.
func (w *wsOut) linger(max int64) {
	if cw, ok := w.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	w.conn.SetReadDeadline(time.Now().Add(time.Second))
	io.CopyN(io.Discard, w.conn, max)
}

// wsResponse is what x/net/websocket serves the upgrade on once the
// connection is hijacked: its Hijack returns the connection with the
// buffers chosen here.
type wsResponse struct {
	conn net.Conn
	rw   *bufio.ReadWriter
}

func (h *wsResponse) Header() http.Header       { return http.Header{} }
func (h *wsResponse) Write([]byte) (int, error) { return 0, http.ErrHijacked }
func (h *wsResponse) WriteHeader(int)           {}

func (h *wsResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h.conn == nil {
		return nil, nil, errors.New("engineio: connection already hijacked")
	}
	c, rw := h.conn, h.rw
	h.conn, h.rw = nil, nil
	return c, rw, nil
}

// hijack takes the connection of an upgrade request from net/http. in is
// nil unless x/net reads through a wsIn.
func hijack(w http.ResponseWriter) (resp *wsResponse, out *wsOut, in *wsIn, err error) {
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return nil, nil, nil, err
	}
	br := brw.Reader
	if br.Buffered() == 0 {
		// Nothing read ahead: net/http's reader can go.
		br, in = newWSIn(conn)
	}
	out = newWSOut(conn)
	xconn := conn
	if in != nil {
		xconn = &in.xconn // see parkConn
	}
	return &wsResponse{conn: xconn, rw: bufio.NewReadWriter(br, bufio.NewWriterSize(out, wsWriteBuf))}, out, in, nil
}

// serveHijacked runs x/net's server for a hijacked connection on its own
// goroutine. A panic there would otherwise end the process; net/http
// would have logged it and closed the connection, and so does this.
func (s *Server) serveHijacked(srv http.Handler, resp *wsResponse, r *http.Request) {
	conn := resp.conn
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("engineio: panic serving a WebSocket", "remote", r.RemoteAddr, "panic", v)
			conn.Close()
		}
	}()
	srv.ServeHTTP(resp, r)
}

// writeFrame writes the frame of a text or binary message: into the
// batch, when the writer writes one (as it always does today), or else as
// Write would.
func (w *wsOut) writeFrame(data []byte, binary bool) error {
	w.mu.Lock()
	if w.batching {
		*w.buf = appendFrame(*w.buf, data, binary)
		w.mu.Unlock()
		return nil
	}
	w.mu.Unlock()
	_, err := w.Write(appendFrame(make([]byte, 0, len(data)+maxHeader), data, binary))
	return err
}
