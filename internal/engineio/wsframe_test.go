//go:build unix

package engineio

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// PrepareWebSocket's frames are unmasked, final WebSocket frames of the
// packet's type and length, whatever the length's encoding.
func TestPrepareWebSocket(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 200_000} {
		data := bytes.Repeat([]byte{'x'}, n)
		ps := []Packet{{Data: append([]byte{'4'}, data...)}, {Data: data, Binary: true}}
		PrepareWebSocket(ps)
		for _, p := range ps {
			f := p.frame
			require.NotNil(t, f)
			opcode := byte(websocket.TextFrame)
			if p.Binary {
				opcode = websocket.BinaryFrame
			}
			require.Equal(t, 0x80|opcode, f[0], "FIN and opcode, length %d", len(p.Data))
			require.Zero(t, f[1]&0x80, "not masked")
			size, hlen := int(f[1]&0x7f), 2
			switch size {
			case 126:
				size, hlen = int(binary.BigEndian.Uint16(f[2:])), 4
			case 127:
				size, hlen = int(binary.BigEndian.Uint64(f[2:])), 10
			}
			require.Equal(t, len(p.Data), size)
			require.Equal(t, p.Data, f[hlen:], "payload, length %d", len(p.Data))
		}
		require.NotSame(t, &ps[0].frame[0], &ps[1].frame[0])
	}
}

// A session on WebSocket writes a prepared frame as it is, in order with
// frames x/net makes for it; a session on polling sends the packet.
func TestPreparedFramesOnTheWire(t *testing.T) {
	rec := newRecorder()
	opened := sessionsOpened(rec)
	ts := newTestServer(t, fastConfig(), rec)
	c, _ := ts.openWS()
	sess := nextSession(t, opened)

	ps := []Packet{{Data: []byte("4first")}, {Data: []byte{1, 2, 3}, Binary: true}}
	PrepareWebSocket(ps)
	require.NoError(t, sess.Send(Packet{Data: []byte("4before")}))
	require.NoError(t, sess.Send(ps...))
	require.NoError(t, sess.Send(Packet{Data: []byte("4after")}))

	require.Equal(t, "4before", c.readText(5*time.Second))
	require.Equal(t, "4first", c.readText(5*time.Second))
	f := c.read(5 * time.Second)
	require.True(t, f.binary)
	require.Equal(t, []byte{1, 2, 3}, f.data)
	require.Equal(t, "4after", c.readText(5*time.Second))

	// On polling, the same packets go out as payload records.
	pc := ts.handshake()
	psess := nextSession(t, opened)
	require.NoError(t, psess.Send(ps...))
	require.Equal(t, []string{"4first", "bAQID"}, pc.collect(2, 5*time.Second))
}
