package engineio

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawWS is a WebSocket client that writes frames by hand, to send what
// x/net's client cannot: fragmented messages.
type rawWS struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialRawWS(t *testing.T, s *testServer) *rawWS {
	t.Helper()
	addr := strings.TrimPrefix(s.ts.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	req := "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	_, err = conn.Write([]byte(req))
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	return &rawWS{t: t, conn: conn, br: br}
}

// frame writes one masked frame.
func (c *rawWS) frame(fin bool, opcode byte, payload []byte) {
	_, err := c.conn.Write(maskedFrame(fin, opcode, payload))
	require.NoError(c.t, err)
}

// maskedFrame returns the bytes of a frame from a client.
func maskedFrame(fin bool, opcode byte, payload []byte) []byte {
	var h []byte
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	h = append(h, b0)
	switch n := len(payload); {
	case n <= 125:
		h = append(h, 0x80|byte(n))
	case n <= 0xffff:
		h = append(h, 0x80|126, byte(n>>8), byte(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	key := []byte{1, 2, 3, 4}
	h = append(h, key...)
	masked := make([]byte, len(payload))
	for i, x := range payload {
		masked[i] = x ^ key[i%4]
	}
	return append(h, masked...)
}

// read returns the next data frame's opcode and payload (unfragmented, as
// the server writes them); ok is false once the connection ends.
func (c *rawWS) read() (opcode byte, payload []byte, ok bool) {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, false
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(c.br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(c.br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return 0, nil, false
	}
	return h[0] & 0x0f, payload, true
}

// closeCode reads up to the server's close frame, and returns its status
// code.
func (c *rawWS) closeCode() uint16 {
	c.t.Helper()
	for {
		op, p, ok := c.read()
		require.True(c.t, ok, "no close frame")
		if op == 0x8 {
			require.GreaterOrEqual(c.t, len(p), 2)
			return binary.BigEndian.Uint16(p)
		}
	}
}

func (c *rawWS) open() string {
	op, p, ok := c.read()
	require.True(c.t, ok)
	require.Equal(c.t, byte(1), op)
	var o struct{ Sid string }
	require.NoError(c.t, json.Unmarshal(p[1:], &o))
	return o.Sid
}

// Browsers split large messages into frames (Chromium: 128 KiB each): the
// server must put them back together.
func TestWebSocketFragmentedMessages(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := dialRawWS(t, s)
	sid := c.open()

	big := strings.Repeat("x", 300_000)
	c.frame(false, 1, []byte("4"+big[:100_000]))
	c.frame(false, 0, []byte(big[100_000:200_000]))
	c.frame(true, 0x9, []byte("ping")) // a control frame between fragments
	c.frame(true, 0, []byte(big[200_000:]))
	c.frame(false, 2, []byte{1, 2})
	c.frame(true, 0, []byte{3})
	c.frame(true, 1, []byte("4small"))

	msgs := s.rec.waitMessages(t, sid, 3, 5*time.Second)
	assert.Equal(t, []string{big, "bin:010203", "small"}, msgs)
	var got []string
	for len(got) < 3 {
		op, p, ok := c.read()
		require.True(t, ok)
		switch op {
		case 0xA: // pong
		case 2:
			got = append(got, "bin:"+string(p))
		default:
			got = append(got, string(p))
		}
	}
	assert.Equal(t, []string{"4" + big, "bin:\x01\x02\x03", "4small"}, got)
}

// Frames that break RFC 6455 fail the connection with the close code it
// prescribes (1002 for framing, 1007 for a text message that is not
// UTF-8), as Node's ws does, and deliver nothing.
func TestWebSocketBadFrames(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		send func(c *rawWS)
		code uint16
	}{
		"continuation first": {func(c *rawWS) { c.frame(true, 0, []byte("4x")) }, closeProtocolError},
		"data frame inside a message": {func(c *rawWS) {
			c.frame(false, 1, []byte("4a"))
			c.frame(true, 1, []byte("4b"))
		}, closeProtocolError},
		"reserved bit, no extension": {func(c *rawWS) {
			f := maskedFrame(true, 1, []byte("4x"))
			f[0] |= 0x40 // RSV1: compressed, which was not agreed
			_, err := c.conn.Write(f)
			require.NoError(c.t, err)
		}, closeProtocolError},
		"not masked": {func(c *rawWS) {
			_, err := c.conn.Write([]byte{0x81, 2, '4', 'x'})
			require.NoError(c.t, err)
		}, closeProtocolError},
		"text that is not UTF-8": {func(c *rawWS) { c.frame(true, 1, []byte("4A\xffZ")) }, closeInvalidData},
		"text fragments that are not UTF-8 together": {func(c *rawWS) {
			c.frame(false, 1, []byte("4\xe2\x82"))
			c.frame(true, 0, []byte("x"))
		}, closeInvalidData},
		// Control frames are never fragmented and carry at most 125
		// bytes; opcodes 3-7 and 11-15 are reserved.
		"fragmented ping":   {func(c *rawWS) { c.frame(false, 0x9, []byte("hi")) }, closeProtocolError},
		"fragmented pong":   {func(c *rawWS) { c.frame(false, 0xA, []byte("hi")) }, closeProtocolError},
		"ping of 126 bytes": {func(c *rawWS) { c.frame(true, 0x9, make([]byte, 126)) }, closeProtocolError},
		"pong of 126 bytes": {func(c *rawWS) { c.frame(true, 0xA, make([]byte, 126)) }, closeProtocolError},
		"fragmented ping inside a message": {func(c *rawWS) {
			c.frame(false, 1, []byte("4a"))
			c.frame(false, 0x9, []byte("hi"))
			c.frame(true, 0, []byte("b"))
		}, closeProtocolError},
		"ping with a 16-bit length": {func(c *rawWS) {
			f := maskedFrame(true, 0x9, []byte("hello"))
			_, err := c.conn.Write(append([]byte{f[0], 0x80 | 126, 0, 5}, f[2:]...))
			require.NoError(c.t, err)
		}, closeProtocolError},
		"reserved data opcode": {func(c *rawWS) { c.frame(true, 0x3, []byte("4x")) }, closeProtocolError},
		"reserved data opcode inside a message": {func(c *rawWS) {
			c.frame(false, 1, []byte("4a"))
			c.frame(true, 0x7, []byte("b"))
		}, closeProtocolError},
		"reserved control opcode": {func(c *rawWS) { c.frame(true, 0xB, []byte("4x")) }, closeProtocolError},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, quietConfig(), nil)
			c := dialRawWS(t, s)
			sid := c.open()
			tc.send(c)
			assert.Equal(t, tc.code, c.closeCode())
			// One close frame only: then the connection ends.
			op, _, ok := c.read()
			assert.False(t, ok, "frame %#x after the close frame", op)
			assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, sid, 2*time.Second))
			assert.Empty(t, s.rec.messages(sid))
		})
	}
	// Split between fragments, a character is whole.
	s := newTestServer(t, quietConfig(), nil)
	c := dialRawWS(t, s)
	sid := c.open()
	c.frame(false, 1, []byte("4\xe2\x82"))
	c.frame(true, 0, []byte("\xac"))
	assert.Equal(t, []string{"\u20ac"}, s.rec.waitMessages(t, sid, 1, 2*time.Second))
}

// The total of a fragmented message counts against MaxPayload, before the
// bytes are buffered.
func TestWebSocketFragmentsOverMaxPayload(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.MaxPayload = 1000
	s := newTestServer(t, cfg, nil)
	c := dialRawWS(t, s)
	sid := c.open()
	c.frame(false, 1, []byte("4"+strings.Repeat("a", 600)))
	c.frame(true, 0, []byte(strings.Repeat("b", 600)))
	s.rec.waitClosed(t, sid, 2*time.Second)
	assert.Empty(t, s.rec.messages(sid))
	for {
		op, p, ok := c.read()
		require.True(t, ok, "no close frame")
		if op == 8 {
			require.GreaterOrEqual(t, len(p), 2)
			assert.Equal(t, closeTooLarge, int(binary.BigEndian.Uint16(p)))
			return
		}
	}
}

// A continuation frame whose 64-bit length is the largest there is, after a
// first fragment with bytes in it, is too large too: its length must not
// overflow the check (it made the reader panic).
func TestWebSocketHugeContinuationLength(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := dialRawWS(t, s)
	sid := c.open()
	c.frame(false, 1, []byte("4a"))
	huge := []byte{0x80, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}
	_, err := c.conn.Write(huge)
	require.NoError(t, err)
	s.rec.waitClosed(t, sid, 2*time.Second)
	assert.Equal(t, closeTooLarge, int(c.closeCode()))
}

// Only RFC 6455's WebSocket version is spoken: an older draft's (8) is
// refused before the upgrade, and told which version to use.
func TestWebSocketVersion(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	addr := strings.TrimPrefix(s.ts.URL, "http://")
	for _, v := range []string{"8", "", "14"} {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		require.NoError(t, err)
		req := "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + addr +
			"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		if v != "" {
			req += "Sec-WebSocket-Version: " + v + "\r\n"
		}
		_, err = conn.Write([]byte(req + "\r\n"))
		require.NoError(t, err)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "version %q", v)
		assert.Equal(t, "13", res.Header.Get("Sec-WebSocket-Version"))
		res.Body.Close()
		conn.Close()
	}
	assert.Equal(t, 0, s.srv.Count())
}

// A client's close frame is answered with its own status code when that
// is valid (RFC 6455 section 7.4), as Node's ws answers; with 1002 when
// it is not, and 1007 when its reason is not UTF-8.
func TestWebSocketCloseReply(t *testing.T) {
	t.Parallel()
	code := func(c uint16, reason string) []byte { return append(binary.BigEndian.AppendUint16(nil, c), reason...) }
	cases := []struct {
		name    string
		payload []byte
		fin     bool
		want    uint16
		reason  string
	}{
		{"no status", nil, true, closeNormal, ReasonTransportClose},
		{"normal", code(1000, "bye"), true, 1000, ReasonTransportClose},
		{"going away", code(1001, ""), true, 1001, ReasonTransportClose},
		{"application", code(4321, "x"), true, 4321, ReasonTransportClose},
		{"one byte", []byte{3}, true, closeProtocolError, ReasonTransportError},
		{"reserved 1005", code(1005, ""), true, closeProtocolError, ReasonTransportError},
		{"reserved 1015", code(1015, ""), true, closeProtocolError, ReasonTransportError},
		{"out of range", code(5000, ""), true, closeProtocolError, ReasonTransportError},
		{"reason not UTF-8", code(1000, "\xff"), true, closeInvalidData, ReasonTransportError},
		{"fragmented", code(1000, ""), false, closeProtocolError, ReasonTransportError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, quietConfig(), nil)
			c := dialRawWS(t, s)
			sid := c.open()
			c.frame(tc.fin, 0x8, tc.payload)
			assert.Equal(t, tc.want, c.closeCode())
			assert.Equal(t, tc.reason, s.rec.waitClosed(t, sid, 2*time.Second))
		})
	}
}
