package engineio

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A session closed from elsewhere while OnMessage runs: OnClose waits for
// OnMessage to return, and the rest of the payload is not delivered.
func TestOnCloseWaitsForOnMessage(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	rec.onMessage = func(s *Session, data []byte, _ bool) {
		if string(data) != "a" {
			return
		}
		done := make(chan struct{})
		go func() {
			s.closeNow("killed", false) // as a ping timeout would
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
		// Give a (wrong) OnClose on the other goroutine time to show.
		time.Sleep(20 * time.Millisecond)
	}
	s := newTestServer(t, quietConfig(), rec)

	c := s.handshake()
	c.post("4a\x1e4b\x1e4c")
	assert.Equal(t, "killed", rec.waitClosed(t, c.sid, time.Second))
	assert.Equal(t, []string{"open", "msg:a", "close:killed"}, rec.events(c.sid))

	ws, op := s.openWS()
	ws.mustSend("4a")
	ws.send("4b")
	assert.Equal(t, "killed", rec.waitClosed(t, op.SID, time.Second))
	assert.Equal(t, []string{"open", "msg:a", "close:killed"}, rec.events(op.SID))
}

// Abort from inside OnMessage (what the Socket.IO layer does on a bad
// packet): no deadlock, OnClose after OnMessage, nothing after it.
func TestAbortInsideOnMessage(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	rec.onMessage = func(s *Session, data []byte, _ bool) {
		if string(data) == "bad" {
			s.Abort(ReasonParseError)
			assert.Nil(t, s.srv.Session(s.ID()), "removed at once")
			assert.ErrorIs(t, s.Send(Packet{Data: []byte("4x")}), ErrClosed)
		}
	}
	s := newTestServer(t, quietConfig(), rec)
	c := s.handshake()
	c.post("4ok\x1e4bad\x1e4after")
	assert.Equal(t, ReasonParseError, rec.waitClosed(t, c.sid, time.Second))
	assert.Equal(t, []string{"open", "msg:ok", "msg:bad", "close:" + ReasonParseError}, rec.events(c.sid))

	ws, op := s.openWS()
	ws.mustSend("4ok")
	ws.mustSend("4bad")
	ws.send("4after")
	assert.Equal(t, closeNormal, ws.waitClosed(time.Second))
	// The close frame may reach the client before OnClose runs: OnClose
	// waits for OnMessage to return.
	assert.Equal(t, ReasonParseError, rec.waitClosed(t, op.SID, time.Second))
	assert.Equal(t, []string{"open", "msg:ok", "msg:bad", "close:" + ReasonParseError}, rec.events(op.SID))
}

// Shutdown while OnOpen runs: OnClose comes after OnOpen returns, never
// during it (the Socket.IO layer sets Session.Value in OnOpen and reads it
// in OnClose).
func TestOnCloseWaitsForOnOpen(t *testing.T) {
	t.Parallel()
	inOpen := make(chan struct{})
	release := make(chan struct{})
	rec := newRecorder()
	rec.onOpen = func(s *Session) {
		close(inOpen)
		<-release
		s.Value = "set"
	}
	rec.onClose = func(s *Session, _ string) {
		assert.Equal(t, "set", s.Value)
	}
	s := newTestServer(t, quietConfig(), rec)
	hs := make(chan response, 1)
	go func() {
		res, _ := s.do(context.Background(), "GET", "EIO=4&transport=polling", nil, nil)
		hs <- res
	}()
	<-inOpen
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		shut <- s.srv.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(2 * time.Second):
		t.Fatal("Shutdown blocked on OnOpen")
	}
	assert.Equal(t, 0, s.srv.Count())
	time.Sleep(20 * time.Millisecond)
	assert.EqualValues(t, 0, rec.closes.Load(), "OnClose during OnOpen")
	close(release)
	<-hs
	eventually(t, time.Second, func() bool { return rec.closes.Load() == 1 }, "OnClose after OnOpen")
}

// Close called in OnOpen: the client collects a close packet, or the
// session goes after PingTimeout; the first ping must not replace that
// deadline.
func TestCloseInOnOpen(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	rec.onOpen = func(s *Session) {
		s.Send(Packet{Data: []byte("4welcome")})
		s.Close("go away")
	}
	cfg := Config{PingInterval: 2 * time.Second, PingTimeout: 100 * time.Millisecond}
	s := newTestServer(t, cfg, rec)

	c := s.handshake()
	assert.Equal(t, "4welcome", c.get().body)
	assert.Equal(t, "1", c.get().body) // on its own: see servePoll
	assert.Equal(t, "go away", rec.waitClosed(t, c.sid, time.Second))

	// Never polled: gone after PingTimeout, not PingInterval+PingTimeout.
	c = s.handshake()
	start := time.Now()
	assert.Equal(t, "go away", rec.waitClosed(t, c.sid, time.Second))
	assert.Less(t, time.Since(start), time.Second)

	ws, op := s.openWS()
	assert.Equal(t, "4welcome", ws.readText(time.Second))
	assert.Equal(t, closeNormal, ws.waitClosed(time.Second))
	assert.Equal(t, "go away", rec.waitClosed(t, op.SID, time.Second))
}

// OnOpen, OnMessage, OnClose in order, and OnClose exactly once, whoever
// closes first; checked by the recorder at cleanup for every session.
func TestCallbackOrderWhoeverCloses(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func() { // polling: client close, server close, both at once
			defer wg.Done()
			c := s.handshake()
			c.mustPost("4a\x1e4b")
			sess := s.srv.Session(c.sid)
			switch i % 3 {
			case 0:
				c.post("4c\x1e1")
			case 1:
				sess.Close("server")
				// the echoes, then the close packet on its own
				for j := 0; j < 3 && c.get().body != "1"; j++ {
				}
			case 2:
				go sess.Close("server")
				go sess.closeNow("now", false)
				c.post("1")
			}
			s.rec.waitClosed(t, c.sid, 2*time.Second)
		}()
		go func() { // websocket
			defer wg.Done()
			ws, op := s.openWS()
			ws.mustSend("4a")
			sess := s.srv.Session(op.SID)
			switch i % 3 {
			case 0:
				ws.close()
			case 1:
				sess.Close("server")
			case 2:
				go sess.Close("server")
				ws.send("1")
			}
			s.rec.waitClosed(t, op.SID, 2*time.Second)
		}()
	}
	wg.Wait()
	for sid := range s.rec.recs {
		ev := s.rec.events(sid)
		assert.Equal(t, "open", ev[0])
		assert.True(t, strings.HasPrefix(ev[len(ev)-1], "close:"), "%q", ev)
	}
}

// The handler owns data: appending to it must not corrupt the packets that
// follow in the same payload.
func TestMessageDataOwnedByHandler(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var kept [][]byte
	rec := newRecorder()
	rec.onMessage = func(s *Session, data []byte, _ bool) {
		mu.Lock()
		kept = append(kept, data)
		mu.Unlock()
		_ = append(data, "XXXXXXXXXXXX"...) // may write past len
	}
	s := newTestServer(t, quietConfig(), rec)
	c := s.handshake()
	c.mustPost("4one\x1e4two\x1ebAQID\x1e4three")
	assert.Equal(t, []string{"one", "two", "bin:010203", "three"}, rec.messages(c.sid))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, kept, 4)
	assert.Equal(t, "one", string(kept[0]))
	assert.Equal(t, "two", string(kept[1]))
	assert.Equal(t, "three", string(kept[3]))
}
