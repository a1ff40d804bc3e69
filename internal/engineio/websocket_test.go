package engineio

import (
	"bytes"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c, op := s.openWS()
	c.mustSend("4hello")
	c.mustSend("4")
	c.mustSend("4é\x1e✓") // a frame holds one packet: \x1e is data
	require.NoError(t, c.sendBinary([]byte{1, 2, 3, 4}))
	require.NoError(t, c.sendBinary(nil))
	c.mustSend("bAQID") // base64 binary in a text frame, as the parser allows
	c.mustSend("6")     // noop: ignored
	c.mustSend("0")     // open and upgrade outside an upgrade: ignored
	c.mustSend("5")

	want := []clientFrame{
		{data: []byte("4hello")},
		{data: []byte("4")},
		{data: []byte("4é\x1e✓")},
		{data: []byte{1, 2, 3, 4}, binary: true},
		{data: []byte{}, binary: true},
		{data: []byte{1, 2, 3}, binary: true},
	}
	for i, w := range want {
		f := c.read(time.Second)
		assert.Equal(t, w.binary, f.binary, "frame %d", i)
		assert.True(t, bytes.Equal(w.data, f.data), "frame %d: %q, want %q", i, f.data, w.data)
	}
	assert.Equal(t, []string{"hello", "", "é\x1e✓", "bin:01020304", "bin:", "bin:010203"}, s.rec.messages(op.SID))

	// Packets queued together go out one per frame, in order.
	sess := s.srv.Session(op.SID)
	require.NoError(t, sess.Send(Packet{Data: []byte("4a")}, Packet{Data: []byte{9}, Binary: true}, Packet{Data: []byte("4b")}))
	assert.Equal(t, "4a", string(c.read(time.Second).data))
	assert.Equal(t, clientFrame{data: []byte{9}, binary: true}, c.read(time.Second))
	assert.Equal(t, "4b", string(c.read(time.Second).data))
}

func TestHeartbeatWebSocketKeepsAlive(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 400 * time.Millisecond}
	s := newTestServer(t, cfg, nil)
	c, op := s.openWS()
	start := time.Now()
	for pings := 0; pings < 8; {
		f := c.read(time.Second)
		require.Equal(t, "2", string(f.data))
		pings++
		c.mustSend("3")
	}
	assert.GreaterOrEqual(t, time.Since(start), 750*time.Millisecond) // > interval+timeout
	c.mustSend("4alive")
	assert.Equal(t, "4alive", c.readText(time.Second))
	assert.False(t, s.rec.isClosed(op.SID))
}

func TestHeartbeatWebSocketTimeout(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}
	s := newTestServer(t, cfg, nil)
	c, op := s.openWS()
	start := time.Now()
	assert.Equal(t, "2", string(c.read(time.Second).data))
	// Never answer.
	code := -2
	for {
		f, err := c.next(2 * time.Second)
		if err != nil {
			code = c.rc.CloseCode()
			break
		}
		require.Equal(t, "2", string(f.data), "only pings")
	}
	elapsed := time.Since(start)
	assert.Equal(t, closeNormal, code)
	assert.GreaterOrEqual(t, elapsed, 180*time.Millisecond)
	assert.Less(t, elapsed, 2*time.Second) // generous: -race on a loaded machine
	assert.Equal(t, ReasonPingTimeout, s.rec.waitClosed(t, op.SID, time.Second))
}

func TestWebSocketInvalidPackets(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	for _, text := range []string{"abc", "", "\x1e\x1e", "b!!!", "bAQ=DBA==", "2", "7x", "2probe"} {
		t.Run(fmt.Sprintf("%q", text), func(t *testing.T) {
			s := s.with(t)
			c, op := s.openWS()
			c.mustSend("4before")
			c.mustSend(text)
			// The session is aborted: what was queued (the echo) may be
			// dropped, as the reference server does.
			assert.Equal(t, closeNormal, c.waitClosed(2*time.Second))
			assert.Equal(t, ReasonParseError, s.rec.waitClosed(t, op.SID, time.Second))
			assert.Equal(t, []string{"before"}, s.rec.messages(op.SID))
		})
	}
}

func TestWebSocketClosePacket(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c, op := s.openWS()
	c.mustSend("4a")
	c.mustSend("1")
	c.send("4never")
	start := time.Now()
	c.waitClosed(2 * time.Second)
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, op.SID, time.Second))
	assert.Equal(t, []string{"a"}, s.rec.messages(op.SID))
}

func TestWebSocketClientDisconnect(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	// A close frame.
	c, op := s.openWS()
	c.close()
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, op.SID, time.Second))
	// The TCP connection dropped without a close frame.
	c, op = s.openWS()
	c.rc.Conn.Close()
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, op.SID, time.Second))
	assert.Equal(t, 0, s.srv.Count())
}

func TestWebSocketOversize(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.MaxPayload = 100
	s := newTestServer(t, cfg, nil)

	c, op := s.openWS()
	c.mustSend("4" + strings.Repeat("x", 99)) // exactly maxPayload
	assert.Len(t, c.readText(time.Second), 100)
	c.send("4" + strings.Repeat("x", 100))
	assert.Equal(t, closeTooLarge, c.waitClosed(2*time.Second))
	assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, op.SID, time.Second))
	assert.Len(t, s.rec.messages(op.SID), 1)

	c, op = s.openWS()
	c.sendBinary(make([]byte, 101))
	assert.Equal(t, closeTooLarge, c.waitClosed(2*time.Second))
	assert.Equal(t, ReasonTransportError, s.rec.waitClosed(t, op.SID, time.Second))
}

func TestWebSocketGracefulClose(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c, op := s.openWS()
	sess := s.srv.Session(op.SID)
	for i := 0; i < 100; i++ {
		require.NoError(t, sess.Send(Packet{Data: []byte(fmt.Sprintf("4m%d", i))}))
	}
	sess.Close("bye")
	assert.ErrorIs(t, sess.Send(Packet{Data: []byte("4late")}), ErrClosed)
	for i := 0; i < 100; i++ {
		assert.Equal(t, fmt.Sprintf("4m%d", i), c.readText(time.Second))
	}
	assert.Equal(t, closeNormal, c.waitClosed(2*time.Second))
	assert.Equal(t, "bye", s.rec.waitClosed(t, op.SID, time.Second))
}

func TestPollingGracefulClose(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.PingTimeout = 150 * time.Millisecond
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	sess := s.srv.Session(c.sid)
	sess.Send(Packet{Data: []byte("4a")}, Packet{Data: []byte{1}, Binary: true})
	sess.Close("bye")
	sess.Close("again") // idempotent
	assert.ErrorIs(t, sess.Send(Packet{Data: []byte("4late")}), ErrClosed)
	// The close packet comes alone, after the queue: see servePoll.
	assert.Equal(t, "4a\x1ebAQ==", c.get().body)
	assert.Equal(t, "1", c.get().body)
	assert.Equal(t, "bye", s.rec.waitClosed(t, c.sid, time.Second))
	requireError(t, c.get(), 400, codeUnknownSID)

	// Nobody collects: closed after PingTimeout all the same.
	c = s.handshake()
	s.srv.Session(c.sid).Close("bye")
	assert.Equal(t, "bye", s.rec.waitClosed(t, c.sid, time.Second))
	requireError(t, c.get(), 400, codeUnknownSID)
}

// The http.Server's ReadTimeout and WriteTimeout are deadlines on the
// connection, which a hijacked WebSocket keeps: a session must outlive them.
func TestWebSocketOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 400 * time.Millisecond}
	s := newTestServerHTTP(t, cfg, nil, func(ts *httptest.Server) {
		ts.Config.ReadTimeout = 150 * time.Millisecond
		ts.Config.WriteTimeout = 150 * time.Millisecond
	})
	check := func(t *testing.T, c *wsClient, sid string) {
		deadline := time.Now().Add(600 * time.Millisecond)
		for time.Now().Before(deadline) {
			f := c.read(time.Second)
			require.Equal(t, "2", string(f.data))
			c.mustSend("3")
		}
		c.mustSend("4alive")
		assert.Equal(t, "4alive", c.readText(time.Second))
		assert.False(t, s.rec.isClosed(sid))
	}
	t.Run("websocket only", func(t *testing.T) {
		s := s.with(t)
		c, op := s.openWS()
		check(t, c, op.SID)
	})
	t.Run("upgraded", func(t *testing.T) {
		s := s.with(t)
		p := s.handshake()
		assert.Equal(t, "2", p.get().body)
		p.mustPost("3")
		c := p.upgrade()
		check(t, c, p.sid)
	})
}

// pipeListener serves connections made of net.Pipe: no kernel buffer
// between the server and the client, so that a backlog stays in the
// server's queue for as long as the client has not read it.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// A ping must not wait behind a long write queue: a client that reads
// slowly through a backlog, but answers every ping as soon as it sees it,
// stays connected.
func TestPingNotBehindBacklog(t *testing.T) {
	t.Parallel()
	cfg := Config{
		PingInterval:     100 * time.Millisecond,
		PingTimeout:      300 * time.Millisecond,
		MaxBufferedBytes: 4 << 20,
	}
	pl := newPipeListener()
	s := newTestServerHTTP(t, cfg, nil, func(ts *httptest.Server) {
		ts.Listener = pl
	})
	wscfg, err := websocket.NewConfig("ws://pipe/engine.io/?EIO=4&transport=websocket", testOrigin)
	require.NoError(t, err)
	cli, srv := net.Pipe()
	pl.conns <- srv
	rc := &recConn{Conn: cli}
	ws, err := websocket.NewClient(wscfg, rc)
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	c := &wsClient{t: t, ws: ws, rc: rc}
	op := parseOpen(t, string(c.read(time.Second).data))

	sess := s.srv.Session(op.SID)
	msg := Packet{Data: []byte("4" + strings.Repeat("z", 1023))}
	const n = 600
	for i := 0; i < n; i++ {
		require.NoError(t, sess.Send(msg))
	}
	// Over half a second of reading at 1 ms per message, during which the
	// backlog is never empty: pings must cut in.
	got, pings := 0, 0
	for got < n {
		f, err := c.next(2 * time.Second)
		require.NoError(t, err, "after %d messages and %d pings; events %q", got, pings, s.rec.events(op.SID))
		if string(f.data) == "2" {
			pings++
			c.mustSend("3")
			continue
		}
		got++
		time.Sleep(time.Millisecond)
	}
	assert.False(t, s.rec.isClosed(op.SID), "closed: %q", s.rec.events(op.SID))
	assert.GreaterOrEqual(t, pings, 3)
}
