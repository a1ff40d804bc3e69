package socketio_test

import (
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// dialNeverReads opens a raw WebSocket session on the main namespace, then
// stops reading: a client on a dead network, or a tab frozen in the
// background. Its receive buffer is made small so that the server's writes
// back up quickly.
func dialNeverReads(t *testing.T, r *rig) {
	t.Helper()
	addr := r.ts.Listener.Addr().String()
	cfg, err := websocket.NewConfig("ws://"+addr+"/socket.io/?EIO=4&transport=websocket", "http://"+addr)
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	ws, err := websocket.NewClient(cfg, conn)
	require.NoError(t, err)
	var open string
	require.NoError(t, websocket.Message.Receive(ws, &open))
	require.True(t, strings.HasPrefix(open, "0{"), open)
	require.NoError(t, websocket.Message.Send(ws, "40"))
	var connected string
	require.NoError(t, websocket.Message.Receive(ws, &connected))
	require.True(t, strings.HasPrefix(connected, `40{"sid":`), connected)
	conn.SetDeadline(time.Time{})
	// From now on, nothing is read.
}

// smallSendBuffers shrinks the kernel's send buffer of the server's
// connections, which would otherwise absorb megabytes before the server's
// queue of a client that does not read starts to grow.
func smallSendBuffers(ts *httptest.Server) {
	ts.Listener = sendBufferListener{ts.Listener}
}

type sendBufferListener struct{ net.Listener }

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// A socket that never reads is disconnected with ReasonQueueOverflow once
// its queue passes MaxBufferedBytes, while the other sockets of the room
// keep receiving everything, in order.
func TestSlowSocketOverflows(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{MaxBufferedBytes: 64 << 10}, smallSendBuffers)
	ns := r.srv.Of("/")
	ns.OnConnect(func(s *socketio.Socket) { s.Join("room") })
	reasons := make(chan string, 8)
	ns.OnDisconnect(func(s *socketio.Socket, reason string) { reasons <- reason })

	type reader struct {
		s   *client.Socket
		got chan int
	}
	var readers []reader
	for range 2 {
		rd := reader{got: make(chan int, 1<<16)}
		rd.s = r.socket(t, "/", nil, func(s *client.Socket) {
			client.On(s, evNote, func(n note) {
				i, _ := strconv.Atoi(n.From)
				rd.got <- i
			})
		})
		readers = append(readers, rd)
	}
	dialNeverReads(t, r)
	require.Eventually(t, func() bool { return len(ns.To("room").Sockets()) == 3 }, 5*time.Second, time.Millisecond)

	// Broadcast 4 KiB notes in batches that the readers keep up with (each
	// batch is under half their queue), until the slow socket is gone, then
	// some more.
	pad := strings.Repeat("x", 4<<10)
	const batch = 8
	sent, after := 0, -1
	var reason string
	for after < 0 || sent < after+5*batch {
		for range batch {
			require.NoError(t, socketio.Emit(ns.To("room"), evNote, note{From: strconv.Itoa(sent), Text: pad}))
			sent++
		}
		for _, rd := range readers {
			for i := sent - batch; i < sent; i++ {
				require.Equal(t, i, wait(t, rd.got, "note "+strconv.Itoa(i)), "lost or out of order")
			}
		}
		if after < 0 {
			select {
			case reason = <-reasons:
				after = sent
			default:
			}
		}
		require.Less(t, sent, 50_000, "the slow socket was never disconnected")
	}
	assert.Equal(t, socketio.ReasonQueueOverflow, reason)
	assert.Len(t, ns.To("room").Sockets(), 2)
	for _, rd := range readers {
		assert.True(t, rd.s.Connected())
	}
	none(t, reasons, "other disconnect")
	t.Logf("slow socket disconnected after %d notes (%d KiB)", after, after*4)
}
