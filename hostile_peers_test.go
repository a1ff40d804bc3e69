package socketio

// Hostile peers: classes 5 (slow and dead peers) and 6 (upgrade races).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// fastPings make the heartbeat a matter of milliseconds.
var fastPings = Config{PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond}

// Class 5: a client that stops answering pings is disconnected with reason
// "ping timeout" on both transports.
func TestHostileNoPongs(t *testing.T) {
	rs := newRawServer(t, fastPings, nil)
	w := rs.healthy(tWebSocket) // answers pings in Next: keep it busy below

	ws, err := rs.openWS("")
	require.NoError(t, err)
	wsID := connect(t, ws, "/", "")
	pc, err := rs.openPolling()
	require.NoError(t, err)
	pcID := connect(t, pc, "/", "")

	// The WebSocket client reads (and sees the pings) but never answers.
	go func() {
		for {
			var f frame
			if wsCodec.Receive(ws.ws, &f) != nil {
				return
			}
		}
	}()
	// The polling client collects one ping and never answers.
	res := rs.mustDo("GET", pc.query(), "", nil)
	require.Equal(t, "2", res.body)

	deadline := time.Now().Add(5 * time.Second)
	got := map[string]string{}
	for len(got) < 2 && time.Now().Before(deadline) {
		w.check() // the healthy one keeps answering its pings meanwhile
		for _, id := range []string{wsID, pcID} {
			select {
			case r := <-rs.reason(id):
				got[id] = r
			default:
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, map[string]string{wsID: ReasonPingTimeout, pcID: ReasonPingTimeout}, got)
	rs.waitConns(1, 5*time.Second)
	w.check()
}

// Class 5: a peer that vanished (half-open TCP: it neither reads nor
// writes) while the server writes to it. The writer must not stay blocked:
// the queue overflows or the heartbeat gives up, and everything is released.
func TestHostileHalfOpen(t *testing.T) {
	cfg := Config{PingInterval: 200 * time.Millisecond, PingTimeout: 300 * time.Millisecond, MaxBufferedBytes: 256 << 10}
	rs := newRawServer(t, cfg, nil)
	w := rs.healthy(tPolling)
	for _, overflow := range []bool{true, false} {
		c, err := rs.openWS("")
		require.NoError(t, err)
		id := connect(t, c, "/", "")
		so := rs.srv.Of("/").Socket(id)
		big := strings.Repeat("x", 16<<10)
		n := 0
		if overflow {
			// Writes until the kernel buffers are full, then the queue.
			for so.Emit("big", big) == nil && n < 10000 {
				n++
			}
			require.Less(t, n, 10000, "queue never overflowed")
			require.Equal(t, ReasonQueueOverflow, rs.waitReason(id, 5*time.Second))
		} else {
			require.NoError(t, so.Emit("big", big))
			require.Equal(t, ReasonPingTimeout, rs.waitReason(id, 5*time.Second))
		}
		rs.waitConns(1, 5*time.Second)
		w.check()
	}
}

// Class 5: during a 10k msg/s broadcast a client reading a byte at a time
// is disconnected once its queue exceeds MaxBufferedBytes; the broadcaster
// never waits for it and the other clients get every message, in order,
// promptly.
func TestHostileSlowReaderDuringBroadcast(t *testing.T) {
	if testing.Short() {
		t.Skip("a second of broadcasting")
	}
	cfg := Config{MaxBufferedBytes: 256 << 10}
	rs := newRawServerOpts(t, cfg, nil, serverOpts{sendBuffer: 32 << 10})
	ns := rs.srv.Of("/")

	// The slow client: a tiny receive buffer, one byte every 100 ms.
	d := net.Dialer{Control: smallReceiveBuffer}
	conn, err := d.Dial("tcp", rs.ts.Listener.Addr().String())
	require.NoError(t, err)
	wcfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(rs.url, "http")+"?EIO=4&transport=websocket", rs.ts.URL)
	require.NoError(t, err)
	slowWS, err := websocket.NewClient(wcfg, conn)
	require.NoError(t, err)
	defer slowWS.Close()
	var open frame
	require.NoError(t, wsCodec.Receive(slowWS, &open))
	require.NoError(t, wsCodec.Send(slowWS, frame{text: "40"}))
	var connected frame
	require.NoError(t, wsCodec.Receive(slowWS, &connected))
	var reply struct{ SID string }
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(connected.text, "40")), &reply))
	slowID := reply.SID
	stopSlow := make(chan struct{})
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		b := make([]byte, 1)
		for {
			select {
			case <-stopSlow:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Read(b); err != nil {
				return
			}
		}
	}()
	defer func() { close(stopSlow); conn.Close(); <-slowDone }()

	// Fast clients on both transports, reading as fast as they can, until
	// the "end" event.
	const most = 40000 // 4 s at most
	sent := make([]time.Time, most)
	var sentMu sync.Mutex
	type fastResult struct {
		transport string
		got       int
		maxLag    time.Duration
		err       error
	}
	results := make(chan fastResult, 2)
	for _, tr := range transports {
		c := rs.open(tr)
		connect(t, c, "/", "")
		go func(tr string, c eioClient) {
			r := fastResult{transport: tr}
			defer func() { results <- r }()
			for {
				f, err := c.Next(10 * time.Second)
				if err != nil {
					r.err = err
					return
				}
				if f.text == `42["end"]` {
					return
				}
				if !strings.HasPrefix(f.text, `42["tick",`) {
					continue
				}
				num, _, _ := strings.Cut(strings.TrimPrefix(f.text, `42["tick",`), ",")
				i, err := strconv.Atoi(num)
				if err != nil || i != r.got {
					r.err = fmt.Errorf("got %q, want tick %d", f.text, r.got)
					return
				}
				sentMu.Lock()
				lag := time.Since(sent[i])
				sentMu.Unlock()
				r.maxLag = max(r.maxLag, lag)
				r.got++
			}
		}(tr, c)
	}

	// 10k messages a second, in batches of 100 every 10 ms, for at least a
	// second and until the slow client is cut off.
	var (
		maxEmit  time.Duration
		n        int
		slowGone bool
	)
	start := time.Now()
	pad := strings.Repeat("p", 50)
	for ; n < most && (n < 10000 || !slowGone); n++ {
		if n%100 == 0 {
			time.Sleep(time.Until(start.Add(time.Duration(n/100) * 10 * time.Millisecond)))
			select {
			case r := <-rs.reason(slowID):
				require.Equal(t, ReasonQueueOverflow, r)
				slowGone = true
			default:
			}
		}
		sentMu.Lock()
		sent[n] = time.Now()
		sentMu.Unlock()
		t0 := time.Now()
		require.NoError(t, ns.Emit("tick", n, pad))
		maxEmit = max(maxEmit, time.Since(t0))
	}
	elapsed := time.Since(start)
	require.True(t, slowGone, "the slow client was never cut off")
	require.NoError(t, ns.Emit("end"))
	for range transports {
		r := <-results
		require.NoError(t, r.err, r.transport)
		require.Equal(t, n, r.got, r.transport)
		t.Logf("%s: %d messages, max lag %v", r.transport, r.got, r.maxLag)
		require.Less(t, r.maxLag, 2*time.Second, "%s: lag", r.transport)
	}
	t.Logf("broadcast of %d messages took %v, slowest Emit %v", n, elapsed, maxEmit)
	// Waiting for the slow client would take the write timeout (15 s here);
	// a loaded machine may pause anyone for a fraction of a second.
	require.Less(t, maxEmit, 2*time.Second, "an Emit waited for a client")
	rs.waitConns(2, 5*time.Second)
}

// Class 5: a polling client that never GETs: emits fill its queue until it
// is disconnected; with nothing to send, the uncollected ping ends it.
func TestHostilePollingNeverGets(t *testing.T) {
	// The healthy client must answer every ping within PingTimeout too:
	// 200ms was too little once in CI, with every package's tests (and
	// Chromium) running at once under -race.
	rs := newRawServer(t, Config{PingInterval: 200 * time.Millisecond, PingTimeout: time.Second, MaxBufferedBytes: 64 << 10}, nil)
	w := rs.healthy(tWebSocket)

	c, err := rs.openPolling()
	require.NoError(t, err)
	id := connect(t, c, "/", "")
	so := rs.srv.Of("/").Socket(id)
	var emitErr error
	for i := 0; i < 1000 && emitErr == nil; i++ {
		emitErr = so.Emit("data", strings.Repeat("y", 1024))
	}
	require.ErrorIs(t, emitErr, ErrQueueOverflow)
	require.Equal(t, ReasonQueueOverflow, rs.waitReason(id, 5*time.Second))

	c, err = rs.openPolling()
	require.NoError(t, err)
	id = connect(t, c, "/", "")
	require.Equal(t, ReasonPingTimeout, rs.waitReason(id, 5*time.Second))

	rs.waitConns(1, 5*time.Second)
	w.check()
}

// Class 5: two GETs at once on one session: the second gets 400, the
// session closes, the first is answered with a close packet.
func TestHostileDuplicateGets(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	w := rs.healthy(tWebSocket)
	c, err := rs.openPolling()
	require.NoError(t, err)
	id := connect(t, c, "/", "")

	first := make(chan httpResult, 1)
	go func() {
		res, _ := rs.do(context.Background(), "GET", c.query(), nil, nil)
		first <- res
	}()
	time.Sleep(200 * time.Millisecond) // the first GET is waiting by now
	res := rs.mustDo("GET", c.query(), "", nil)
	require.Equal(t, 3, engineError(t, res, 400))
	require.Equal(t, ReasonTransportError, rs.waitReason(id, 5*time.Second))
	select {
	case r := <-first:
		require.Equal(t, 200, r.status)
		require.Equal(t, "1", r.body)
	case <-time.After(5 * time.Second):
		t.Fatal("first GET never answered")
	}
	rs.waitConns(1, 5*time.Second)
	w.check()
}

// Class 5: 100 goroutines emitting to one socket at once: every message
// arrives once, each goroutine's in order.
func TestHostileConcurrentEmitters(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, Config{}, nil)
			c := rs.open(tr)
			so := rs.srv.Of("/").Socket(connect(t, c, "/", ""))
			const goroutines, each = 100, 20
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						so.Emit("m", g, i, []byte{byte(g), byte(i)})
					}
				}()
			}
			next := make([]int, goroutines)
			for n := 0; n < goroutines*each; n++ {
				f, err := c.Next(10 * time.Second)
				require.NoError(t, err, "after %d messages", n)
				var g, i int
				_, err = fmt.Sscanf(f.text, `451-["m",%d,%d,`, &g, &i)
				require.NoError(t, err, "%q", f.text)
				require.Equal(t, next[g], i, "goroutine %d out of order", g)
				next[g]++
				att, err := c.Next(10 * time.Second)
				require.NoError(t, err)
				require.Equal(t, []byte{byte(g), byte(i)}, att.binary, "attachment of %q", f.text)
			}
			wg.Wait()
		})
	}
}

// ---------------------------------------------------------------------------
// Class 6: upgrade races

// upgradeWS opens the WebSocket of an upgrade for polling client c and
// completes the probe (2probe, 3probe); the caller sends "5".
func (rs *rawServer) probeWS(t *testing.T, c *pollClient) *wsClient {
	t.Helper()
	ws, status, err := rs.dialWS("EIO=4&transport=websocket&sid="+c.SID(), "")
	require.NoError(t, err, "status %d", status)
	ws.sid = c.SID()
	require.NoError(t, ws.SendText("2probe"))
	f, err := ws.Next(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, "3probe", f.text)
	return ws
}

// Messages queued during the upgrade: none lost, none duplicated, in order.
func TestHostileUpgradeUnderLoad(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	w := rs.healthy(tWebSocket)
	c, err := rs.openPolling()
	require.NoError(t, err)
	so := rs.srv.Of("/").Socket(connect(t, c, "/", ""))

	const total = 3000
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		for i := range total {
			so.Emit("seq", i)
			if i%50 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	var got []int
	record := func(f frame) {
		if strings.HasPrefix(f.text, `42["seq",`) {
			i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f.text, `42["seq",`), "]"))
			require.NoError(t, err)
			got = append(got, i)
		}
	}
	// Some messages over polling first.
	for len(got) < 100 {
		f, err := c.Next(5 * time.Second)
		require.NoError(t, err)
		record(f)
	}
	c.mu.Lock()
	for _, f := range c.pending { // the rest of the last GET
		record(f)
	}
	c.pending = nil
	c.mu.Unlock()
	ws := rs.probeWS(t, c)
	// As socket.io-client pauses polling: the poll in flight completes (the
	// server answers it at once, with what is queued or a noop), no new
	// one starts, then 5. What is queued meanwhile goes over WebSocket.
	res := rs.mustDo("GET", c.query(), "", nil)
	require.Equal(t, 200, res.status, res.body)
	for _, rec := range strings.Split(res.body, "\x1e") {
		record(frame{text: rec})
	}
	require.NoError(t, ws.SendText("5"))
	for len(got) < total {
		f, err := ws.Next(10 * time.Second)
		require.NoError(t, err, "after %d messages", len(got))
		record(f)
	}
	<-emitted
	for i, v := range got {
		require.Equal(t, i, v, "message %d", i)
	}
	// Polling on an upgraded session is refused.
	require.Equal(t, 3, engineError(t, rs.mustDo("GET", c.query(), "", nil), 400))
	echo(t, ws, 1, `"upgraded"`)
	w.check()
}

// Upgrades that go wrong leave the session on polling, working.
func TestHostileUpgradeFailures(t *testing.T) {
	rs := newRawServer(t, Config{UpgradeTimeout: 300 * time.Millisecond}, nil)
	w := rs.healthy(tWebSocket)

	newClient := func() *pollClient {
		c, err := rs.openPolling()
		require.NoError(t, err)
		connect(t, c, "/", "")
		return c
	}
	pollWorks := func(c *pollClient) {
		t.Helper()
		echo(t, c, 7, `"still polling"`)
	}

	t.Run("never sends 5", func(t *testing.T) {
		c := newClient()
		ws := rs.probeWS(t, c)
		waitClosed(t, ws, 5*time.Second) // dropped after UpgradeTimeout
		pollWorks(c)
	})
	t.Run("never probes", func(t *testing.T) {
		c := newClient()
		ws, _, err := rs.dialWS("EIO=4&transport=websocket&sid="+c.SID(), "")
		require.NoError(t, err)
		waitClosed(t, ws, 5*time.Second)
		pollWorks(c)
	})
	t.Run("websocket dies mid-upgrade", func(t *testing.T) {
		c := newClient()
		ws := rs.probeWS(t, c)
		ws.Close()
		pollWorks(c)
	})
	t.Run("garbage instead of 5", func(t *testing.T) {
		c := newClient()
		ws := rs.probeWS(t, c)
		require.NoError(t, ws.SendText(`42["echo"]`))
		waitClosed(t, ws, 5*time.Second)
		pollWorks(c)
	})
	t.Run("two upgrades for one sid", func(t *testing.T) {
		c := newClient()
		ws1 := rs.probeWS(t, c)
		ws2, _, err := rs.dialWS("EIO=4&transport=websocket&sid="+c.SID(), "")
		require.NoError(t, err)
		waitClosed(t, ws2, 5*time.Second)
		require.NoError(t, ws1.SendText("5"))
		echo(t, ws1, 8, `"upgraded"`)
		// A third WebSocket for the upgraded session is closed too.
		ws3, _, err := rs.dialWS("EIO=4&transport=websocket&sid="+c.SID(), "")
		if err == nil {
			waitClosed(t, ws3, 5*time.Second)
		}
		echo(t, ws1, 9, `"still upgraded"`)
		ws1.SendText("1")
	})
	rs.waitConns(1+4, 5*time.Second) // the four polling clients are still open
	w.check()
}

// Shutdown while an upgrade is half done closes both transports and
// leaks nothing.
func TestHostileShutdownDuringUpgrade(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	c, err := rs.openPolling()
	require.NoError(t, err)
	id := connect(t, c, "/", "")
	ws := rs.probeWS(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rs.srv.Shutdown(ctx) }()
	// The polling side collects its goodbye; the probing WebSocket is cut.
	var recs []string
	for {
		res, err := rs.do(context.Background(), "GET", c.query(), nil, nil)
		require.NoError(t, err)
		if res.status != 200 {
			break
		}
		recs = append(recs, strings.Split(res.body, "\x1e")...)
		if recs[len(recs)-1] == "1" {
			break
		}
	}
	require.Contains(t, recs, "1", "the close packet")
	require.NotContains(t, recs, "41", "no namespace disconnect on shutdown")
	waitClosed(t, ws, 5*time.Second)
	require.NoError(t, <-done)
	require.Equal(t, ReasonServerShutdown, rs.waitReason(id, time.Second))
	require.Equal(t, 0, rs.srv.ConnectionCount())
}
