package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSoak runs 10,000 connect/emit/disconnect cycles over both transports,
// a fair share of them misbehaving (vanishing, garbage, oversize, binary
// buffers that never come, acknowledgements never answered...), while the
// server broadcasts to everyone. Afterwards the goroutines, the heap in use
// and the session map are back to where they started, and a client that
// stayed connected throughout still works. Skipped with -short.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: a minute of load")
	}
	const cycles = 10_000
	workers := 16
	cfg := Config{
		// Short, to reap vanished clients quickly; not so short that a
		// polling client of a loaded machine misses its pong.
		PingInterval: 500 * time.Millisecond,
		PingTimeout:  2 * time.Second,
		// A client of a loaded machine (CI runs every package's tests
		// at once, under -race) can take over a second between its
		// handshake and its CONNECT: with 1s, one in 10,000 was cut.
		ConnectTimeout: 3 * time.Second,
		UpgradeTimeout: 5 * time.Second,
		MaxPayload:     64 << 10,
	}
	var serverAcks, serverAckTimeouts atomic.Int64
	rs := newRawServer(t, cfg, func(srv *Server) {
		ns := srv.Of("/")
		ns.OnConnect(func(s *Socket) {
			s.Join("lobby")
			// Ask the client something; misbehaving ones never answer.
			go func() {
				ctx, cancel := context.WithTimeout(s.Context(), 300*time.Millisecond)
				defer cancel()
				if _, err := s.EmitWithAck(ctx, "question", 42); err == nil {
					serverAcks.Add(1)
				} else {
					serverAckTimeouts.Add(1)
				}
			}()
		})
		ns.OnEvent("join", func(s *Socket, a Args, ack Ack) {
			var rooms []string
			if a.Decode(0, &rooms) == nil {
				s.Join(rooms...)
			}
		})
		ns.OnEvent("shout", func(s *Socket, a Args, ack Ack) {
			s.To("lobby").Emit("shout", a.Slice()...)
		})
		srv.OfFunc(func(name string, _ json.RawMessage) bool { return strings.HasPrefix(name, "/room-") })
	})
	rs.untracked = true
	w := rs.healthy(tWebSocket)

	before := soakFigures(rs)
	t.Logf("before: %s", before)

	// The server broadcasts to the lobby all along.
	stopTicks := make(chan struct{})
	ticksDone := make(chan struct{})
	go func() {
		defer close(ticksDone)
		for i := 0; ; i++ {
			select {
			case <-stopTicks:
				return
			case <-time.After(5 * time.Millisecond):
			}
			rs.srv.Of("/").To("lobby").Emit("tick", i)
		}
	}()

	var (
		next     atomic.Int64
		outcomes sync.Map // kind -> *atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
	)
	count := func(kind string) {
		v, _ := outcomes.LoadOrStore(kind, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(g) + 1))
			for {
				i := next.Add(1) - 1
				if i >= cycles {
					return
				}
				kind, err := soakCycle(rs, rnd, int(i))
				count(kind)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Errorf("cycle %d (%s): %w", i, kind, err))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopTicks)
	<-ticksDone

	var kinds []string
	outcomes.Range(func(k, v any) bool {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("%d cycles by %d clients in %v (%.0f/s): %s; server acks answered %d, timed out %d",
		cycles, workers, elapsed.Round(time.Millisecond), float64(cycles)/elapsed.Seconds(),
		strings.Join(kinds, " "), serverAcks.Load(), serverAckTimeouts.Load())
	if err, _ := firstErr.Load().(error); err != nil {
		t.Errorf("%d cycles went wrong; the first: %v", failures.Load(), err)
	}

	// Vanished clients are reaped by the heartbeat; then all is as before.
	rs.waitConns(before.sessions, 10*time.Second)
	rs.hc.CloseIdleConnections()
	rs.mu.Lock()
	rs.reasons, rs.errs = map[string]chan string{}, nil // the test's own records
	rs.mu.Unlock()
	var after figures
	deadline := time.Now().Add(15 * time.Second)
	for {
		after = soakFigures(rs)
		if after.goroutines <= before.goroutines+2 && after.heap <= before.heap+8<<20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("after:  %s", after)
	require.Equal(t, before.sessions, after.sessions, "sessions")
	require.Equal(t, before.namespaces, after.namespaces, "namespaces")
	require.Equal(t, before.rooms, after.rooms, "rooms of /")
	require.LessOrEqual(t, after.goroutines, before.goroutines+2, "goroutines")
	require.LessOrEqual(t, after.heap, before.heap+8<<20, "heap in use")
	require.Zero(t, rs.srv.connecting.Load(), "connecting")
	w.check()
}

type figures struct {
	goroutines int
	heap       uint64
	sessions   int
	namespaces int
	rooms      int
}

func (f figures) String() string {
	return fmt.Sprintf("%d goroutines, %.1f MiB heap in use, %d sessions, %d namespaces, %d rooms in /",
		f.goroutines, float64(f.heap)/(1<<20), f.sessions, f.namespaces, f.rooms)
}

func soakFigures(rs *rawServer) figures {
	heap := heapInUse()
	rs.srv.mu.RLock()
	nsps := len(rs.srv.nsps)
	rs.srv.mu.RUnlock()
	a := rs.srv.Of("/").adapter.(*memoryAdapter)
	a.mu.RLock()
	rooms := len(a.rooms)
	a.mu.RUnlock()
	return figures{
		goroutines: runtime.NumGoroutine(),
		heap:       heap,
		sessions:   rs.srv.ConnectionCount(),
		namespaces: nsps,
		rooms:      rooms,
	}
}

// soakCycle runs one client life and says what kind it was. An error is
// a server that did not do its part (a well-behaved client not served).
func soakCycle(rs *rawServer, rnd *rand.Rand, i int) (string, error) {
	transport := transports[rnd.Intn(2)]
	var c eioClient
	var err error
	if transport == tWebSocket {
		c, err = rs.openWS("")
	} else {
		c, err = rs.openPolling()
	}
	if err != nil {
		return transport + "/handshake", err
	}
	closeIt := func(goodbye bool) {
		if goodbye {
			c.SendText("41", "1")
		}
		c.Close()
	}
	// Misbehaviour before CONNECT.
	switch rnd.Intn(20) {
	case 0: // never joins a namespace: ConnectTimeout
		if transport == tWebSocket {
			c.Close()
		}
		return transport + "/never-connects", nil
	case 1: // garbage first
		c.SendText([]string{"42[\"x\"]", "abc", "40\"auth\"", "2", "4" + strings.Repeat("[", 500)}[rnd.Intn(5)])
		closeIt(false)
		return transport + "/garbage-first", nil
	}
	nsp := "/"
	if rnd.Intn(10) == 0 {
		nsp = fmt.Sprintf("/room-%d", rnd.Intn(50)) // a dynamic namespace
	}
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	if err := c.SendText(prefix); err != nil {
		return transport + "/connect", err
	}
	if _, err := waitFor(c, func(f frame) bool { return strings.HasPrefix(f.text, prefix+"{") }); err != nil {
		return transport + "/connect", err
	}
	if nsp != "/" {
		c.SendText(fmt.Sprintf("41%s,", nsp), "1")
		c.Close()
		return transport + "/dynamic", nil
	}
	switch rnd.Intn(10) {
	case 0: // vanishes
		c.Close()
		return transport + "/vanishes", nil
	case 1: // garbage after CONNECT
		c.SendText([]string{`42[null]`, `43abc`, `451-["x",{"_placeholder":true,"num":"0"}]`, `40`, `42["disconnect"]`}[rnd.Intn(5)])
		closeIt(false)
		return transport + "/garbage", nil
	case 2: // binary buffers that never come
		c.SendText(`452-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		c.SendBinary([]byte{1, 2, 3})
		closeIt(rnd.Intn(2) == 0)
		return transport + "/pending-binary", nil
	case 3: // oversize
		c.SendText(`42["echo","` + strings.Repeat("o", 70<<10) + `"]`)
		closeIt(false)
		return transport + "/oversize", nil
	case 4: // many rooms, then leaves
		rooms := make([]string, 50)
		for j := range rooms {
			rooms[j] = fmt.Sprintf(`"r-%d-%d"`, i, j)
		}
		c.SendText(`42["join",[` + strings.Join(rooms, ",") + `]]`)
		closeIt(true)
		return transport + "/rooms", nil
	}
	if transport == tPolling && rnd.Intn(3) == 0 {
		// Upgrades to WebSocket while the lobby's ticks keep coming, then
		// goes on as below.
		ws, err := soakUpgrade(rs, c.(*pollClient))
		if err != nil {
			return "polling/upgrade", err
		}
		c, transport = ws, "upgraded"
	}
	// Well-behaved: answer the server's question (most of the time), emit
	// with an ack, shout to the lobby, leave.
	answer := rnd.Intn(4) != 0
	id := 1 + rnd.Intn(1000)
	payload := fmt.Sprintf(`{"i":%d,"b":"%s"}`, i, strings.Repeat("p", rnd.Intn(200)))
	if err := c.SendText(fmt.Sprintf(`42%d["echo",%s]`, id, payload), `42["shout","hi"]`); err != nil {
		return transport + "/emit", err
	}
	want := fmt.Sprintf(`43%d[%s]`, id, payload)
	if _, err := waitFor(c, func(f frame) bool {
		var q int
		if answer {
			if _, err := fmt.Sscanf(f.text, `42%d["question",42]`, &q); err == nil {
				c.SendText(fmt.Sprintf(`43%d[]`, q))
			}
		}
		return f.text == want
	}); err != nil {
		return transport + "/echo", err
	}
	closeIt(true)
	return transport + "/ok", nil
}

// waitFor reads packets until match says yes.
func waitFor(c eioClient, match func(frame) bool) (frame, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := c.Next(time.Until(deadline))
		if err != nil {
			return frame{}, err
		}
		if match(f) {
			return f, nil
		}
	}
}

// soakUpgrade upgrades a polling client: 2probe, 3probe, one last poll, 5.
func soakUpgrade(rs *rawServer, pc *pollClient) (*wsClient, error) {
	ws, status, err := rs.dialWS("EIO=4&transport=websocket&sid="+pc.SID(), "")
	if err != nil {
		return nil, fmt.Errorf("dial: %d: %w", status, err)
	}
	ws.sid = pc.SID()
	ws.SendText("2probe")
	if _, err := waitFor(ws, func(f frame) bool { return f.text == "3probe" }); err != nil {
		ws.Close()
		return nil, err
	}
	// As socket.io-client pauses polling: the poll in flight completes (the
	// server answers it at once, with what is queued or a noop), no new
	// one starts, then 5.
	res, err := rs.do(context.Background(), "GET", pc.query(), nil, nil)
	if err != nil || res.status != 200 {
		ws.Close()
		return nil, fmt.Errorf("poll during upgrade: %v %d %q", err, res.status, res.body)
	}
	if slices.Contains(strings.Split(res.body, "\x1e"), "2") {
		pc.SendText("3")
	}
	if err := ws.SendText("5"); err != nil {
		ws.Close()
		return nil, err
	}
	return ws, nil
}
