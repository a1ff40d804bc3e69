package engineio

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (s *testServer) transportOf(sid string) string {
	if sess := s.srv.Session(sid); sess != nil {
		return sess.Transport()
	}
	return ""
}

// probe opens a WebSocket for the polling session and exchanges 2probe and
// 3probe.
func (c *pollClient) probe() *wsClient {
	c.t.Helper()
	ws := c.s.mustDialWS("EIO=4&transport=websocket&sid=" + c.sid)
	ws.mustSend("2probe")
	f := ws.read(2 * time.Second)
	require.Equal(c.t, "3probe", string(f.data))
	require.False(c.t, f.binary)
	return ws
}

// upgrade runs the whole upgrade with no GET pending.
func (c *pollClient) upgrade() *wsClient {
	c.t.Helper()
	ws := c.probe()
	ws.mustSend("5")
	eventually(c.t, 2*time.Second, func() bool { return c.s.transportOf(c.sid) == WebSocket }, "upgraded")
	return ws
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	c.mustPost("4before")
	assert.Equal(t, "4before", c.get().body)

	// A GET waits; the probe answers it with a noop, promptly.
	sess := s.srv.Session(c.sid)
	got := c.getPending()
	start := time.Now()
	ws := c.probe()
	select {
	case res := <-got:
		assert.Equal(t, 200, res.status)
		assert.Equal(t, "6", res.body)
		assert.Less(t, time.Since(start), time.Second)
	case <-time.After(2 * time.Second):
		t.Fatal("pending GET not answered during the upgrade")
	}
	assert.Equal(t, Polling, sess.Transport(), "not before 5")
	ws.mustSend("5")
	eventually(t, time.Second, func() bool { return sess.Transport() == WebSocket }, "upgraded")

	// Traffic goes over the WebSocket now, both ways.
	ws.mustSend("4after")
	assert.Equal(t, "4after", ws.readText(time.Second))
	require.NoError(t, ws.sendBinary([]byte{7}))
	assert.Equal(t, clientFrame{data: []byte{7}, binary: true}, ws.read(time.Second))
	assert.Equal(t, []string{"before", "after", "bin:07"}, s.rec.messages(c.sid))

	// Polling on the session is refused, without closing it.
	requireError(t, c.get(), 400, codeBadRequest)
	requireError(t, c.post("4x"), 400, codeBadRequest)

	// A second WebSocket for the session is closed.
	ws2 := s.mustDialWS("EIO=4&transport=websocket&sid=" + c.sid)
	ws2.send("2probe")
	ws2.waitClosed(2 * time.Second)

	ws.mustSend("4still")
	assert.Equal(t, "4still", ws.readText(time.Second))
	assert.False(t, s.rec.isClosed(c.sid))
	assert.Equal(t, []string{"before", "after", "bin:07", "still"}, s.rec.messages(c.sid))
}

func TestUpgradeHeartbeat(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 100 * time.Millisecond, PingTimeout: 400 * time.Millisecond}
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	recs := c.getPackets(true)
	require.Equal(t, []string{"2"}, recs)
	ws := c.upgrade()
	start := time.Now()
	for pings := 0; pings < 6; {
		f := ws.read(time.Second)
		require.Equal(t, "2", string(f.data))
		ws.mustSend("3")
		pings++
	}
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond)
	assert.False(t, s.rec.isClosed(c.sid))

	// And it times out over the WebSocket too.
	assert.Equal(t, "2", string(ws.read(time.Second).data))
	ws.waitClosedSilently(2 * time.Second)
	assert.Equal(t, ReasonPingTimeout, s.rec.waitClosed(t, c.sid, time.Second))
}

// waitClosedSilently reads until the server closes, answering nothing.
func (c *wsClient) waitClosedSilently(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := c.next(time.Until(deadline)); err != nil {
			require.False(c.t, time.Now().After(deadline), "still open after %v", timeout)
			return
		}
	}
}

// A client that probes but never sends 5: only the WebSocket is dropped,
// after upgradeTimeout; polling goes on.
func TestUpgradeTimeout(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.UpgradeTimeout = 150 * time.Millisecond
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	start := time.Now()
	ws := c.probe()
	ws.waitClosedSilently(2 * time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 140*time.Millisecond)
	assert.Equal(t, Polling, s.transportOf(c.sid))
	assert.False(t, s.rec.isClosed(c.sid))
	c.mustPost("4still polling")
	assert.Equal(t, "4still polling", c.get().body)

	// The session can try again.
	ws = c.upgrade()
	ws.mustSend("4ws")
	assert.Equal(t, "4ws", ws.readText(time.Second))
}

// Probes that go wrong drop the WebSocket and leave polling alone.
func TestUpgradeAborted(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	s := newTestServer(t, cfg, nil)
	for name, steps := range map[string][]string{
		"message in probe":    {"2probe", "<3probe", "4hello", "5"},
		"garbage":             {"abc"},
		"bad probe":           {"2prob"},
		"close in probe":      {"2probe", "<3probe", "1"},
		"ws dies after probe": {"2probe", "<3probe", "!close"},
		"ws dies at once":     {"!close"},
	} {
		t.Run(name, func(t *testing.T) {
			s := s.with(t)
			c := s.handshake()
			ws := s.mustDialWS("EIO=4&transport=websocket&sid=" + c.sid)
			for _, st := range steps {
				switch {
				case st == "!close":
					ws.rc.Conn.Close()
				case strings.HasPrefix(st, "<"):
					assert.Equal(t, st[1:], string(ws.read(time.Second).data))
				default:
					ws.send(st)
				}
			}
			if steps[len(steps)-1] != "!close" {
				ws.waitClosedSilently(2 * time.Second)
			}
			eventually(t, time.Second, func() bool {
				sess := s.srv.Session(c.sid)
				if sess == nil {
					return false
				}
				sess.mu.Lock()
				defer sess.mu.Unlock()
				return !sess.upgrading
			}, "probe over")
			assert.Equal(t, Polling, s.transportOf(c.sid))
			c.mustPost("4ok")
			assert.Equal(t, "4ok", c.get().body)
			assert.Equal(t, []string{"ok"}, s.rec.messages(c.sid))
		})
	}
}

// Two WebSockets probing one session at once: the second is closed, the
// first completes.
func TestUpgradeTwice(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	ws1 := c.probe()
	ws2 := s.mustDialWS("EIO=4&transport=websocket&sid=" + c.sid)
	ws2.send("2probe")
	ws2.waitClosedSilently(2 * time.Second)
	ws1.mustSend("5")
	eventually(t, time.Second, func() bool { return s.transportOf(c.sid) == WebSocket }, "upgraded")
	ws1.mustSend("4one")
	assert.Equal(t, "4one", ws1.readText(time.Second))
}

// A WebSocket for a session opened over WebSocket is closed.
func TestUpgradeOfWebSocketSession(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	ws, op := s.openWS()
	ws2 := s.mustDialWS("EIO=4&transport=websocket&sid=" + op.SID)
	ws2.send("2probe")
	ws2.waitClosedSilently(2 * time.Second)
	ws.mustSend("4fine")
	assert.Equal(t, "4fine", ws.readText(time.Second))
	requireError(t, s.mustDo("GET", "EIO=4&transport=polling&sid="+op.SID, "", nil), 400, codeBadRequest)
}

// Messages sent while the upgrade happens arrive exactly once and in
// order, whichever transport carries them; the client behaves like
// engine.io-client: it polls until the probe succeeds, waits for the
// pending poll to return, then sends 5.
func TestUpgradeMessagesExactlyOnce(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	var wg sync.WaitGroup
	for run := 0; run < 4; run++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			upgradeUnderLoad(t, s, run)
		}()
	}
	wg.Wait()
}

func upgradeUnderLoad(t *testing.T, s *testServer, run int) {
	const n = 1000
	c := s.handshake()
	sess := s.srv.Session(c.sid)
	require.NotNil(t, sess)

	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; i < n; i++ {
			if err := sess.Send(Packet{Data: []byte("4" + strconv.Itoa(i))}); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			if i%(50+run*20) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()

	var mu sync.Mutex
	var got []string
	add := func(recs []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			if strings.HasPrefix(r, "4") {
				got = append(got, r[1:])
			}
		}
	}
	// Poll until paused.
	var paused sync.WaitGroup
	pause := make(chan struct{})
	paused.Add(1)
	go func() {
		defer paused.Done()
		for {
			select {
			case <-pause:
				return
			default:
			}
			res, err := c.getCtx(context.Background())
			if err != nil || res.status != 200 {
				t.Errorf("poll: %v %d %q", err, res.status, res.body)
				return
			}
			add(splitPayload(res.body))
		}
	}()
	time.Sleep(time.Duration(run) * 3 * time.Millisecond)
	ws := c.probe()
	close(pause)
	paused.Wait() // the last poll returned: what it carried is in got
	require.NoError(t, ws.send("5"))

	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		have := len(got)
		mu.Unlock()
		if have >= n {
			break
		}
		f, err := ws.next(time.Until(deadline))
		require.NoError(t, err, "have %d of %d", have, n)
		add([]string{string(f.data)})
	}
	<-sent
	// Nothing more arrives (no duplicates after the last one).
	frames, err := ws.drain(50 * time.Millisecond)
	require.NoError(t, err)
	for _, f := range frames {
		add([]string{string(f.data)})
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, n)
	for i, m := range got {
		if m != strconv.Itoa(i) {
			t.Fatalf("run %d: message %d is %q; around it: %q", run, i, m, got[max(0, i-3):min(len(got), i+3)])
		}
	}
}

func TestShutdownDuringUpgrade(t *testing.T) {
	t.Parallel()
	cfg := quietConfig()
	cfg.PingTimeout = 200 * time.Millisecond
	s := newTestServer(t, cfg, nil)
	c := s.handshake()
	ws := c.probe()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done <- s.srv.Shutdown(ctx)
	}()
	ws.send("5")
	ws.waitClosedSilently(2 * time.Second)
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, c.sid, time.Second))
	requireError(t, c.get(), 400, codeUnknownSID)
	_ = fmt.Sprint()
}

// A GET that arrives after 3probe, when the client's 5 is already on its way
// over the WebSocket (the official suite sends 5 and then polls at once):
// the 5 may be read after the GET, and the GET is then refused like any
// poll after the upgrade, rather than answered with a noop.
func TestPollRacingUpgradePacket(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	ws := c.probe()
	got := c.getPending()
	ws.mustSend("5")
	requireError(t, <-got, 400, codeBadRequest)
	ws.mustSend("4hello")
	assert.Equal(t, "4hello", ws.readText(time.Second))
	assert.False(t, s.rec.isClosed(c.sid))

	// Without a 5, such a GET gets its noop after a short grace, and
	// polling goes on.
	c = s.handshake()
	ws = c.probe()
	start := time.Now()
	res := c.get()
	assert.Equal(t, "6", res.body)
	assert.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond) // probeGrace
	ws.close()
	c.mustPost("4still")
	assert.Equal(t, "4still", c.get().body)
}

// x/net keeps a WebSocket's request for the connection's lifetime. After an
// upgrade the session keeps the request it was opened with, and x/net's
// copy of the upgrade request holds no headers, URL or TLS state: one set
// of headers per session, as for a WebSocket-only session.
func TestUpgradeKeepsOneRequest(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	c.upgrade()
	sess := s.srv.Session(c.sid)
	require.NotNil(t, sess)

	sess.mu.Lock()
	xr := sess.ws.Request()
	sess.mu.Unlock()
	require.NotNil(t, xr, "x/net tells server connections by their request")
	assert.Nil(t, xr.Header)
	assert.Nil(t, xr.URL)
	assert.Nil(t, xr.TLS)
	assert.Equal(t, "GET", xr.Method)
	assert.NotEmpty(t, xr.RemoteAddr)

	// The session's own request is the polling handshake's, whole.
	assert.Equal(t, "polling", sess.Request().URL.Query().Get("transport"))
	assert.NotEmpty(t, sess.Request().Header.Get("User-Agent"))

	// A WebSocket-only session shares its one request with x/net.
	_, op := s.openWS()
	ws := s.srv.Session(op.SID)
	require.NotNil(t, ws)
	// The open packet is written before the session takes the WebSocket
	// as its transport.
	eventually(t, 2*time.Second, func() bool {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		if ws.ws == nil {
			return false
		}
		xr = ws.ws.Request()
		return true
	}, "WebSocket attached")
	assert.Same(t, ws.Request(), xr)
	assert.Equal(t, "websocket", xr.URL.Query().Get("transport"))
}

// A 5 with no probe before it completes the upgrade, as on the reference
// server: a pending GET answers noop, what was queued goes to the
// WebSocket, and polling is refused from then on.
func TestUpgradeWithoutProbe(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	c := s.handshake()
	sess := s.srv.Session(c.sid)
	got := c.getPending()
	ws := s.mustDialWS("EIO=4&transport=websocket&sid=" + c.sid)
	ws.mustSend("5")
	select {
	case res := <-got:
		assert.Equal(t, 200, res.status)
		assert.Equal(t, "6", res.body)
	case <-time.After(2 * time.Second):
		t.Fatal("pending GET not answered by the upgrade")
	}
	eventually(t, time.Second, func() bool { return sess.Transport() == WebSocket }, "upgraded")
	require.NoError(t, sess.Send(Packet{Data: []byte("4queued")}))
	assert.Equal(t, "4queued", ws.readText(time.Second))
	ws.mustSend("4after")
	s.rec.waitMessages(t, c.sid, 1, time.Second)
	assert.Equal(t, []string{"after"}, s.rec.messages(c.sid))
	requireError(t, c.get(), 400, codeBadRequest)
}

// A WebSocket asked for with transport=polling is refused (the reference
// server closes it): no session is opened for it, and the session it
// names is left alone, not served a poll that the client would abandon.
func TestWebSocketWithPollingTransport(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	start := time.Now()
	_, status, err := s.dialWS("EIO=4&transport=polling", testOrigin)
	require.Error(t, err)
	assert.Equal(t, 400, status)
	assert.Equal(t, 0, s.srv.Count())

	c := s.handshake()
	_, status, err = s.dialWS("EIO=4&transport=polling&sid="+c.sid, testOrigin)
	require.Error(t, err)
	assert.Equal(t, 400, status)
	assert.Less(t, time.Since(start), time.Second)
	time.Sleep(50 * time.Millisecond)
	require.NotNil(t, s.srv.Session(c.sid))
	c.mustPost("4still")
	assert.Equal(t, "4still", c.get().body)
	assert.Equal(t, Polling, s.transportOf(c.sid))
}
