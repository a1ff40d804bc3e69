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
// handshake, and reads and writes every frame. Two of its traits cost a
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
//     own, and the net/http one returns.
//
// x/net still allocates per frame (a frame reader or writer and its
// header), which only another WebSocket implementation would avoid: see
// bench/xnetws.
const (
	wsReadBuf  = 1024     // a typical client packet in one read(2); larger ones bypass it
	wsWriteBuf = 256      // a small frame (a pong, the open packet) in one write(2) outside a batch
	wsChunk    = 64 << 10 // a batch is written in chunks of about this size
)

// wsOut is the byte sink under the bufio.Writer x/net writes frames to.
// Between begin and end it keeps what x/net flushes, for the writer to
// send with flush or end; otherwise (the handshake response, a pong or a
// close that x/net sends from the reading goroutine) writes go straight
// to the connection. Its buffer comes from a pool for the batch only.
type wsOut struct {
	conn net.Conn

	mu       sync.Mutex
	batching bool
	buf      *[]byte
}

var wsBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (w *wsOut) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.batching {
		return w.conn.Write(p)
	}
	*w.buf = append(*w.buf, p...)
	return len(p), nil
}

// begin starts keeping what is written.
func (w *wsOut) begin() {
	w.mu.Lock()
	w.batching = true
	w.buf = wsBufPool.Get().(*[]byte)
	w.mu.Unlock()
}

// buffered returns the bytes kept so far.
func (w *wsOut) buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
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
	if cap(*w.buf) <= 2*wsChunk {
		wsBufPool.Put(w.buf)
	}
	w.buf = nil
	w.mu.Unlock()
	return err
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

// hijack takes the connection of an upgrade request from net/http.
func hijack(w http.ResponseWriter) (*wsResponse, *wsOut, error) {
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return nil, nil, err
	}
	br := brw.Reader
	if br.Buffered() == 0 {
		// Nothing read ahead: net/http's reader can go.
		br = bufio.NewReaderSize(conn, wsReadBuf)
	}
	out := &wsOut{conn: conn}
	return &wsResponse{conn: conn, rw: bufio.NewReadWriter(br, bufio.NewWriterSize(out, wsWriteBuf))}, out, nil
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
