package socketio

// Exhaustion (class 9): floods of handshakes, many rooms, acknowledgements
// that never come. Whatever grows must shrink back.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// heapInUse returns the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// 50k handshakes that are never polled: MaxConnecting caps how many are
// held at once, the heartbeat and ConnectTimeout reap them, and the session
// map (and the heap) shrink back.
func TestExhaustHandshakes(t *testing.T) {
	total := 50_000
	if testing.Short() {
		total = 5_000
	}
	// Sessions that live long enough for the cap to be reached during the
	// flood, short enough for the test. The heartbeat's timeout leaves the
	// healthy client's pongs 3 s: on a loaded machine the flood can hold
	// them up for over a second (it closed the client in CI-like runs).
	cfg := Config{
		PingInterval:   time.Second,
		PingTimeout:    3 * time.Second,
		ConnectTimeout: 3 * time.Second,
		MaxConnecting:  2_000,
	}
	rs := newRawServer(t, cfg, nil)
	w := rs.healthy(tWebSocket)
	baseHeap := heapInUse()

	var ok, refused, other atomic.Int64
	var peak atomic.Int64
	stopPeak := make(chan struct{})
	peakDone := make(chan struct{})
	go func() { // watch the session map
		defer close(peakDone)
		for {
			if n := int64(rs.srv.ConnectionCount()); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stopPeak:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	const workers = 4
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < total; i += workers {
				// The Server's own handler, without TCP: a flood as fast as
				// the server can take it.
				rec := httptest.NewRecorder()
				rs.srv.ServeHTTP(rec, httptest.NewRequest("GET", DefaultPath+"?EIO=4&transport=polling", nil))
				switch rec.Code {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusForbidden:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	// And a few hundred over the network, WebSockets included, that never
	// send CONNECT.
	for i := range 200 {
		tr := transports[i%2]
		if tr == tWebSocket {
			if c, err := rs.openWS(""); err == nil {
				defer c.Close()
			}
		} else {
			rs.openPolling()
		}
	}
	wg.Wait()
	flood := time.Since(start)
	peakHeap := heapInUse()
	t.Logf("%d handshakes in %v: %d accepted, %d refused (403), %d other; peak sessions %d; heap in use %d MiB -> %d MiB",
		total, flood, ok.Load(), refused.Load(), other.Load(), peak.Load(), baseHeap>>20, peakHeap>>20)
	require.Zero(t, other.Load())
	require.Greater(t, refused.Load(), int64(0), "MaxConnecting never refused a handshake")
	// The healthy connection, plus at most one handshake per worker racing
	// the check.
	require.LessOrEqual(t, peak.Load(), int64(cfg.MaxConnecting+workers+1+200))

	// Everything not connected goes away.
	rs.waitConns(1, 20*time.Second)
	close(stopPeak)
	<-peakDone
	after := heapInUse()
	t.Logf("sessions back to %d, heap in use %d MiB", rs.srv.ConnectionCount(), after>>20)
	require.Less(t, after, baseHeap+16<<20, "heap after the sessions are gone")
	require.Zero(t, rs.srv.connecting.Load())
	w.check()
	c := rs.open(tPolling)
	connect(t, c, "/", "")
	echo(t, c, 1, `"accepted again"`)
	require.NoError(t, c.SendText("1"))
}

// Many rooms: 100 sockets in 1,000 rooms each (100k rooms), broadcasts to
// some of them, then everyone leaves: the adapter is empty again.
func TestExhaustRooms(t *testing.T) {
	const sockets, rooms = 100, 1000
	rs := newRawServer(t, Config{}, nil)
	baseHeap := heapInUse()
	var clients []eioClient
	var socks []*Socket
	for i := range sockets {
		c := rs.open(transports[i%2])
		clients = append(clients, c)
		socks = append(socks, rs.srv.Of("/").Socket(connect(t, c, "/", "")))
	}
	for i, so := range socks {
		for b := 0; b < rooms; b += 100 {
			names := make([]string, 100)
			for j := range names {
				names[j] = fmt.Sprintf("room-%d-%d", i, b+j)
			}
			require.NoError(t, so.Join(names...))
		}
		more := make([]string, DefaultMaxRoomsPerSocket-rooms) // one too many with its own room
		for j := range more {
			more[j] = fmt.Sprintf("more-%d-%d", i, j)
		}
		require.ErrorIs(t, so.Join(more...), ErrTooManyRooms, "default cap with %d held", rooms+1)
	}
	a := rs.srv.Of("/").adapter.(*memoryAdapter)
	a.mu.RLock()
	nRooms := len(a.rooms)
	a.mu.RUnlock()
	require.Equal(t, sockets*rooms+sockets, nRooms) // plus each socket's own room
	full := heapInUse()

	require.NoError(t, rs.srv.Of("/").To("room-7-999", "room-8-0").Emit("hello", 1))
	for _, i := range []int{7, 8} {
		f, err := clients[i].Next(5 * time.Second)
		require.NoError(t, err)
		require.Equal(t, `42["hello",1]`, f.text)
	}
	for i, c := range clients {
		if i%2 == 0 {
			require.NoError(t, c.SendText("1"))
		} else {
			c.Close()
		}
	}
	rs.waitConns(0, 10*time.Second)
	// OnClose (and the rooms' cleanup) follows the session's removal.
	eventually(t, 5*time.Second, func() bool {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return len(a.rooms) == 0 && len(a.sids) == 0
	}, "rooms left in the adapter")
	after := heapInUse()
	t.Logf("heap in use: %d MiB before, %d MiB with %d rooms, %d MiB after", baseHeap>>20, full>>20, sockets*rooms, after>>20)
	require.Less(t, after, baseHeap+8<<20)
}

// Acknowledgements that never come: the pending-ack table drains when each
// deadline passes, for single and broadcast emits.
func TestExhaustAcksNeverAnswered(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	var socks []*Socket
	for _, tr := range transports {
		c := rs.open(tr)
		socks = append(socks, rs.srv.Of("/").Socket(connect(t, c, "/", "")))
	}
	so := socks[0]
	var wg sync.WaitGroup
	var timeouts atomic.Int64
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := so.EmitWithAck(ctx, "silence"); errors.Is(err, ErrAckTimeout) {
				timeouts.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1000), timeouts.Load())
	for range 20 {
		_, err := rs.srv.Of("/").Timeout(20*time.Millisecond).EmitWithAck(context.Background(), "silence")
		require.ErrorIs(t, err, ErrAckTimeout)
	}
	for _, so := range socks {
		eventually(t, time.Second, func() bool {
			so.mu.Lock()
			defer so.mu.Unlock()
			return len(so.acks) == 0
		}, "acks pending on %s", so.ID())
	}
}

// Disconnect with acknowledgements pending releases every waiter at once
// with the reason.
func TestExhaustAcksPendingAtDisconnect(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, Config{}, nil)
			c := rs.open(tr)
			id := connect(t, c, "/", "")
			so := rs.srv.Of("/").Socket(id)
			const waiters = 100
			errs := make(chan error, waiters)
			for range waiters {
				go func() {
					_, err := so.EmitWithAck(context.Background(), "hold")
					errs <- err
				}()
			}
			eventually(t, 5*time.Second, func() bool {
				so.mu.Lock()
				defer so.mu.Unlock()
				return len(so.acks) == waiters
			}, "waiters not registered")
			require.NoError(t, c.SendText("1")) // the client goes away
			start := time.Now()
			for range waiters {
				select {
				case err := <-errs:
					require.ErrorIs(t, err, ErrDisconnected)
				case <-time.After(5 * time.Second):
					t.Fatal("a waiter was not released")
				}
			}
			require.Less(t, time.Since(start), 2*time.Second)
			so.mu.Lock()
			require.Empty(t, so.acks)
			so.mu.Unlock()
			require.Equal(t, ReasonTransportClose, rs.waitReason(id, time.Second))
		})
	}
}

// ownDoneCtx is a context whose Done channel is its own: the context
// package cannot see through it and runs a goroutine per AfterFunc until
// one of the two ends.
type ownDoneCtx struct {
	context.Context
	done chan struct{}
}

func (c ownDoneCtx) Done() <-chan struct{} { return c.done }

// A broadcast with acknowledgements leaves nothing behind once it has
// returned, even with a long-lived ctx that never ends.
func TestExhaustBroadcastAckReleased(t *testing.T) {
	rs := newRawServer(t, Config{}, func(srv *Server) {})
	c := rs.open(tWebSocket)
	connect(t, c, "/", "")
	go func() { // the client answers every ack
		for {
			f, err := c.Next(time.Minute)
			if err != nil {
				return
			}
			var id int
			if _, err := fmt.Sscanf(f.text, `42%d["q"]`, &id); err == nil {
				c.SendText(fmt.Sprintf(`43%d["a"]`, id))
			}
		}
	}()
	long := ownDoneCtx{context.Background(), make(chan struct{})}
	defer close(long.done)
	before := runtime.NumGoroutine()
	for range 200 {
		got, err := rs.srv.Of("/").To().EmitWithAck(long, "q")
		require.NoError(t, err)
		require.Len(t, got, 1)
	}
	time.Sleep(50 * time.Millisecond)
	after := runtime.NumGoroutine()
	require.Less(t, after, before+20, "goroutines left waiting on the caller's ctx")
}
