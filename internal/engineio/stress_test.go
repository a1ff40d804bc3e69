package engineio

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestManySessions opens and closes 1,000 sessions every way there is, and
// checks that the session map and the goroutines come back to baseline.
// Not parallel: it counts goroutines, so nothing else may run meanwhile.
func TestManySessions(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	baseline := runtime.NumGoroutine()
	// Scripted sessions on a server whose heartbeat never interferes, and
	// abandoned ones on a server with a short one.
	rec := newRecorder()
	rec.echo = true
	s := newTestServer(t, quietConfig(), rec)
	recPing := newRecorder()
	sPing := newTestServer(t, Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, recPing)

	const total, workers = 1000, 16
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				oneSession(t, s, sPing, i)
			}
		}()
	}
	for i := 0; i < total; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	// Every session closes by itself (the abandoned ones by ping timeout):
	// no Shutdown needed.
	for _, s := range []*testServer{s, sPing} {
		eventually(t, 5*time.Second, func() bool { return s.srv.Count() == 0 }, "sessions left: %d", s.srv.Count())
		s.srv.mu.Lock()
		assert.Empty(t, s.srv.sessions)
		s.srv.mu.Unlock()
	}
	eventually(t, 5*time.Second, func() bool { return rec.closes.Load()+recPing.closes.Load() == total },
		"OnClose calls: %d", rec.closes.Load()+recPing.closes.Load())
	assert.EqualValues(t, total, rec.opens.Load()+recPing.opens.Load())
	assert.EqualValues(t, total/8*2, recPing.opens.Load())

	// Goroutines: the HTTP server's connections go when they are closed;
	// nothing of the sessions stays.
	for _, s := range []*testServer{s, sPing} {
		s.hc.CloseIdleConnections()
		s.ts.CloseClientConnections()
	}
	var n int
	eventually(t, 5*time.Second, func() bool {
		n = runtime.NumGoroutine()
		return n <= baseline+8 // the httptest server's own listener and conns
	}, "goroutines: %d, baseline %d", n, baseline)
}

func oneSession(t *testing.T, s, sPing *testServer, i int) {
	t.Helper()
	switch i % 8 {
	case 0: // polling; the client closes with 1 while a GET waits
		c := s.handshake()
		c.mustPost("4a")
		assert.Equal(t, "4a", c.get().body) // the echo
		got := c.getPending()
		c.post("1")
		res := <-got
		assert.Equal(t, "6", res.body)
		s.rec.waitClosed(t, c.sid, 2*time.Second)
	case 1: // polling; the client aborts a waiting GET
		c := s.handshake()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.getCtx(ctx)
		}()
		waitPending(t, s, c.sid)
		cancel()
		<-done
		s.rec.waitClosed(t, c.sid, 2*time.Second)
	case 2: // polling; the server closes while a GET waits
		c := s.handshake()
		sess := s.srv.Session(c.sid)
		got := c.getPending()
		sess.Close("server")
		res := <-got
		assert.Equal(t, "1", res.body)
		s.rec.waitClosed(t, c.sid, 2*time.Second)
	case 3: // websocket; the client closes
		ws, op := s.openWS()
		ws.mustSend("4x")
		ws.readText(2 * time.Second)
		ws.close()
		s.rec.waitClosed(t, op.SID, 2*time.Second)
	case 4: // websocket; the server aborts
		ws, op := s.openWS()
		if sess := s.srv.Session(op.SID); sess != nil {
			sess.Abort("server")
		}
		ws.waitClosed(2 * time.Second)
		s.rec.waitClosed(t, op.SID, 2*time.Second)
	case 5: // polling, abandoned: ping timeout
		sPing.handshake()
	case 6: // websocket, silent: ping timeout
		ws, _ := sPing.openWS()
		go ws.waitClosedSilently(3 * time.Second)
	case 7: // upgraded, then the TCP connection drops
		c := s.handshake()
		ws := c.upgrade()
		ws.mustSend("4up")
		ws.readText(2 * time.Second)
		ws.rc.Conn.Close()
		s.rec.waitClosed(t, c.sid, 2*time.Second)
	}
}

// waitPending waits until a GET waits on the session (or it is gone).
func waitPending(t testing.TB, s *testServer, sid string) {
	t.Helper()
	eventually(t, 2*time.Second, func() bool {
		sess := s.srv.Session(sid)
		if sess == nil {
			return true
		}
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.polling && len(sess.queue) == 0
	}, "GET pending")
}
