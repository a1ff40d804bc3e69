//go:build unix

package engineio

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// dialStalledWS opens a WebSocket-only session from a client whose receive
// buffer is 4 KiB and that reads nothing until the test says so: the
// server's writes to it stop once the kernel buffers between them are full.
func (s *testServer) dialStalledWS() *wsClient {
	s.t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return serr
	}}
	conn, err := d.Dial("tcp", s.ts.Listener.Addr().String())
	require.NoError(s.t, err)
	cfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(s.url, "http")+"?EIO=4&transport=websocket", testOrigin)
	require.NoError(s.t, err)
	rc := &recConn{Conn: conn}
	ws, err := websocket.NewClient(cfg, rc)
	require.NoError(s.t, err)
	s.t.Cleanup(func() { ws.Close() })
	return &wsClient{t: s.t, ws: ws, rc: rc}
}

// sessionsOpened records the sessions a recorder opens, in order.
func sessionsOpened(rec *recorder) chan *Session {
	ch := make(chan *Session, 16)
	rec.onOpen = func(s *Session) { ch <- s }
	return ch
}

func nextSession(t *testing.T, ch chan *Session) *Session {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no session opened")
		return nil
	}
}

// sendVariant sends p with Send, SendNow or SendBatch (and Flush), by k % 3,
// with its frame prepared by PrepareWebSocket or not, by k / 3 % 2.
func sendVariant(sess *Session, k int, p Packet) error {
	if k/3%2 == 1 {
		ps := []Packet{p}
		PrepareWebSocket(ps)
		p = ps[0]
	}
	switch k % 3 {
	case 0:
		return sess.Send(p)
	case 1:
		return sess.SendNow(p)
	default:
		b := NewBatch()
		defer b.Flush()
		return sess.SendBatch(b, p)
	}
}

// returnsWithin fails the test if f has not returned within d: the calls
// tested here must never wait for a client.
func returnsWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s waited for a client that does not read", what)
	}
}

// SendNow writes what the connection takes at once and leaves the rest,
// in order and intact, to the writer goroutine.
func TestSendNowPartialWrite(t *testing.T) {
	rec := newRecorder()
	opened := sessionsOpened(rec)
	cfg := quietConfig()
	cfg.MaxBufferedBytes = 64 << 20
	ts := newTestServer(t, cfg, rec)
	c := ts.dialStalledWS()
	sess := nextSession(t, opened)

	// Messages small enough to be written on the caller's goroutine (at
	// most wsChunk queued), 6 MB in all: more than the kernel buffers hold
	// (the server's send buffer grows to 4 MiB by default on Linux), so
	// that one of these writes is cut short.
	msgs := make([][]byte, 100)
	for i := range msgs {
		msgs[i] = append(fmt.Appendf(nil, "4%03d", i), bytes.Repeat([]byte{'a' + byte(i%26)}, 60<<10)...)
	}
	returnsWithin(t, 5*time.Second, "SendNow", func() {
		for _, m := range msgs {
			require.NoError(t, sess.SendNow(Packet{Data: m}))
		}
		require.NoError(t, sess.Send(Packet{Data: []byte("4send")}))
		b := NewBatch()
		require.NoError(t, sess.SendBatch(b, Packet{Data: []byte("4batch")}))
		b.Flush()
	})

	c.readText(5 * time.Second) // the open packet
	for i, m := range msgs {
		got := c.readText(10 * time.Second)
		require.True(t, string(m) == got, "message %d arrived altered", i)
	}
	require.Equal(t, "4send", c.readText(5*time.Second))
	require.Equal(t, "4batch", c.readText(5*time.Second))
}

// A broadcast written on one goroutine (Batch) must not wait for a
// recipient that does not read: the others get every message.
func TestBatchSkipsStalledRecipient(t *testing.T) {
	rec := newRecorder()
	opened := sessionsOpened(rec)
	ts := newTestServer(t, quietConfig(), rec)
	ts.dialStalledWS()
	stalled := nextSession(t, opened)
	fast, _ := ts.openWS()
	healthy := nextSession(t, opened)

	payload := bytes.Repeat([]byte("x"), 32<<10)
	for i := range 100 { // 3.2 MB: far more than the stalled client's buffers
		msg := append(fmt.Appendf(nil, "4%03d", i), payload...)
		returnsWithin(t, 5*time.Second, "SendBatch and Flush", func() {
			b := NewBatch()
			stalled.SendBatch(b, Packet{Data: msg}) // first: the others come after it
			require.NoError(t, healthy.SendBatch(b, Packet{Data: msg}))
			b.Flush()
		})
		got := fast.readText(5 * time.Second)
		require.Equal(t, string(msg[:4]), got[:4], "message %d", i)
	}
}

// x/net answers a client's WebSocket pings from the reading goroutine.
// When the client reads nothing, those pongs must not block where a
// broadcast's writer would wait on them (x/net's write lock).
func TestBatchSkipsRecipientBlockedOnPongs(t *testing.T) {
	rec := newRecorder()
	opened := sessionsOpened(rec)
	ts := newTestServer(t, quietConfig(), rec)
	stalledClient := ts.dialStalledWS()
	stalled := nextSession(t, opened)
	fast, _ := ts.openWS()
	healthy := nextSession(t, opened)

	// Far more pongs than the buffers hold; the client's writes block too
	// once the server stops reading, hence the deadline.
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		ws := stalledClient.ws
		ws.SetWriteDeadline(time.Now().Add(3 * time.Second))
		ws.PayloadType = websocket.PingFrame
		ping := bytes.Repeat([]byte("p"), 125)
		for range 40000 {
			if _, err := ws.Write(ping); err != nil {
				return
			}
		}
	}()
	<-pinged

	for i := range 10 {
		msg := fmt.Appendf(nil, "4m%d", i)
		returnsWithin(t, 5*time.Second, "SendBatch and Flush", func() {
			b := NewBatch()
			stalled.SendBatch(b, Packet{Data: msg})
			require.NoError(t, healthy.SendBatch(b, Packet{Data: msg}))
			b.Flush()
		})
		require.Equal(t, string(msg), fast.readText(5*time.Second))
	}
}

// Packets sent with Send, SendNow and SendBatch, with pings in between,
// arrive once each and in the order they were sent.
func TestSendVariantsKeepOrder(t *testing.T) {
	rec := newRecorder()
	opened := sessionsOpened(rec)
	cfg := fastConfig()
	ts := newTestServer(t, cfg, rec)
	c, _ := ts.openWS()
	sess := nextSession(t, opened)

	const n = 3000
	go func() {
		for i := range n {
			sendVariant(sess, i, Packet{Data: fmt.Appendf(nil, "4%d", i)})
			if i%500 == 0 {
				time.Sleep(cfg.PingInterval / 2) // let pings in
			}
		}
	}()
	for i := range n {
		require.Equal(t, fmt.Sprintf("4%d", i), c.readText(5*time.Second))
	}
}

// Send, SendNow and SendBatch from several goroutines at once, until the
// session closes under them, gracefully or by the client. Each sender's
// packets arrive in its order with none missing or doubled while the
// connection lasts, every sender stops with an error, the session goes
// away, and no goroutine is left (goleak, in TestMain).
func TestSendVariantsConcurrentClose(t *testing.T) {
	for round := range 12 {
		cfg := fastConfig()
		rec := newRecorder()
		opened := sessionsOpened(rec)
		ts := newTestServer(t, cfg, rec)
		c, _ := ts.openWS()
		sess := nextSession(t, opened)

		const senders = 4
		var wg sync.WaitGroup
		for g := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if sendVariant(sess, g+i, Packet{Data: fmt.Appendf(nil, "4%d:%d", g, i)}) != nil {
						return
					}
					if i%64 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}

		next := make([]int, senders)
		got := 0
		for {
			f, err := c.next(5 * time.Second)
			if err != nil {
				require.GreaterOrEqual(t, got, 500, "round %d: the connection stalled or ended early: %v", round, err)
				break // the connection ended
			}
			text := string(f.data)
			if text == "2" {
				c.send("3")
				continue
			}
			var g, i int
			_, err = fmt.Sscanf(text, "4%d:%d", &g, &i)
			require.NoError(t, err, "round %d: frame %q", round, text)
			require.Equal(t, next[g], i, "round %d: sender %d", round, g)
			next[g]++
			got++
			if got == 500 {
				if round%2 == 0 {
					sess.Close("test")
				} else {
					c.close()
				}
			}
		}
		wg.Wait()
		eventually(t, 10*time.Second, func() bool { return ts.srv.Count() == 0 }, "round %d: session still open", round)
		c.close()
	}
}

// Packets queued by one goroutine while another writes on its own
// goroutine (SendNow, Batch) are sent too, with nothing sent after them:
// the writer role is handed on, never dropped with packets still queued.
func TestSendVariantsConcurrentAllArrive(t *testing.T) {
	rec := newRecorder()
	opened := sessionsOpened(rec)
	ts := newTestServer(t, quietConfig(), rec)
	c, _ := ts.openWS()
	sess := nextSession(t, opened)
	const senders, each, rounds = 3, 50, 100
	for round := range rounds {
		var wg sync.WaitGroup
		for g := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					sendVariant(sess, g+i, Packet{Data: fmt.Appendf(nil, "4%d:%d:%d", round, g, i)})
				}
			}()
		}
		wg.Wait()
		next := make([]int, senders)
		for range senders * each {
			var r, g, i int
			text := c.readText(5 * time.Second)
			_, err := fmt.Sscanf(text, "4%d:%d:%d", &r, &g, &i)
			require.NoError(t, err, "frame %q", text)
			require.Equal(t, round, r)
			require.Equal(t, next[g], i, "round %d: sender %d", round, g)
			next[g]++
		}
	}
}
