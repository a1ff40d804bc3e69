package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// Tests of the client alone, against this module's server or a scripted
// fake one.

func goURL(t *testing.T, cfg socketio.Config) (*socketio.Server, *httptest.Server) {
	return serveGo(t, cfg)
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// cutter is a TCP proxy in front of a server whose connections a test can
// cut, WebSocket ones included (httptest forgets hijacked connections).
type cutter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &cutter{ln: ln, target: target}
	c.wg.Add(1)
	go c.serve()
	t.Cleanup(func() {
		ln.Close()
		c.cut()
		c.wg.Wait()
	})
	return c
}

func (c *cutter) url() string { return "http://" + c.ln.Addr().String() }

func (c *cutter) serve() {
	defer c.wg.Done()
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			in.Close()
			continue
		}
		c.mu.Lock()
		c.conns = append(c.conns, in, out)
		c.mu.Unlock()
		c.wg.Add(2)
		go func() { defer c.wg.Done(); io.Copy(out, in); out.Close() }()
		go func() { defer c.wg.Done(); io.Copy(in, out); in.Close() }()
	}
}

// cut closes every connection through the proxy.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func TestReconnect(t *testing.T) {
	t.Parallel()
	for _, transports := range [][]string{{"polling"}, {"websocket"}, nil} {
		t.Run(fmt.Sprint(transports), func(t *testing.T) {
			t.Parallel()
			_, ts := goURL(t, socketio.Config{})
			proxy := newCutter(t, ts.Listener.Addr().String())
			c, err := client.Dial(testCtx(t), proxy.url(), &client.Options{
				Transports:     transports,
				ReconnectDelay: 10 * time.Millisecond,
			})
			require.NoError(t, err)
			defer c.Close()
			s := c.Of("/")
			connects := make(chan string, 4)
			reasons := make(chan string, 4)
			s.OnConnect(func() { connects <- s.ID() })
			s.OnDisconnect(func(r string) { reasons <- r })
			require.NoError(t, s.Connect(testCtx(t), map[string]string{"user": "bob"}))
			first := recv(t, connects, "first connect")
			if transports == nil {
				require.Eventually(t, func() bool { return c.Transport() == "websocket" }, 10*time.Second, 5*time.Millisecond)
			}

			// An acknowledgement that never comes fails when the connection
			// drops.
			ackErr := make(chan error, 1)
			go func() {
				_, err := s.EmitWithAck(testCtx(t), "ask", "unanswered", 1)
				ackErr <- err
			}()
			time.Sleep(50 * time.Millisecond)
			proxy.cut()

			err = recv(t, ackErr, "ack error")
			assert.ErrorIs(t, err, socketio.ErrDisconnected)
			var ae *socketio.AckError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, "ask", ae.Event)
			r := recv(t, reasons, "disconnect")
			assert.Contains(t, []string{client.ReasonTransportError, client.ReasonTransportClose}, r)

			second := recv(t, connects, "reconnection")
			assert.NotEqual(t, first, second)
			who, err := client.EmitWithAck(testCtx(t), s, WhoAmI, struct{}{})
			require.NoError(t, err)
			assert.Equal(t, second, who.ID)
			assert.Equal(t, "bob", who.Auth["user"], "auth is sent again")
		})
	}
}

func TestReconnectGivesUp(t *testing.T) {
	t.Parallel()
	srv := newGoServer(socketio.Config{})
	ts := httptest.NewServer(srv)
	defer func() {
		// The server's session is orphaned: do not wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	c, err := client.Dial(testCtx(t), ts.URL, &client.Options{
		Transports:        []string{"polling"},
		ReconnectDelay:    5 * time.Millisecond,
		ReconnectAttempts: 2,
	})
	require.NoError(t, err)
	defer c.Close()
	s, err := c.Socket(testCtx(t), "/", nil)
	require.NoError(t, err)
	ts.Close() // nothing to reconnect to
	require.Eventually(t, func() bool {
		return errors.Is(s.Connect(testCtx(t), nil), client.ErrClosed)
	}, 10*time.Second, 10*time.Millisecond)
}

func TestCloseReasons(t *testing.T) {
	t.Parallel()
	srv, ts := goURL(t, socketio.Config{})
	serverReason := make(chan string, 1)
	srv.Of("/").OnDisconnect(func(s *socketio.Socket, r string) { serverReason <- r })
	for _, transports := range [][]string{{"polling"}, {"websocket"}} {
		c, err := client.Dial(testCtx(t), ts.URL, opts(transports...))
		require.NoError(t, err)
		s := c.Of("/")
		reasons := make(chan string, 1)
		s.OnDisconnect(func(r string) { reasons <- r })
		require.NoError(t, s.Connect(testCtx(t), nil))
		require.NoError(t, c.Close())
		assert.Equal(t, client.ReasonClientDisconnect, recv(t, reasons, "client reason"))
		assert.Equal(t, socketio.ReasonClientDisconnect, recv(t, serverReason, "server reason"))
		assert.False(t, s.Connected())
		assert.ErrorIs(t, s.Connect(testCtx(t), nil), client.ErrClosed)
		assert.ErrorIs(t, s.Emit("echo"), socketio.ErrDisconnected)
		assert.Equal(t, "", c.Transport())
	}
}

func TestHandlerMayEmitWithAck(t *testing.T) {
	t.Parallel()
	srv, ts := goURL(t, socketio.Config{})
	srv.Of("/").OnConnect(func(s *socketio.Socket) { s.Emit("tick", 1) })
	c, err := client.Dial(testCtx(t), ts.URL, opts())
	require.NoError(t, err)
	defer c.Close()
	s := c.Of("/")
	done := make(chan Blob, 1)
	s.OnEvent("tick", func(args socketio.Args, ack socketio.Ack) {
		// Runs on the socket's handler goroutine: the reader is free to
		// deliver the acknowledgement.
		b, err := client.EmitWithAck(testCtx(t), s, Echo, sampleBlob("from handler"))
		assert.NoError(t, err)
		done <- b
	})
	require.NoError(t, s.Connect(testCtx(t), nil))
	equalBlob(t, sampleBlob("from handler"), recv(t, done, "handler's ack"))
}

func TestDecodeErrorAndPanic(t *testing.T) {
	t.Parallel()
	srv, ts := goURL(t, socketio.Config{})
	srv.Of("/").OnConnect(func(s *socketio.Socket) {
		s.Emit("echo-back", "not a blob")
		s.Emit("boom")
		s.Emit("echo-back", sampleBlob("valid"))
	})
	errs := make(chan error, 4)
	c, err := client.Dial(testCtx(t), ts.URL, &client.Options{
		NoReconnect: true,
		OnError:     func(s *client.Socket, err error) { errs <- err },
	})
	require.NoError(t, err)
	defer c.Close()
	s := c.Of("/")
	got := make(chan Blob, 2)
	client.On(s, EchoBack, func(b Blob) { got <- b })
	s.OnEvent("boom", func(socketio.Args, socketio.Ack) { panic("kaboom") })
	require.NoError(t, s.Connect(testCtx(t), nil))

	var de *socketio.DecodeError
	require.ErrorAs(t, recv(t, errs, "decode error"), &de)
	assert.Equal(t, "echo-back", de.Event)
	assert.ErrorContains(t, recv(t, errs, "panic"), "kaboom")
	equalBlob(t, sampleBlob("valid"), recv(t, got, "valid event"))
	assert.Empty(t, got, "the handler never saw the bad payload")
	assert.True(t, s.Connected())
}

func TestAckTimeout(t *testing.T) {
	t.Parallel()
	srv, ts := goURL(t, socketio.Config{})
	srv.Of("/").OnEvent("silent", func(*socketio.Socket, socketio.Args, socketio.Ack) {})
	s := connect(t, ts.URL, opts(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.EmitWithAck(ctx, "silent")
	assert.ErrorIs(t, err, socketio.ErrAckTimeout)
	assert.NotErrorIs(t, err, socketio.ErrDisconnected)
	// The socket is still fine.
	_, err = client.EmitWithAck(testCtx(t), s, WhoAmI, struct{}{})
	require.NoError(t, err)
}

func TestServerRequestToClient(t *testing.T) {
	t.Parallel()
	srv, ts := goURL(t, socketio.Config{})
	results := make(chan error, 1)
	replies := make(chan Blob, 1)
	srv.Of("/").OnConnect(func(s *socketio.Socket) {
		b, err := socketio.EmitWithAck(s.Context(), s, Question, sampleBlob("q"))
		results <- err
		replies <- b
	})
	c, err := client.Dial(testCtx(t), ts.URL, opts())
	require.NoError(t, err)
	defer c.Close()
	s := c.Of("/")
	client.Handle(s, Question, func(ctx context.Context, b Blob) (Blob, error) {
		b.Name = "a"
		return b, nil
	})
	require.NoError(t, s.Connect(testCtx(t), nil))
	require.NoError(t, recv(t, results, "question"))
	equalBlob(t, sampleBlob("a"), recv(t, replies, "reply"))
}

// TestPollingBatchesUnderMaxPayload: what the client queues while a POST is
// in flight goes out in POSTs no larger than the server's maxPayload.
func TestPollingBatchesUnderMaxPayload(t *testing.T) {
	t.Parallel()
	_, ts := goURL(t, socketio.Config{MaxPayload: 2000})
	c, err := client.Dial(testCtx(t), ts.URL, opts("polling"))
	require.NoError(t, err)
	defer c.Close()
	s := c.Of("/")
	const n = 100
	got := make(chan int, n)
	s.OnEvent("echo-back", func(args socketio.Args, ack socketio.Ack) {
		var i int
		args.Decode(0, &i)
		got <- i
	})
	require.NoError(t, s.Connect(testCtx(t), nil))
	pad := strings.Repeat("x", 150)
	for i := range n {
		require.NoError(t, s.Emit("echo-back", i, pad, []byte(pad)))
	}
	for i := range n {
		require.Equal(t, i, recv(t, got, "echo"))
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	_, err := client.Dial(ctx, "ftp://example.com", nil)
	assert.ErrorContains(t, err, "scheme")
	_, err = client.Dial(ctx, "http://127.0.0.1:1/admin", nil)
	assert.ErrorContains(t, err, "path")
	_, err = client.Dial(ctx, "http://127.0.0.1:1", &client.Options{Transports: []string{"carrier-pigeon"}})
	assert.ErrorContains(t, err, "carrier-pigeon")

	srv := socketio.New(socketio.Config{AllowRequest: func(r *http.Request) error {
		return errors.New("no entry")
	}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	for _, tr := range []string{"polling", "websocket"} {
		_, err = client.Dial(ctx, ts.URL, opts(tr))
		assert.Error(t, err, tr)
	}
	_, err = client.Dial(ctx, ts.URL, opts("polling"))
	assert.ErrorContains(t, err, "no entry")

	s, err := client.Connect(ctx, ts.URL+"/", opts())
	assert.Nil(t, s)
	assert.Error(t, err)

	ok := newGoServer(socketio.Config{})
	ts2 := httptest.NewServer(ok)
	defer ts2.Close()
	s, err = client.Connect(ctx, ts2.URL, opts())
	require.NoError(t, err)
	assert.ErrorContains(t, s.Emit("connect"), "reserved")
	assert.ErrorContains(t, s.Connect(ctx, []int{1}), "JSON object")
	s.Disconnect()
}

// TestConnectURLNamespace: Connect takes the namespace from the URL path,
// as the JavaScript io() does.
func TestConnectURLNamespace(t *testing.T) {
	t.Parallel()
	_, ts := goURL(t, socketio.Config{})
	o := opts("websocket")
	o.Auth = map[string]string{"role": "admin"}
	s, err := client.Connect(testCtx(t), ts.URL+"/admin", o)
	require.NoError(t, err)
	defer s.Disconnect()
	assert.Equal(t, "/admin", s.Namespace())
	who, err := client.EmitWithAck(testCtx(t), s, WhoAmI, struct{}{})
	require.NoError(t, err)
	assert.Equal(t, "/admin", who.Nsp)
}

// fakeServer is a scripted Engine.IO polling server: it answers the
// handshake and the main namespace's CONNECT, then serves afterConnect to
// the next GET ("" holds every later GET until the client gives up).
type fakeServer struct {
	afterConnect string
	msgs         chan string
	posts        atomic.Int64
	once         sync.Once
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.once.Do(func() { f.msgs = make(chan string, 8) })
	if r.URL.Query().Get("sid") == "" {
		io.WriteString(w, `0{"sid":"fake","upgrades":[],"pingInterval":100,"pingTimeout":100,"maxPayload":1000000}`)
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		f.posts.Add(1)
		for _, rec := range strings.Split(string(body), "\x1e") {
			if rec == "40" {
				f.msgs <- `40{"sid":"s1"}`
				if f.afterConnect != "" {
					f.msgs <- f.afterConnect
				}
			}
		}
		io.WriteString(w, "ok")
		return
	}
	select {
	case m := <-f.msgs:
		io.WriteString(w, m)
	case <-r.Context().Done():
	}
}

func TestDisconnectReasonsFromTransport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script, reason string
	}{
		{"", client.ReasonPingTimeout},
		{"1", client.ReasonTransportClose},
		{"4junk", client.ReasonParseError},
		{"9", client.ReasonParseError},
	} {
		t.Run(tc.reason+" "+tc.script, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(&fakeServer{afterConnect: tc.script})
			defer ts.Close()
			c, err := client.Dial(testCtx(t), ts.URL, opts())
			require.NoError(t, err)
			defer c.Close()
			s := c.Of("/")
			reasons := make(chan string, 1)
			s.OnDisconnect(func(r string) { reasons <- r })
			start := time.Now()
			require.NoError(t, s.Connect(testCtx(t), nil))
			assert.Equal(t, "s1", s.ID())
			assert.Equal(t, tc.reason, recv(t, reasons, "disconnect"))
			if tc.reason == client.ReasonPingTimeout {
				assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
			}
		})
	}
}

// TestPongs: the client answers pings, so a server with short heartbeats
// keeps it connected.
func TestPongs(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			srv, ts := goURL(t, socketio.Config{PingInterval: 50 * time.Millisecond, PingTimeout: 150 * time.Millisecond})
			reasons := make(chan string, 1)
			srv.Of("/").OnDisconnect(func(s *socketio.Socket, r string) { reasons <- r })
			s := connect(t, ts.URL, opts(tr), nil)
			time.Sleep(300 * time.Millisecond)
			assert.True(t, s.Connected())
			assert.Empty(t, reasons)
		})
	}
}

// TestOrigin: the client sends no Origin of its own (it is no browser);
// one set in Options.Header goes to the server, which applies its policy
// on both transports.
func TestOrigin(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	srv := newGoServer(socketio.Config{AllowedOrigins: []string{"https://app.example"}})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Origin"))
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	defer stopGo(srv, ts)
	for _, tr := range []string{"polling", "websocket"} {
		s, err := client.Connect(testCtx(t), ts.URL, opts(tr))
		require.NoError(t, err, tr)
		s.Disconnect()

		o := opts(tr)
		o.Header = http.Header{"Origin": {"https://evil.example"}}
		_, err = client.Connect(testCtx(t), ts.URL, o)
		assert.Error(t, err, tr)

		o.Header.Set("Origin", "https://app.example")
		s, err = client.Connect(testCtx(t), ts.URL, o)
		require.NoError(t, err, tr)
		checkTransport(t, s, tr)
		s.Disconnect()
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, seen, "")
	assert.Contains(t, seen, "https://evil.example")
	assert.Contains(t, seen, "https://app.example")
}

// TestConnectCancelled: a Connect whose ctx ends gives up; the server's
// late acceptance is undone with a DISCONNECT; other callers still wait.
func TestConnectCancelled(t *testing.T) {
	t.Parallel()
	srv, ts := goURL(t, socketio.Config{})
	release := make(chan struct{})
	var calls atomic.Int64
	srv.Of("/slow").Use(func(s *socketio.Socket) error {
		if calls.Add(1) == 1 {
			<-release
		}
		return nil
	})
	serverReasons := make(chan string, 2)
	srv.Of("/slow").OnDisconnect(func(s *socketio.Socket, r string) { serverReasons <- r })
	c, err := client.Dial(testCtx(t), ts.URL, opts("websocket"))
	require.NoError(t, err)
	defer c.Close()
	s := c.Of("/slow")

	short, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.Connect(short, nil), context.DeadlineExceeded)
	assert.False(t, s.Connected())
	close(release)
	assert.Equal(t, socketio.ReasonClientDisconnect, recv(t, serverReasons, "undone connection"))
	assert.False(t, s.Connected())

	// Two callers, one of which gives up: the other gets the connection.
	short2, cancel2 := context.WithCancel(context.Background())
	results := make(chan error, 2)
	go func() { results <- s.Connect(short2, nil) }()
	go func() { results <- s.Connect(testCtx(t), nil) }()
	time.Sleep(10 * time.Millisecond)
	cancel2()
	r1, r2 := recv(t, results, "connect"), recv(t, results, "connect")
	assert.True(t, r1 == nil || r2 == nil, "%v, %v", r1, r2)
	require.Eventually(t, s.Connected, 5*time.Second, time.Millisecond)
}
