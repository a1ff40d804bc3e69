package engineio

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueueOverflowPolling(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.MaxBufferedBytes = 1000
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	sess := s.srv.Session(c.sid)
	msg := Packet{Data: []byte("4" + strings.Repeat("x", 99))}
	for i := 0; i < 9; i++ {
		require.NoError(t, sess.Send(msg), "message %d fits", i)
	}
	require.NoError(t, sess.Send(Packet{Data: []byte("4" + strings.Repeat("x", 49))}))
	assert.ErrorIs(t, sess.Send(msg), ErrQueueFull)
	// From then on nothing is accepted, not even a small packet that would
	// fit: it would arrive after a gap.
	assert.Error(t, sess.Send(Packet{Data: []byte("4small")}))
	assert.Equal(t, ReasonQueueOverflow, s.rec.waitClosed(t, c.sid, time.Second))
	assert.ErrorIs(t, sess.Send(msg), ErrClosed)
	res := c.get()
	requireError(t, res, 400, codeUnknownSID)
}

func TestQueueOverflowWebSocket(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.MaxBufferedBytes = 64 << 10
	s := newTestServer(t, cfg, nil)
	c, op := s.openWS() // and never read
	sess := s.srv.Session(op.SID)
	msg := Packet{Data: []byte("4" + strings.Repeat("x", 1023))}
	var err error
	start := time.Now()
	for i := 0; i < 1_000_000 && err == nil; i++ {
		err = sess.Send(msg)
		if i%64 == 0 {
			time.Sleep(time.Millisecond) // let the writer fill the socket buffers
		}
	}
	require.ErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, ReasonQueueOverflow, s.rec.waitClosed(t, op.SID, 3*time.Second))
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.ErrorIs(t, sess.Send(msg), ErrClosed)
	// The writer blocked on a client that does not read is released: the
	// connection ends (goleak checks the goroutines at the end).
	c.rc.Conn.Close()
}

// A slow reader does not delay other sessions.
func TestQueueOverflowOthersUnaffected(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.MaxBufferedBytes = 32 << 10
	s := newTestServer(t, cfg, nil)
	_, slowOp := s.openWS()
	fast, _ := s.openWS()
	slow := s.srv.Session(slowOp.SID)
	msg := Packet{Data: []byte("4" + strings.Repeat("y", 511))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; slow.Send(msg) == nil; i++ {
			if i%64 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for i := 0; i < 20; i++ {
		fast.mustSend(fmt.Sprintf("4fast%d", i))
		assert.Equal(t, fmt.Sprintf("4fast%d", i), fast.readText(time.Second))
	}
	<-done
	assert.Equal(t, ReasonQueueOverflow, s.rec.waitClosed(t, slowOp.SID, 3*time.Second))
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.PingTimeout = 300 * time.Millisecond
	s := newTestServer(t, cfg, nil)
	// A polling session with a GET pending, one without, a WebSocket.
	p1 := s.handshake()
	p2 := s.handshake()
	ws, wsOp := s.openWS()
	s.srv.Session(p1.sid).Send(Packet{Data: []byte("4last words")})
	s.srv.Session(wsOp.SID).Send(Packet{Data: []byte("4last words")})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	shut := make(chan error, 1)
	go func() { shut <- s.srv.Shutdown(ctx) }()
	eventually(t, time.Second, func() bool {
		sess := s.srv.Session(p1.sid)
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.state == stateClosing
	}, "closing")
	// What was queued, then the close packet in a response of its own.
	assert.Equal(t, "4last words", p1.get().body)
	assert.Equal(t, "1", p1.get().body)
	assert.Equal(t, "4last words", ws.readText(time.Second))
	assert.Equal(t, closeNormal, ws.waitClosed(time.Second))
	require.NoError(t, <-shut)
	// p2 never polls: Shutdown waits PingTimeout for it, no more.
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	assert.Equal(t, 0, s.srv.Count())
	for _, sid := range []string{p1.sid, p2.sid, wsOp.SID} {
		assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, sid, time.Second))
	}
	// No new sessions.
	res2 := s.mustDo("GET", "EIO=4&transport=polling", "", nil)
	assert.Equal(t, 503, res2.status)
	_, _, err := s.dialWS("EIO=4&transport=websocket", testOrigin)
	if err == nil {
		// The upgrade may succeed before the refusal: then it closes.
	}
	assert.Equal(t, 0, s.srv.Count())
	// Idempotent.
	require.NoError(t, s.srv.Shutdown(ctx))
}

func TestShutdownContextExpires(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil) // PingTimeout 10 s
	c := s.handshake()                        // never polls
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, s.srv.Shutdown(ctx), context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, 0, s.srv.Count())
	assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, c.sid, time.Second))
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	ws, op := s.openWS()
	sess := s.srv.Session(op.SID)
	const g, n = 50, 40
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < n; j++ {
				// A packet and its attachment stay together.
				assert.NoError(t, sess.Send(
					Packet{Data: []byte(fmt.Sprintf("4%d-%d", i, j))},
					Packet{Data: []byte{byte(i), byte(j)}, Binary: true}))
			}
		}()
	}
	last := make([]int, g)
	for i := range last {
		last[i] = -1
	}
	for k := 0; k < g*n; k++ {
		f := ws.read(2 * time.Second)
		require.False(t, f.binary)
		var i, j int
		_, err := fmt.Sscanf(string(f.data), "4%d-%d", &i, &j)
		require.NoError(t, err)
		require.Equal(t, last[i]+1, j, "order per sender")
		last[i] = j
		b := ws.read(2 * time.Second)
		require.True(t, b.binary)
		require.Equal(t, []byte{byte(i), byte(j)}, b.data)
	}
	wg.Wait()
}

func TestSessionAccessors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	res := s.mustDo("GET", "EIO=4&transport=polling&foo=bar", "", map[string]string{"X-Test": "yes"})
	op := parseOpen(t, res.body)
	sess := s.srv.Session(op.SID)
	require.NotNil(t, sess)
	assert.Equal(t, op.SID, sess.ID())
	assert.Equal(t, "bar", sess.Request().URL.Query().Get("foo"))
	assert.Equal(t, "yes", sess.Request().Header.Get("X-Test"))
	assert.NotEmpty(t, sess.Request().RemoteAddr)
	select {
	case <-sess.Done():
		t.Fatal("done before close")
	default:
	}
	sess.closeNow("x", false)
	select {
	case <-sess.Done():
	case <-time.After(time.Second):
		t.Fatal("Done not closed")
	}
	assert.NotEqual(t, NewID(), NewID())
	assert.Len(t, NewID(), 20)
}

func BenchmarkSessionSend(b *testing.B) {
	s := newTestServer(b, quietConfig(), newRecorder())
	c := s.handshake()
	sess := s.srv.Session(c.sid)
	p := Packet{Data: []byte(`42["event",{"hello":"world"}]`)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := sess.Send(p); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			// Drain as a transport would, without the network in the loop.
			sess.mu.Lock()
			q := sess.takeLocked()
			sess.mu.Unlock()
			sess.recycle(q)
		}
	}
}

// A burst grows the queue, and a busy session keeps the room (its next
// burst is queued without allocating); at a ping with nothing queued, it
// keeps room for no more than idleRoom (32) packets in its queue and as
// many in its spare.
func TestQueueRoomAfterBurst(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.PingInterval = time.Second
	s := newTestServer(t, cfg, nil)
	room := func(sess *Session) int {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return cap(sess.queue) + cap(sess.spare)
	}
	msg := Packet{Data: []byte("4burst")}
	const burst = 600

	t.Run("polling", func(t *testing.T) {
		c := s.handshake()
		sess := s.srv.Session(c.sid)
		for range burst {
			require.NoError(t, sess.Send(msg))
		}
		// Collect the burst; a ping may come with it if the machine is
		// slow, and is answered.
		for got := 0; got < burst; {
			body := c.get().body
			got += strings.Count(body, "4burst")
			if body == "2" || strings.HasPrefix(body, "2\x1e") {
				c.mustPost("3")
			} else {
				assert.Greater(t, room(sess), burst, "kept while busy")
			}
		}
		for range 3 { // the next ping with nothing queued trims
			require.Equal(t, "2", c.get().body)
			c.mustPost("3")
			if room(sess) <= 64 {
				break
			}
		}
		assert.LessOrEqual(t, room(sess), 64)
	})

	t.Run("websocket", func(t *testing.T) {
		ws, op := s.openWS()
		sess := s.srv.Session(op.SID)
		for range burst {
			require.NoError(t, sess.Send(msg))
		}
		for got := 0; got < burst; {
			switch f := string(ws.read(2 * time.Second).data); f {
			case "4burst":
				got++
			case "2":
				ws.mustSend("3")
			default:
				t.Fatalf("unexpected %q", f)
			}
		}
		for range 3 {
			require.Equal(t, "2", string(ws.read(3*time.Second).data))
			ws.mustSend("3")
			if room(sess) <= 64 {
				break
			}
		}
		assert.LessOrEqual(t, room(sess), 64)
	})
}
