package engineio

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// PrepareWebSocket has each of ps carry its WebSocket frame, encoded once,
// for packets about to be sent to many sessions (a broadcast): a session
// on WebSocket then writes those bytes as they are, instead of having
// x/net build the same frame again (a frame writer, a header, three
// allocations and a flush for every recipient). Sessions on polling use
// Data as before. The frames are x/net's: an x/net connection of its own
// that writes to memory encodes them, since x/net has no other way to
// encode a frame. A server's frames are not masked, so the bytes are the
// same for every connection.
func PrepareWebSocket(ps []Packet) {
	e := encoders.Get().(*frameEncoder)
	for i := range ps {
		ps[i].frame = e.encode(ps[i])
	}
	encoders.Put(e)
}

var encoders = sync.Pool{New: func() any { return newFrameEncoder() }}

// frameEncoder is an x/net server connection whose frames go to out.
type frameEncoder struct {
	ws  *websocket.Conn
	out []byte
}

// Write is where the encoder's connection writes.
func (e *frameEncoder) Write(p []byte) (int, error) {
	e.out = append(e.out, p...)
	return len(p), nil
}

// encode returns p's frame, in a slice of its own.
func (e *frameEncoder) encode(p Packet) []byte {
	if p.Binary {
		e.ws.PayloadType = websocket.BinaryFrame
	} else {
		e.ws.PayloadType = websocket.TextFrame
	}
	e.out = make([]byte, 0, len(p.Data)+10) // the longest header of an unmasked frame
	e.ws.Write(p.Data)                      // into e.out: it cannot fail
	f := e.out
	e.out = nil
	return f
}

// newFrameEncoder runs x/net's server handshake for a request made up
// here, over a connection that is only memory.
func newFrameEncoder() *frameEncoder {
	e := &frameEncoder{}
	req := &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Path: "/"},
		Host:   "localhost",
		Header: http.Header{
			"Upgrade":               {"websocket"},
			"Connection":            {"Upgrade"},
			"Sec-Websocket-Key":     {"AAAAAAAAAAAAAAAAAAAAAA=="},
			"Sec-Websocket-Version": {"13"},
		},
	}
	rw := bufio.NewReadWriter(bufio.NewReaderSize(memConn{}, 16), bufio.NewWriterSize(e, 16))
	srv := websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler:   func(ws *websocket.Conn) { e.ws = ws },
	}
	srv.ServeHTTP(&wsResponse{conn: memConn{}, rw: rw}, req)
	if e.ws == nil {
		panic("engineio: x/net refused the frame encoder's handshake")
	}
	e.out = nil // the 101 response
	return e
}

// memConn is the connection under a frameEncoder: it is never read from,
// written to (the encoder's bufio.Writer writes to the encoder) or
// closed.
type memConn struct{}

func (memConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (memConn) Close() error                     { return nil }
func (memConn) LocalAddr() net.Addr              { return memAddr{} }
func (memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (memConn) SetDeadline(time.Time) error      { return nil }
func (memConn) SetReadDeadline(time.Time) error  { return nil }
func (memConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "memory" }
