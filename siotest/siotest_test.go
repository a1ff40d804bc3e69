package siotest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	Ping  = socketio.NewEvent[int]("ping")
	Pong  = socketio.NewEvent[int]("pong")
	Note  = socketio.NewEvent[string]("note")
	Info  = socketio.NewRequest[struct{}, Details]("info")
	Leave = socketio.NewEvent[struct{}]("leave")
)

// Details is what the server saw of the connection.
type Details struct {
	Nsp       string            `json:"nsp"`
	Auth      map[string]string `json:"auth"`
	Header    string            `json:"header"`
	Query     string            `json:"query"`
	Transport string            `json:"transport"`
}

func newTestServer(cfg socketio.Config) *socketio.Server {
	srv := socketio.New(cfg)
	for _, name := range []string{"/", "/admin"} {
		ns := srv.Of(name)
		ns.OnConnect(func(s *socketio.Socket) {
			socketio.Emit(s, Note, "first")
			socketio.Emit(s, Pong, 0)
			socketio.Emit(s, Note, "second")
		})
		socketio.On(ns, Ping, func(s *socketio.Socket, n int) { socketio.Emit(s, Pong, n+1) })
		socketio.On(ns, Leave, func(s *socketio.Socket, _ struct{}) { s.Disconnect(false) })
		socketio.Handle(ns, Info, func(_ context.Context, s *socketio.Socket, _ struct{}) (Details, error) {
			var d Details
			s.DecodeAuth(&d.Auth)
			hs := s.Handshake()
			d.Nsp, d.Header, d.Query, d.Transport = s.Namespace().Name(), hs.Header.Get("X-Test"), hs.Query.Get("q"), s.Transport()
			return d, nil
		})
	}
	return srv
}

func TestNext(t *testing.T) {
	AssertNoLeaks(t)
	ts := NewServer(t, newTestServer(socketio.Config{}))
	sock := ts.Dial(t)

	// Recorded from the start, queued per event name.
	assert.Equal(t, 0, Next(t, sock, Pong, 0))
	assert.Equal(t, "first", Next(t, sock, Note, 0))
	assert.Equal(t, "second", Next(t, sock, Note, 0))
	NoEvent(t, sock, Note, 20*time.Millisecond)

	for i := range 3 {
		require.NoError(t, client.Emit(sock, Ping, i*10))
	}
	for i := range 3 {
		assert.Equal(t, i*10+1, Next(t, sock, Pong, time.Second))
	}

	require.NoError(t, client.Emit(sock, Leave, struct{}{}))
	assert.Equal(t, client.ReasonServerDisconnect, Disconnected(t, sock, 0))
}

func TestDialOptions(t *testing.T) {
	ts := NewServer(t, newTestServer(socketio.Config{Path: "/rt/"}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sock := ts.Dial(t, DialOptions{
		Namespace:  "/admin",
		Auth:       map[string]string{"token": "t"},
		Transports: []string{"websocket"},
		Header:     http.Header{"X-Test": {"h"}},
		Query:      url.Values{"q": {"v"}},
		Path:       "/rt/",
	})
	d, err := client.EmitWithAck(ctx, sock, Info, struct{}{})
	require.NoError(t, err)
	assert.Equal(t, Details{Nsp: "/admin", Auth: map[string]string{"token": "t"}, Header: "h", Query: "v", Transport: "websocket"}, d)
	assert.Equal(t, "first", Next(t, sock, Note, 0))
}

// fakeT records what a test would report. Its Fatalf ends the goroutine,
// as testing's does: run the code under test with run.
type fakeT struct {
	mu       sync.Mutex
	cleanups []func()
	errors   []string
	fatal    string
}

func (*fakeT) Helper()             {}
func (f *fakeT) Cleanup(fn func()) { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }
func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run runs fn as a test body would, then the cleanups, and returns the
// fatal message and the errors.
func run(fn func(t *fakeT)) (fatal string, errors []string) {
	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return f.fatal, f.errors
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fn    func(t *fakeT, ts *Server)
		fatal string // a part of the message
		error string
	}{
		{"timeout", func(t *fakeT, ts *Server) {
			sock := ts.Dial(t)
			Next(t, sock, Ping, 20*time.Millisecond)
		}, `no "ping" event within 20ms (received: "note"×2, "pong"×1)`, ""},
		{"disconnected", func(t *fakeT, ts *Server) {
			sock := ts.Dial(t)
			client.Emit(sock, Leave, struct{}{})
			Next(t, sock, Ping, time.Minute)
		}, `no "ping" event: the socket disconnected (io server disconnect)`, ""},
		{"does not decode", func(t *fakeT, ts *Server) {
			sock := ts.Dial(t)
			Next(t, sock, socketio.NewEvent[bool]("note"), 0)
		}, `event "note": payload "first" does not decode into bool`, ""},
		{"unexpected event", func(t *fakeT, ts *Server) {
			NoEvent(t, ts.Dial(t), Note, time.Second)
		}, `unexpected event "note": "first"`, ""},
		{"still connected", func(t *fakeT, ts *Server) {
			Disconnected(t, ts.Dial(t), 10*time.Millisecond)
		}, `socket "/" still connected after 10ms`, ""},
		{"not a siotest socket", func(t *fakeT, ts *Server) {
			Next(t, &client.Socket{}, Note, 0)
		}, "was not made by siotest", ""},
		{"refused", func(t *fakeT, ts *Server) {
			ts.Dial(t, DialOptions{Namespace: "/nope"})
		}, `connecting namespace "/nope"`, ""},
		{"two options", func(t *fakeT, ts *Server) {
			ts.Dial(t, DialOptions{}, DialOptions{})
		}, "at most one DialOptions", ""},
		{"client handler error", func(t *fakeT, ts *Server) {
			sock := ts.NewSocket(t)
			client.On(sock, socketio.NewEvent[bool]("note"), func(bool) {})
			sock.Connect(context.Background(), nil)
			Next(t, sock, Pong, 0)
			Next(t, sock, Note, 0)
			Next(t, sock, Note, 0)
		}, "", `payload of "note" does not decode`},
		{"AssertNoLeaks after NewServer", func(t *fakeT, ts *Server) {
			AssertNoLeaks(t)
			t.Fatalf("not reached: NewServer ran first")
		}, "call AssertNoLeaks before NewServer", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fatal, errs := run(func(f *fakeT) {
				tc.fn(f, NewServer(f, newTestServer(socketio.Config{})))
			})
			if tc.fatal == "" {
				assert.Empty(t, fatal)
			} else {
				assert.Contains(t, fatal, tc.fatal)
			}
			if tc.error == "" {
				assert.Empty(t, errs)
			} else if assert.NotEmpty(t, errs) {
				assert.Contains(t, errs[0], tc.error)
			}
		})
	}
}

func TestAssertNoLeaks(t *testing.T) {
	t.Run("goroutine", func(t *testing.T) {
		stop := make(chan struct{})
		defer close(stop)
		_, errs := run(func(f *fakeT) {
			AssertNoLeaks(f)
			go func() { <-stop }()
		})
		require.Len(t, errs, 1)
		assert.Contains(t, errs[0], "goroutines leaked")
	})
	t.Run("session", func(t *testing.T) {
		defer func(d time.Duration) { sessionWait = d }(sessionWait)
		sessionWait = 100 * time.Millisecond
		var conn *client.Conn
		_, errs := run(func(f *fakeT) {
			AssertNoLeaks(f)
			ts := NewServer(f, newTestServer(socketio.Config{}))
			var err error
			conn, err = client.Dial(context.Background(), ts.URL, &client.Options{NoReconnect: true})
			require.NoError(t, err)
		})
		conn.Close()
		require.NotEmpty(t, errs)
		assert.Contains(t, errs[0], "1 connection(s) still open")
	})
	t.Run("clean", func(t *testing.T) {
		fatal, errs := run(func(f *fakeT) {
			AssertNoLeaks(f)
			ts := NewServer(f, newTestServer(socketio.Config{}))
			ts.Dial(f)
			ts.Dial(f, DialOptions{Transports: []string{"polling"}})
		})
		assert.Empty(t, fatal)
		assert.Empty(t, errs)
	})
}

func TestCloseTwice(t *testing.T) {
	ts := NewServer(t, newTestServer(socketio.Config{}))
	ts.Dial(t).Conn().Close()
	ts.Close()
	ts.Close()
	_, err := http.Get(ts.URL)
	assert.Error(t, err)
	assert.True(t, strings.HasPrefix(ts.URL, "http://127.0.0.1:"), ts.URL)
}
