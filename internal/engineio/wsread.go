package engineio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/net/websocket"
)

// maxFragments bounds the frames one WebSocket message may be split into.
const maxFragments = 4096

var (
	errFragments = errors.New("engineio: invalid WebSocket fragmentation")
	errBadFrame  = errors.New("engineio: WebSocket frame not masked, with reserved bits or opcode, or a control frame fragmented or over 125 bytes")
)

// readMessage reads one WebSocket message, reassembling a message the peer
// split into several frames (browsers split large messages: Chromium sends
// 128 KiB frames). x/net/websocket's Codec.Receive returns each frame as a
// message, so this reads frames itself, through the frame reader and frame
// handler that *websocket.Conn exposes: control frames (ping, pong, close)
// are handled by x/net as usual. A message longer than max in total is
// refused with websocket.ErrFrameTooLarge before its bytes are read.
//
// br, if not nil, is the reader x/net reads the connection through: a
// message that comes whole in one small frame is then read from it
// directly (see readSmallFrame), and x/net reads the rest.
func readMessage(ws *websocket.Conn, br *bufio.Reader, max int64) (wsFrame, error) {
	if br != nil {
		if f, ok, err := readSmallFrame(br, max); ok || err != nil {
			return f, err
		}
	}
	var (
		msg     []byte
		binary  bool
		started bool
	)
	for n := 0; n < maxFragments; {
		fr, err := ws.NewFrameReader()
		if err != nil {
			return wsFrame{}, err
		}
		// The header is read before HandleFrame discards it: x/net keeps
		// the FIN bit to itself.
		var first, second byte
		hlen := 0
		if h, ok := fr.HeaderReader().(interface{ Bytes() []byte }); ok {
			if hb := h.Bytes(); len(hb) > 1 {
				first, second, hlen = hb[0], hb[1], len(hb)
			}
		}
		if hlen == 0 {
			return wsFrame{}, errFragments
		}
		if first&0x70 != 0 || second&0x80 == 0 {
			// Reserved bits, with no extension agreed; or not masked,
			// which x/net's HandleFrame would answer with a close frame
			// of its own, before the session's.
			return wsFrame{}, errBadFrame
		}
		fin, opcode := first&0x80 != 0, first&0x0f
		switch opcode {
		case websocket.ContinuationFrame, websocket.TextFrame, websocket.BinaryFrame, websocket.CloseFrame:
		case websocket.PingFrame, websocket.PongFrame:
			// x/net would answer a ping of any length and any FIN bit
			// (even echo a pong RFC 6455 forbids); Node's ws fails the
			// connection, as the RFC asks. The length must fit the 7
			// bits of the header: a 16- or 64-bit length is refused even
			// for a short payload.
			if !fin || second&0x7f > 125 {
				return wsFrame{}, errBadFrame
			}
		default:
			// A reserved opcode, which x/net would hand back as data.
			return wsFrame{}, errBadFrame
		}
		if opcode == websocket.CloseFrame {
			// Read here, not by x/net (which ignores its payload): the
			// reply echoes a valid status code, as RFC 6455 asks.
			code := closeProtocolError
			if size := fr.Len() - hlen; fin && size <= 125 {
				p, _ := io.ReadAll(io.LimitReader(fr, 125))
				code = closeReply(p)
			}
			return wsFrame{}, &clientClose{code: code}
		}
		data, err := ws.HandleFrame(fr)
		if err != nil {
			return wsFrame{}, err
		}
		if data == nil {
			continue // a control frame, answered by x/net
		}
		n++
		switch {
		case opcode == websocket.ContinuationFrame && !started,
			opcode != websocket.ContinuationFrame && started:
			return wsFrame{}, errFragments
		case !started:
			started = true
			binary = opcode == websocket.BinaryFrame
		}
		// A 64-bit length near the largest int64 overflows x/net's Len;
		// compared with what is left of max, size cannot overflow.
		size := int64(fr.Len() - hlen)
		if size < 0 || size > max-int64(len(msg)) {
			return wsFrame{}, websocket.ErrFrameTooLarge
		}
		if size > 0 {
			off := len(msg)
			msg = append(msg, make([]byte, size)...)
			if _, err := io.ReadFull(data, msg[off:]); err != nil {
				return wsFrame{}, err
			}
		}
		if fin {
			if msg == nil {
				msg = []byte{}
			}
			return wsFrame{data: msg, binary: binary}, nil
		}
	}
	return wsFrame{}, errFragments
}

// clientClose is the client's close frame, and the code to close with in
// reply.
type clientClose struct{ code int }

func (c *clientClose) Error() string {
	return fmt.Sprintf("engineio: WebSocket closed by the client (reply %d)", c.code)
}

// closeReply returns the status code that answers a close frame whose
// payload is p: its own code if valid (RFC 6455 section 7.4), 1000 if it
// has none, 1002 if it is invalid, 1007 if its reason is not UTF-8, as
// Node's ws answers.
func closeReply(p []byte) int {
	switch {
	case len(p) == 0:
		return closeNormal
	case len(p) == 1:
		return closeProtocolError
	case !utf8.Valid(p[2:]):
		return closeInvalidData
	}
	code := int(p[0])<<8 | int(p[1])
	if code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006 ||
		code >= 3000 && code <= 4999 {
		return code
	}
	return closeProtocolError
}
