package socketio_test

// End-to-end tests: a Server behind httptest, driven by the Go client over
// real connections. TestMain (main_test.go) checks for leaked goroutines.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// Declarations shared by the server and the clients of these tests.

type note struct {
	From string `json:"from"`
	Text string `json:"text"`
	Blob []byte `json:"blob,omitempty"`
}

type sumReq struct {
	A int `json:"a"`
	B int `json:"b"`
}

var (
	evNote   = socketio.NewEvent[note]("note")
	reqSum   = socketio.NewRequest[sumReq, int]("sum")
	reqName  = socketio.NewRequest[string, string]("name")
	reqRooms = socketio.NewRequest[[]string, []string]("rooms") // join these, reply with all
)

// ---------------------------------------------------------------------------
// Harness

// rig is a Server under test on a loopback port. Errors the server reports
// through Config.OnError go to errs.
type rig struct {
	srv  *socketio.Server
	ts   *httptest.Server
	url  string
	errs chan error
}

// newRig serves socketio.New(cfg) until the test ends; then clients are
// closed (by their own cleanups, registered later, so run first) and the
// server is shut down. Options may change the HTTP server before it starts.
func newRig(t *testing.T, cfg socketio.Config, opts ...func(*httptest.Server)) *rig {
	t.Helper()
	r := &rig{errs: make(chan error, 64)}
	if cfg.OnError == nil {
		cfg.OnError = func(s *socketio.Socket, err error) {
			select {
			case r.errs <- err:
			default:
			}
		}
	}
	r.srv = socketio.New(cfg)
	r.ts = httptest.NewUnstartedServer(r.srv)
	for _, o := range opts {
		o(r.ts)
	}
	r.ts.Start()
	r.url = r.ts.URL
	t.Cleanup(func() {
		// Let the server see its clients leave before shutting down.
		for deadline := time.Now().Add(2 * time.Second); r.srv.ConnectionCount() > 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, r.srv.Shutdown(ctx))
		r.ts.Close()
	})
	return r
}

// dialOpts are the client options of most tests: WebSocket only (no
// upgrade to wait for), no reconnection.
func dialOpts() *client.Options {
	return &client.Options{Transports: []string{"websocket"}, NoReconnect: true}
}

// socket connects a client to nsp with auth, after setup registered its
// handlers (setup may be nil); the client is closed at the end of the test.
func (r *rig) socket(t *testing.T, nsp string, auth any, setup func(*client.Socket)) *client.Socket {
	t.Helper()
	c, err := client.Dial(ctx(t), r.url, dialOpts())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	s := c.Of(nsp)
	if setup != nil {
		setup(s)
	}
	require.NoError(t, s.Connect(ctx(t), auth))
	return s
}

// serverSocket returns the server's end of a client's socket.
func (r *rig) serverSocket(t *testing.T, s *client.Socket) *socketio.Socket {
	t.Helper()
	var so *socketio.Socket
	require.Eventually(t, func() bool {
		so = r.srv.Of(s.Namespace()).Socket(s.ID())
		return so != nil
	}, 5*time.Second, time.Millisecond)
	return so
}

// ctx is a test's deadline for anything that waits.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// wait receives from ch or fails the test.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// none checks that nothing arrives on ch for a moment.
func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(50 * time.Millisecond):
	}
}

// ---------------------------------------------------------------------------
// Typed events and requests

func TestTypedEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	ns := r.srv.Of("/")
	fromClient := make(chan note, 1)
	socketio.On(ns, evNote, func(s *socketio.Socket, n note) {
		fromClient <- n
		n.From = "server"
		socketio.Emit(s, evNote, n) // server -> client event
	})
	socketio.Handle(ns, reqSum, func(ctx context.Context, s *socketio.Socket, q sumReq) (int, error) {
		if q.A < 0 {
			return 0, errors.New("negative")
		}
		return q.A + q.B, nil
	})
	askResults := make(chan string, 2)
	ns.OnEvent("ask-me", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		for _, q := range []string{"ann", ""} {
			name, err := socketio.EmitWithAck(s.Context(), s, reqName, q) // server -> client request
			if err != nil {
				var re *socketio.RemoteError
				if errors.As(err, &re) {
					name = "remote error: " + re.Message
				} else {
					name = "error: " + err.Error()
				}
			}
			askResults <- name
		}
	})

	fromServer := make(chan note, 1)
	s := r.socket(t, "/", nil, func(s *client.Socket) {
		client.On(s, evNote, func(n note) { fromServer <- n })
		client.Handle(s, reqName, func(ctx context.Context, q string) (string, error) {
			if q == "" {
				return "", errors.New("empty name")
			}
			return strings.ToUpper(q), nil
		})
	})

	// Client -> server event, server -> client event, binary included.
	require.NoError(t, client.Emit(s, evNote, note{From: "client", Text: "hi", Blob: []byte{0, 1, 2}}))
	assert.Equal(t, note{From: "client", Text: "hi", Blob: []byte{0, 1, 2}}, wait(t, fromClient, "note at the server"))
	assert.Equal(t, note{From: "server", Text: "hi", Blob: []byte{0, 1, 2}}, wait(t, fromServer, "note at the client"))

	// Client -> server request.
	sum, err := client.EmitWithAck(ctx(t), s, reqSum, sumReq{A: 2, B: 3})
	require.NoError(t, err)
	assert.Equal(t, 5, sum)
	_, err = client.EmitWithAck(ctx(t), s, reqSum, sumReq{A: -1})
	var re *socketio.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "negative", re.Message)

	// Server -> client request, answered and failed.
	require.NoError(t, s.Emit("ask-me"))
	assert.Equal(t, "ANN", wait(t, askResults, "answer"))
	assert.Equal(t, "remote error: empty name", wait(t, askResults, "failure"))
}

// A payload that does not decode: the handler is not called, OnError is,
// a request gets an error reply; the socket stays connected.
func TestUndecodablePayload(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	ns := r.srv.Of("/")
	called := make(chan note, 4)
	socketio.On(ns, evNote, func(s *socketio.Socket, n note) { called <- n })
	socketio.Handle(ns, reqSum, func(ctx context.Context, s *socketio.Socket, q sumReq) (int, error) {
		return q.A + q.B, nil
	})
	s := r.socket(t, "/", nil, nil)

	require.NoError(t, s.Emit("note", "a string, not a note"))
	err := wait(t, r.errs, "decode error")
	var de *socketio.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "note", de.Event)

	_, err = s.EmitWithAck(ctx(t), "sum", []int{1, 2})
	require.NoError(t, err)
	require.ErrorAs(t, wait(t, r.errs, "decode error"), &de)
	assert.Equal(t, "sum", de.Event)
	_, err = client.EmitWithAck(ctx(t), s, socketio.NewRequest[[]int, int]("sum"), []int{1})
	var re *socketio.RemoteError
	require.ErrorAs(t, err, &re)
	<-r.errs

	require.NoError(t, client.Emit(s, evNote, note{Text: "fine"}))
	assert.Equal(t, "fine", wait(t, called, "valid note").Text)
	none(t, called, "call with the bad payload")
	assert.True(t, s.Connected())
}

// A panicking handler is recovered and reported; its socket is
// disconnected, the server and the other sockets carry on.
func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	ns := r.srv.Of("/")
	ns.OnEvent("boom", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) { panic("kaboom") })
	socketio.Handle(ns, reqSum, func(ctx context.Context, s *socketio.Socket, q sumReq) (int, error) {
		return q.A + q.B, nil
	})
	serverReasons := make(chan string, 2)
	ns.OnDisconnect(func(s *socketio.Socket, reason string) { serverReasons <- reason })

	reasons := make(chan string, 1)
	victim := r.socket(t, "/", nil, func(s *client.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
	bystander := r.socket(t, "/", nil, nil)

	require.NoError(t, victim.Emit("boom"))
	assert.ErrorContains(t, wait(t, r.errs, "panic report"), "kaboom")
	assert.Equal(t, client.ReasonServerDisconnect, wait(t, reasons, "victim's disconnect"))
	assert.Equal(t, socketio.ReasonServerDisconnect, wait(t, serverReasons, "server's disconnect"))

	sum, err := client.EmitWithAck(ctx(t), bystander, reqSum, sumReq{A: 1, B: 1})
	require.NoError(t, err)
	assert.Equal(t, 2, sum)
	newcomer := r.socket(t, "/", nil, nil)
	sum, err = client.EmitWithAck(ctx(t), newcomer, reqSum, sumReq{A: 2, B: 2})
	require.NoError(t, err)
	assert.Equal(t, 4, sum)
}

// ---------------------------------------------------------------------------
// Connection lifecycle

func TestMiddlewareRefusal(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	r.srv.Of("/").Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		if err := s.DecodeAuth(&auth); err != nil {
			return err
		}
		switch auth.Token {
		case "ok":
			return nil
		case "":
			return errors.New("no token")
		}
		return &socketio.ConnectError{Message: "bad token", Data: map[string]any{"retry": false, "hint": "log in again"}}
	})
	connected := make(chan string, 4)
	r.srv.Of("/").OnConnect(func(s *socketio.Socket) { connected <- s.ID() })

	c, err := client.Dial(ctx(t), r.url, dialOpts())
	require.NoError(t, err)
	defer c.Close()
	s := c.Of("/")

	err = s.Connect(ctx(t), map[string]string{"token": "forged"})
	var ce *client.ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "bad token", ce.Message)
	assert.JSONEq(t, `{"retry":false,"hint":"log in again"}`, string(ce.Data))

	err = s.Connect(ctx(t), nil)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "no token", ce.Message)
	assert.Nil(t, ce.Data)
	none(t, connected, "connection of a refused socket")

	// The connection stays usable: the same socket connects with a good
	// token.
	require.NoError(t, s.Connect(ctx(t), map[string]string{"token": "ok"}))
	assert.Equal(t, s.ID(), wait(t, connected, "connection"))
}

func TestDynamicNamespaces(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	pattern := regexp.MustCompile(`^/room-\d+$`)
	fam := r.srv.OfFunc(func(name string, auth json.RawMessage) bool { return pattern.MatchString(name) })
	nsOf := make(chan *socketio.Namespace, 4)
	fam.OnConnect(func(s *socketio.Socket) { nsOf <- s.Namespace() })
	socketio.Handle(fam, reqName, func(ctx context.Context, s *socketio.Socket, _ string) (string, error) {
		return s.Namespace().Name(), nil
	})

	c, err := client.Dial(ctx(t), r.url, dialOpts())
	require.NoError(t, err)
	defer c.Close()

	_, err = c.Socket(ctx(t), "/lobby", nil)
	var ce *client.ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "Invalid namespace", ce.Message)

	got := make(chan note, 4)
	s1 := c.Of("/room-1")
	client.On(s1, evNote, func(n note) { got <- n })
	require.NoError(t, s1.Connect(ctx(t), nil))
	first := wait(t, nsOf, "connection to /room-1")
	assert.Equal(t, "/room-1", first.Name())
	name, err := client.EmitWithAck(ctx(t), s1, reqName, "")
	require.NoError(t, err)
	assert.Equal(t, "/room-1", name)

	s2, err := c.Socket(ctx(t), "/room-2", nil)
	require.NoError(t, err)
	assert.Equal(t, "/room-2", wait(t, nsOf, "connection to /room-2").Name())
	assert.Len(t, fam.Sockets(), 2)

	// A broadcast on the family reaches every namespace of it.
	got2 := make(chan note, 1)
	client.On(s2, evNote, func(n note) { got2 <- n })
	require.NoError(t, socketio.Emit(fam, evNote, note{Text: "all rooms"}))
	assert.Equal(t, "all rooms", wait(t, got, "broadcast in /room-1").Text)
	assert.Equal(t, "all rooms", wait(t, got2, "broadcast in /room-2").Text)

	// Once empty, /room-1 is removed: connecting again creates a new one.
	s1.Disconnect()
	require.Eventually(t, func() bool { return len(fam.Sockets()) == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, s1.Connect(ctx(t), nil))
	second := wait(t, nsOf, "reconnection to /room-1")
	assert.Equal(t, "/room-1", second.Name())
	assert.NotSame(t, first, second, "the empty namespace was removed")
	// /room-2 was never empty: it is the same.
	s2.Disconnect()
	require.NoError(t, s2.Connect(ctx(t), nil))
	assert.Equal(t, "/room-2", wait(t, nsOf, "reconnection to /room-2").Name())
}

func TestSocketContextEndsOnDisconnect(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	handlerCtxDone := make(chan error, 1)
	socketio.Handle(r.srv.Of("/"), reqName, func(ctx context.Context, s *socketio.Socket, _ string) (string, error) {
		<-ctx.Done() // a long job, cancelled when the client leaves
		handlerCtxDone <- ctx.Err()
		return "", ctx.Err()
	})
	for _, how := range []string{"namespace", "connection"} {
		s := r.socket(t, "/", nil, nil)
		so := r.serverSocket(t, s)
		require.NoError(t, so.Context().Err())
		require.NoError(t, s.Emit("name", "x")) // no ack wanted; the handler blocks
		if how == "namespace" {
			s.Disconnect()
		} else {
			s.Conn().Close()
		}
		select {
		case <-so.Context().Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: context not cancelled", how)
		}
		assert.False(t, so.Connected())
		assert.ErrorIs(t, wait(t, handlerCtxDone, "handler's end"), context.Canceled)
	}
}

func TestHandlerMiddleware(t *testing.T) {
	t.Parallel()
	srv := socketio.New(socketio.Config{})
	app := http.NewServeMux()
	app.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from the app") })
	ts := httptest.NewServer(srv.Handler(app))
	defer func() {
		srv.Shutdown(context.Background())
		ts.Close()
	}()

	res, err := http.Get(ts.URL + "/hello")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "hello from the app", string(body))
	res, err = http.Get(ts.URL + "/elsewhere")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the app's own 404")

	socketio.Handle(srv.Of("/"), reqSum, func(ctx context.Context, s *socketio.Socket, q sumReq) (int, error) {
		return q.A + q.B, nil
	})
	for _, tr := range []string{"polling", "websocket"} {
		s, err := client.Connect(ctx(t), ts.URL, &client.Options{Transports: []string{tr}, NoReconnect: true})
		require.NoError(t, err, tr)
		sum, err := client.EmitWithAck(ctx(t), s, reqSum, sumReq{A: 20, B: 22})
		require.NoError(t, err)
		assert.Equal(t, 42, sum)
		s.Disconnect()
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	srv := socketio.New(socketio.Config{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	serverReasons := make(chan string, 4)
	srv.Of("/").OnDisconnect(func(s *socketio.Socket, reason string) { serverReasons <- reason })
	srv.Of("/admin")

	reasons := make(chan string, 8)
	var conns []*client.Conn
	for _, tr := range []string{"polling", "websocket"} {
		c, err := client.Dial(ctx(t), ts.URL, &client.Options{Transports: []string{tr}, ReconnectDelay: time.Hour})
		require.NoError(t, err)
		defer c.Close()
		conns = append(conns, c)
		for _, nsp := range []string{"/", "/admin"} {
			s := c.Of(nsp)
			s.OnDisconnect(func(r string) { reasons <- nsp + " " + r })
			require.NoError(t, s.Connect(ctx(t), nil))
		}
	}
	require.NoError(t, srv.Shutdown(ctx(t)))
	var got []string
	for range 4 {
		got = append(got, wait(t, reasons, "client disconnect"))
	}
	// As after the Node server's close(): no namespace disconnect, the
	// client sees its transport close (and would reconnect).
	assert.ElementsMatch(t, []string{
		"/ transport close", "/admin transport close",
		"/ transport close", "/admin transport close",
	}, got)
	for range 2 {
		assert.Equal(t, socketio.ReasonServerShutdown, wait(t, serverReasons, "server's disconnect"))
	}
	assert.Equal(t, 0, srv.ConnectionCount())

	// No new connection is accepted.
	_, err := client.Dial(ctx(t), ts.URL, dialOpts())
	assert.Error(t, err)
}

// userKey is the context key of the signed-in user that the HTTP middleware
// of TestContextFromHTTPMiddleware sets.
type userKey struct{}

func TestContextFromHTTPMiddleware(t *testing.T) {
	t.Parallel()
	srv := socketio.New(socketio.Config{})
	// What apps put in front of their handlers: a middleware that signs
	// the request's user in and puts it in the request's context.
	signIn := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user := r.Header.Get("X-User")
			if user == "" {
				http.Error(w, "who are you?", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
		})
	}
	ts := httptest.NewServer(signIn(srv))
	defer func() {
		srv.Shutdown(context.Background())
		ts.Close()
	}()

	userOf := func(ctx context.Context) string { u, _ := ctx.Value(userKey{}).(string); return u }
	seen := make(chan string, 4)
	ns := srv.Of("/")
	ns.Use(func(s *socketio.Socket) error {
		seen <- "middleware " + userOf(s.Context())
		return nil
	})
	ns.OnConnect(func(s *socketio.Socket) { seen <- "connect " + userOf(s.Context()) })
	socketio.Handle(ns, reqName, func(ctx context.Context, s *socketio.Socket, _ string) (string, error) {
		return userOf(ctx), ctx.Err()
	})
	for i, tr := range [][]string{{"polling"}, {"websocket"}, nil} {
		user := fmt.Sprintf("ann%d", i)
		s, err := client.Connect(ctx(t), ts.URL, &client.Options{Transports: tr, NoReconnect: true,
			Header: http.Header{"X-User": {user}}})
		require.NoError(t, err, tr)
		assert.Equal(t, "middleware "+user, wait(t, seen, "middleware"), tr)
		assert.Equal(t, "connect "+user, wait(t, seen, "connect"), tr)
		if tr == nil {
			require.Eventually(t, func() bool { return s.Conn().Transport() == "websocket" }, 5*time.Second, time.Millisecond)
		}
		// Long after the handshake request ended, the context has its
		// values and is not cancelled.
		name, err := client.EmitWithAck(ctx(t), s, reqName, "")
		require.NoError(t, err, tr)
		assert.Equal(t, user, name, tr)
		s.Disconnect()
	}
}
