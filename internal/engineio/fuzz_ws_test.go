package engineio

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzWebSocketFrames sends arbitrary client frames over a live WebSocket
// session, then ends the connection's client side: no panic; every message
// delivered is UTF-8 if it came as text; nothing follows a close frame;
// the session ends.
//
// The input is a list of frames, each a control byte (FIN, RSV and opcode
// bits as in a frame's first byte) and a length byte, then that many
// payload bytes, masked as a client must; a last odd byte is sent as it
// is, a header cut short.
func FuzzWebSocketFrames(f *testing.F) {
	frame := func(ctl byte, p string) []byte { return append([]byte{ctl, byte(len(p))}, p...) }
	cat := func(fs ...[]byte) []byte {
		var b []byte
		for _, x := range fs {
			b = append(b, x...)
		}
		return b
	}
	for _, seed := range [][]byte{
		frame(0x81, "4hello"),
		frame(0x82, "\x01\x02"),
		cat(frame(0x01, "4he"), frame(0x89, "ping"), frame(0x80, "llo")),
		cat(frame(0x01, "4\xe2\x82"), frame(0x80, "\xac")),
		frame(0x81, "4A\xffZ"),
		frame(0xc1, "4x"),
		frame(0x80, "4x"),
		cat(frame(0x01, "4a"), frame(0x81, "4b")),
		frame(0x88, "\x03\xe8bye"),
		cat(frame(0x81, "2"), frame(0x81, "6"), frame(0x81, "1")),
		{0x81},
	} {
		f.Add(seed)
	}
	s := newTestServer(f, quietConfig(), nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			t.Skip("long inputs add nothing: a frame here is at most 255 bytes")
		}
		c := dialRawWS(t, s.with(t))
		sid := c.open()
		var out []byte
		for len(in) >= 2 {
			ctl, n := in[0], min(int(in[1]), len(in)-2)
			fr := maskedFrame(ctl&0x80 != 0, ctl&0x0f, in[2:2+n])
			fr[0] |= ctl & 0x70
			out = append(out, fr...)
			in = in[2+n:]
		}
		out = append(out, in...)
		_, err := c.conn.Write(out)
		require.NoError(t, err)
		c.conn.(*net.TCPConn).CloseWrite()

		// What comes back, until the server closes the connection.
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		closed := false
		for {
			h := make([]byte, 2)
			if _, err := io.ReadFull(c.br, h); err != nil {
				require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server did not end the connection")
				break
			}
			require.False(t, closed, "a frame (%#x) after the close frame", h[0])
			n := int64(h[1] & 0x7f)
			switch n {
			case 126:
				b := make([]byte, 2)
				io.ReadFull(c.br, b)
				n = int64(b[0])<<8 | int64(b[1])
			case 127:
				b := make([]byte, 8)
				io.ReadFull(c.br, b)
				n = 0
				for _, x := range b {
					n = n<<8 | int64(x)
				}
			}
			p := make([]byte, n)
			if _, err := io.ReadFull(c.br, p); err != nil {
				break
			}
			switch h[0] & 0x0f {
			case 0x8:
				closed = true
			case 0x1:
				require.True(t, utf8.Valid(p), "text frame that is not UTF-8: %q", p)
			}
		}
		s.rec.waitClosed(t, sid, 5*time.Second)
		for _, m := range s.rec.messages(sid) {
			require.True(t, utf8.ValidString(m), "message delivered that is not UTF-8: %q", m)
		}
	})
}
