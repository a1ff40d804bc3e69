// Package siotest tests Socket.IO handlers end to end, in the spirit of
// net/http/httptest: NewServer serves a *socketio.Server on a loopback
// port, Dial connects a Go client to it, and Next waits for the next event
// the client receives, typed.
//
//	func TestGreet(t *testing.T) {
//		ts := siotest.NewServer(t, newServer())
//		sock := ts.Dial(t)
//		client.Emit(sock, Hello, "ann")
//		if got := siotest.Next(t, sock, Greeting, 0); got != "hello, ann" {
//			t.Errorf("got %q", got)
//		}
//	}
//
// Everything is torn down by t.Cleanup: clients are closed, then the
// server is shut down. Call the functions that take a TB from the test's
// goroutine, as with t.Fatal.
package siotest

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/goleak"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// DefaultTimeout is how long Dial waits for a connection, and Next and
// Disconnected for what they wait for when given a timeout of 0.
const DefaultTimeout = 5 * time.Second

// sessionWait is how long Close waits for the server's connections to
// end under AssertNoLeaks.
var sessionWait = DefaultTimeout

// drainWait is how long Close lets connections end by themselves before
// shutting the server down, when not under AssertNoLeaks.
const drainWait = time.Second

// TB is the part of testing.TB that siotest uses; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Server is a *socketio.Server listening on a loopback port.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port", to give client.Dial
	// or client.Connect (or a browser) when not using Dial.
	URL string
	// Server is the server under test.
	Server *socketio.Server
	// HTTP is the underlying HTTP test server.
	HTTP *httptest.Server

	t         TB
	closeOnce sync.Once
}

// NewServer serves srv on a loopback port, and registers a t.Cleanup that
// closes it: srv is shut down, its clients told, and the HTTP server
// closed. srv answers at its Config.Path; other paths get 404.
func NewServer(t TB, srv *socketio.Server) *Server {
	t.Helper()
	return NewHandlerServer(t, srv, srv)
}

// NewHandlerServer is NewServer for a Socket.IO server that is part of a
// larger handler h (an http.ServeMux it is mounted on, or srv.Handler(app)):
// h is served, and srv shut down at the end.
func NewHandlerServer(t TB, srv *socketio.Server, h http.Handler) *Server {
	t.Helper()
	hs := httptest.NewServer(h)
	s := &Server{URL: hs.URL, Server: srv, HTTP: hs, t: t}
	servers.add(t, s)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down, as the cleanup registered by NewServer
// does; later calls do nothing. Under AssertNoLeaks it first waits for
// the server to have no connection left.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		// Clients closed by the cleanups of Dial may still be closing on
		// the server's side: let them finish before Shutdown, which would
		// otherwise race with them.
		wait := drainWait
		if leakChecked(s.t) {
			wait = sessionWait
		}
		deadline := time.Now().Add(wait)
		for s.Server.ConnectionCount() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := s.Server.ConnectionCount(); n > 0 && leakChecked(s.t) {
			s.t.Errorf("siotest: %d connection(s) still open on the server %v after every client closed", n, wait)
		}
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		if err := s.Server.Shutdown(ctx); err != nil {
			s.t.Errorf("siotest: shutting the server down: %v", err)
		}
		s.HTTP.Close()
		servers.remove(s.t, s)
	})
}

// DialOptions configure Dial and NewSocket. The zero value connects the
// main namespace "/" over polling, then upgrades to WebSocket, as
// browsers do.
type DialOptions struct {
	// Namespace to connect. Default "/".
	Namespace string
	// Auth is the CONNECT payload, as the handshake's auth (it must
	// encode as a JSON object). Only Dial sends it; with NewSocket, pass
	// it to Socket.Connect.
	Auth any
	// Transports to use, from "polling" and "websocket". Default both.
	Transports []string
	// Header and Query are sent with every HTTP request of the connection.
	Header http.Header
	Query  url.Values
	// Path of the server, if its Config.Path is not the default.
	Path string
}

func dialOptions(t TB, opts []DialOptions) DialOptions {
	t.Helper()
	switch len(opts) {
	case 0:
		return DialOptions{}
	case 1:
		return opts[0]
	}
	t.Fatalf("siotest: at most one DialOptions, not %d", len(opts))
	return DialOptions{}
}

// Dial connects a client to the server and its namespace, and returns the
// connected socket; it fails the test if that does not succeed within
// DefaultTimeout. Reconnection is off. Every event the socket receives is
// recorded from the start, for Next and NoEvent. The connection is closed
// by a t.Cleanup, or earlier by sock.Conn().Close().
func (s *Server) Dial(t TB, opts ...DialOptions) *client.Socket {
	t.Helper()
	o := dialOptions(t, opts)
	sock := s.NewSocket(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if err := sock.Connect(ctx, o.Auth); err != nil {
		t.Fatalf("siotest: connecting namespace %q: %v", sock.Namespace(), err)
	}
	return sock
}

// NewSocket is Dial without the namespace connection: it returns the
// socket on a new connection, ready for handlers to be registered before
// it connects (client.Handle for requests the server sends on connect),
// or for Connect to be called to see its error (a middleware's refusal is
// a *client.ConnectError). Events are recorded as with Dial.
func (s *Server) NewSocket(t TB, opts ...DialOptions) *client.Socket {
	t.Helper()
	o := dialOptions(t, opts)
	rec := &recorder{queues: make(map[string][]socketio.Args), changed: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	conn, err := client.Dial(ctx, s.URL, &client.Options{
		Path:        o.Path,
		Transports:  o.Transports,
		Header:      o.Header,
		Query:       o.Query,
		NoReconnect: true,
		OnError:     func(_ *client.Socket, err error) { rec.addError(err) },
	})
	if err != nil {
		t.Fatalf("siotest: dialing %s: %v", s.URL, err)
	}
	sock := conn.Of(cmp.Or(o.Namespace, "/"))
	sock.OnAny(rec.add)
	sock.OnDisconnect(rec.disconnect)
	recorders.Store(sock, rec)
	t.Cleanup(func() {
		conn.Close()
		recorders.Delete(sock)
		for _, err := range rec.takeErrors() {
			t.Errorf("siotest: client socket %q: %v", sock.Namespace(), err)
		}
	})
	return sock
}

// Next waits for the next event e that sock receives and returns its
// payload; it fails the test if none comes within timeout (0 means
// DefaultTimeout), if the socket disconnects first, or if the payload does
// not decode into T. Events are queued per name from the moment the
// socket was made: Next returns the oldest one not returned yet, and
// events of other names stay queued for their own Next. sock must come
// from Dial or NewSocket.
func Next[T any](t TB, sock *client.Socket, e socketio.Event[T], timeout time.Duration) T {
	t.Helper()
	var v T
	rec := recorderOf(t, sock)
	args, err := rec.next(e.Name(), cmp.Or(timeout, DefaultTimeout))
	if err != nil {
		t.Fatalf("siotest: %v", err)
		return v
	}
	if args.Len() > 0 {
		if err := args.Decode(0, &v); err != nil {
			t.Fatalf("siotest: event %q: payload %s does not decode into %T: %v", e.Name(), args.JSON(0), v, err)
		}
	}
	return v
}

// NoEvent fails the test if sock has received event e that Next has not
// returned, or receives one within wait.
func NoEvent[T any](t TB, sock *client.Socket, e socketio.Event[T], wait time.Duration) {
	t.Helper()
	rec := recorderOf(t, sock)
	if args, err := rec.next(e.Name(), wait); err == nil {
		t.Fatalf("siotest: unexpected event %q: %s", e.Name(), args.JSON(0))
	}
}

// Disconnected waits until sock is disconnected and returns the reason,
// as the client reports it (client.ReasonServerDisconnect when the server
// called Socket.Disconnect...); it fails the test if sock is still
// connected after timeout (0 means DefaultTimeout).
func Disconnected(t TB, sock *client.Socket, timeout time.Duration) string {
	t.Helper()
	rec := recorderOf(t, sock)
	reason, ok := rec.waitDisconnect(cmp.Or(timeout, DefaultTimeout))
	if !ok {
		t.Fatalf("siotest: socket %q still connected after %v", sock.Namespace(), cmp.Or(timeout, DefaultTimeout))
	}
	return reason
}

// AssertNoLeaks makes the test fail if, once it and its cleanups are done,
// goroutines started during the test are still running, or a server from
// NewServer still had connections after every client closed. Call it at
// the start of the test, before NewServer, and not in parallel tests (the
// goroutines of other tests would count).
func AssertNoLeaks(t TB) {
	t.Helper()
	if servers.has(t) {
		t.Fatalf("siotest: call AssertNoLeaks before NewServer, so that its check runs after the servers are closed")
	}
	ignore := goleak.IgnoreCurrent()
	checked.Store(t, true)
	t.Cleanup(func() {
		checked.Delete(t)
		if err := goleak.Find(ignore); err != nil {
			t.Errorf("siotest: goroutines leaked: %v", err)
		}
	})
}

var (
	recorders sync.Map // *client.Socket -> *recorder
	checked   sync.Map // TB -> true, under AssertNoLeaks
	servers   = serverSet{m: make(map[TB][]*Server)}
)

func leakChecked(t TB) bool {
	_, ok := checked.Load(t)
	return ok
}

type serverSet struct {
	mu sync.Mutex
	m  map[TB][]*Server
}

func (ss *serverSet) add(t TB, s *Server) {
	ss.mu.Lock()
	ss.m[t] = append(ss.m[t], s)
	ss.mu.Unlock()
}

func (ss *serverSet) remove(t TB, s *Server) {
	ss.mu.Lock()
	ss.m[t] = slices.DeleteFunc(ss.m[t], func(x *Server) bool { return x == s })
	if len(ss.m[t]) == 0 {
		delete(ss.m, t)
	}
	ss.mu.Unlock()
}

func (ss *serverSet) has(t TB) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m[t]) > 0
}

func recorderOf(t TB, sock *client.Socket) *recorder {
	t.Helper()
	rec, ok := recorders.Load(sock)
	if !ok {
		t.Fatalf("siotest: the socket was not made by siotest's Dial or NewSocket (or its test has ended)")
	}
	return rec.(*recorder)
}

// recorder keeps what a socket received, for Next.
type recorder struct {
	mu      sync.Mutex
	queues  map[string][]socketio.Args
	order   []string      // names of the events received, for messages
	changed chan struct{} // closed and replaced on every change
	down    bool
	reason  string
	errs    []error
}

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) add(event string, args socketio.Args) {
	r.mu.Lock()
	r.queues[event] = append(r.queues[event], args)
	r.order = append(r.order, event)
	r.notifyLocked()
	r.mu.Unlock()
}

func (r *recorder) disconnect(reason string) {
	r.mu.Lock()
	r.down, r.reason = true, reason
	r.notifyLocked()
	r.mu.Unlock()
}

func (r *recorder) addError(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *recorder) takeErrors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := r.errs
	r.errs = nil
	return errs
}

// next takes the oldest queued event of that name, waiting up to timeout.
func (r *recorder) next(event string, timeout time.Duration) (socketio.Args, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		if q := r.queues[event]; len(q) > 0 {
			args := q[0]
			r.queues[event] = q[1:]
			r.mu.Unlock()
			return args, nil
		}
		if r.down {
			reason := r.reason
			r.mu.Unlock()
			return socketio.Args{}, fmt.Errorf("no %q event: the socket disconnected (%s)", event, reason)
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return socketio.Args{}, fmt.Errorf("no %q event within %v (%s)", event, timeout, r.summary())
		}
	}
}

// summary lists the events received, for a failure message.
func (r *recorder) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.order) == 0 {
		return "no event received at all"
	}
	counts := map[string]int{}
	var names []string
	for _, n := range r.order {
		if counts[n] == 0 {
			names = append(names, n)
		}
		counts[n]++
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%q×%d", n, counts[n])
	}
	return "received: " + strings.Join(parts, ", ")
}

func (r *recorder) waitDisconnect(timeout time.Duration) (string, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		if r.down {
			reason := r.reason
			r.mu.Unlock()
			return reason, true
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return "", false
		}
	}
}
