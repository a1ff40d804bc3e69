package socketio

// Benchmarks of the broadcast path. The load benchmarks against the Node
// reference server are in bench/ (see bench/README.md).
//
//	go test -run '^$' -bench Broadcast -benchmem .
//
// Every socket is a real session behind an httptest server:
//
//   - BenchmarkBroadcastQueue: long-polling sessions with no poll pending,
//     so a broadcast stops at each session's send queue: this is the
//     broadcast path up to the transport (select, encode once, enqueue on
//     every member), with nothing else running. allocs/op must not grow
//     with the number of sockets: what allocates is the encoding, once.
//   - BenchmarkBroadcastWebSocket: WebSocket sessions whose clients read and
//     discard every frame (with a client that does not allocate), so an op
//     is one broadcast delivered to every socket, writer goroutines and
//     golang.org/x/net/websocket included. Its allocs/delivery is what the
//     transport adds per frame.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirekit/socketio/bench/loadgen"
)

type benchMsg struct {
	Seq  int    `json:"seq"`
	User string `json:"user"`
	Text string `json:"text"`
}

var benchChat = NewEvent[benchMsg]("msg")

// benchConfig keeps heartbeats out of the way of a benchmark run.
func benchConfig() Config {
	return Config{PingInterval: time.Hour, PingTimeout: time.Hour, ConnectTimeout: time.Hour}
}

// benchServer is a Server whose "/" sockets all join room "room".
func benchServer(b *testing.B) (*Server, *httptest.Server) {
	srv := New(benchConfig())
	srv.Of("/").OnConnect(func(s *Socket) { s.Join("room") })
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs
}

// benchWaitSockets waits until n sockets are in room "room".
func benchWaitSockets(b *testing.B, ns *Namespace, n int) {
	deadline := time.Now().Add(30 * time.Second)
	for len(ns.To("room").Sockets()) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d sockets in the room", len(ns.To("room").Sockets()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runtimeMallocs is a reading of the process's cumulative allocation
// count: allocations by every goroutine (writers, clients) count.
type runtimeMallocs uint64

func (m *runtimeMallocs) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	*m = runtimeMallocs(ms.Mallocs)
}

// benchPolling opens a long-polling session and connects it to "/",
// returning its sid. The CONNECT reply stays queued.
func benchPolling(b *testing.B, c *http.Client, url string) string {
	resp, err := c.Get(url + "?EIO=4&transport=polling")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, ok := strings.Cut(string(body), `"sid":"`)
	sid, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		b.Fatalf("handshake: %q", body)
	}
	resp, err = c.Post(url+"?EIO=4&transport=polling&sid="+sid, "text/plain", strings.NewReader("40"))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return sid
}

// benchDrain collects what is queued on each polling session.
func benchDrain(b *testing.B, c *http.Client, url string, sids []string) {
	for _, sid := range sids {
		resp, err := c.Get(url + "?EIO=4&transport=polling&sid=" + sid)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("poll: status %d", resp.StatusCode)
		}
	}
}

func BenchmarkBroadcastQueue(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			srv, hs := benchServer(b)
			url := hs.URL + "/socket.io/"
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			defer c.CloseIdleConnections()
			sids := make([]string, n)
			for i := range sids {
				sids[i] = benchPolling(b, c, url)
			}
			ns := srv.Of("/")
			benchWaitSockets(b, ns, n)
			to := ns.To("room")
			msg := benchMsg{User: "ann", Text: "hello, world"}
			// A writer hands each session's drained queue back for reuse:
			// two drains give every session two slices of full capacity,
			// as in a steady state.
			const perDrain = 500
			for range 2 {
				for range perDrain {
					Emit(to, benchChat, msg)
				}
				benchDrain(b, c, url, sids)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%perDrain == 0 {
					b.StopTimer()
					benchDrain(b, c, url, sids)
					b.StartTimer()
				}
				msg.Seq = i
				if err := Emit(to, benchChat, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

// benchReceiver counts the "msg" events its client reads.
type benchReceiver struct {
	c   *loadgen.Client
	got atomic.Int64
}

var benchMsgPrefix = []byte(`42["msg",`)

func BenchmarkBroadcastWebSocket(b *testing.B) {
	const n = 1000
	srv, hs := benchServer(b)
	addr := strings.TrimPrefix(hs.URL, "http://")
	ns := srv.Of("/")
	recv := make([]*benchReceiver, n)
	for i := range recv {
		c, err := loadgen.Dial(context.Background(), addr, "/socket.io/", loadgen.DialOptions{})
		if err != nil {
			b.Fatal(err)
		}
		recv[i] = &benchReceiver{c: c}
	}
	benchWaitSockets(b, ns, n)
	var (
		wg        sync.WaitGroup
		delivered atomic.Int64
		target    atomic.Int64
		reached   = make(chan struct{}, 1)
	)
	for _, r := range recv {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := r.c.ReadMessage()
				if err != nil {
					return
				}
				if bytes.HasPrefix(m, benchMsgPrefix) {
					r.got.Add(1)
					if delivered.Add(1) == target.Load() {
						reached <- struct{}{}
					}
				}
			}
		}()
	}
	defer func() {
		for _, r := range recv {
			r.c.Close()
		}
		wg.Wait()
	}()
	to := ns.To("room")
	msg := benchMsg{User: "ann", Text: "hello, world"}
	emit := func(count int) { // count broadcasts, then wait for all deliveries
		target.Store(delivered.Load() + int64(count)*n)
		for range count {
			msg.Seq++
			Emit(to, benchChat, msg)
		}
		select {
		case <-reached:
		case <-time.After(30 * time.Second):
			b.Fatalf("delivered %d of %d", delivered.Load(), target.Load())
		}
	}
	emit(10) // warm-up

	// roundtrip: one broadcast at a time, each delivered to all before the
	// next (every frame is written on its own).
	b.Run("roundtrip", func(b *testing.B) {
		b.ReportAllocs()
		var ms0, ms1 runtimeMallocs
		ms0.read()
		b.ResetTimer()
		for range b.N {
			emit(1)
		}
		b.StopTimer()
		ms1.read()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/delivery")
		b.ReportMetric(float64(ms1-ms0)/float64(b.N)/n, "allocs/delivery")
	})
	// pipelined: b.N broadcasts back to back (writers drain several
	// frames per wake-up), then wait for every delivery.
	b.Run("pipelined", func(b *testing.B) {
		b.ReportAllocs()
		var ms0, ms1 runtimeMallocs
		ms0.read()
		b.ResetTimer()
		for done := 0; done < b.N; {
			k := min(b.N-done, 500) // within every session's queue limit
			emit(k)
			done += k
		}
		b.StopTimer()
		ms1.read()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/delivery")
		b.ReportMetric(float64(ms1-ms0)/float64(b.N)/n, "allocs/delivery")
	})
	for _, r := range recv {
		if r.got.Load() != recv[0].got.Load() {
			b.Fatalf("uneven deliveries: %d and %d", r.got.Load(), recv[0].got.Load())
		}
	}
}

// BenchmarkEchoAck is one client's emit with an ack, answered with the
// payload, over WebSocket: an op is a full round trip (client write, the
// server's reader, handler goroutine and writer, client read).
func BenchmarkEchoAck(b *testing.B) {
	srv, hs := benchServer(b)
	srv.Of("/").OnEvent("echo", func(_ *Socket, args Args, ack Ack) {
		if ack != nil {
			ack(args.Slice()...)
		}
	})
	c, err := loadgen.Dial(context.Background(), strings.TrimPrefix(hs.URL, "http://"), "/socket.io/", loadgen.DialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	payload := []byte(`{"user":"ann","text":"hello, world","n":12345}`)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if buf, err = c.Emit(buf, int64(i), "echo", payload); err != nil {
			b.Fatal(err)
		}
		for {
			m, err := c.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if id, _, ok := loadgen.AckID(m); ok && id == int64(i) {
				break
			}
		}
	}
}
