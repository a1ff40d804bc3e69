package socketio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An event's name reaches its handler and the OnAny handlers whether it is
// registered or not, and whether it needs unescaping or not.
func TestEventNames(t *testing.T) {
	var (
		mu   sync.Mutex
		hits []string
		anys anyNames
	)
	rs := newRawServer(t, Config{}, func(s *Server) {
		ns := s.Of("/")
		anys.record(ns)
		for _, name := range []string{"hello", "héllo"} {
			ns.OnEvent(name, func(_ *Socket, args Args, ack Ack) {
				mu.Lock()
				hits = append(hits, name)
				mu.Unlock()
				ack(args.Slice()...)
			})
		}
	})
	c := rs.open(tWebSocket)
	connect(t, c, "/", "")
	for i, raw := range []string{
		`"hello"`,
		`"hel\u006co"`, // escaped: decoded by encoding/json
		`"héllo"`,      // not ASCII: likewise
		`"nobody"`,     // no handler: OnAny still gets it
		`"no\tbody"`,
	} {
		require.NoError(t, c.SendText(fmt.Sprintf(`42%d[%s,%d]`, i, raw, i)))
		if i < 3 {
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf(`43%d[%d]`, i, i), f.text)
		}
	}
	echo(t, c, 9, `"after"`) // in order: every event above has run
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"hello", "hello", "héllo"}, hits)
	assert.Equal(t, []string{"hello", "hello", "héllo", "nobody", "no\tbody", "echo"}, anys.take())
}

// anyNames records the event names an OnAny handler sees.
type anyNames struct {
	mu    sync.Mutex
	names []string
}

func (a *anyNames) record(ns *Namespace) {
	ns.OnAny(func(_ *Socket, name string, _ Args) {
		a.mu.Lock()
		a.names = append(a.names, name)
		a.mu.Unlock()
	})
}

// take returns the names seen so far, and forgets them.
func (a *anyNames) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := a.names
	a.names = nil
	return names
}

// An event name that only becomes reserved once unescaped is refused like
// the plain one.
func TestEventNameReservedEscaped(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	c := rs.open(tWebSocket)
	id := connect(t, c, "/", "")
	require.NoError(t, c.SendText(`42["\u0063onnect"]`))
	require.Equal(t, ReasonParseError, rs.waitReason(id, 5*time.Second))
	waitClosed(t, c, 5*time.Second)
}

// A client's Ack sends once, however many goroutines call it: the others,
// and any later call, get ErrAckSent.
func TestAckOnce(t *testing.T) {
	const callers = 8
	errs := make(chan error, callers+1)
	rs := newRawServer(t, Config{}, func(s *Server) {
		s.Of("/").OnEvent("twice", func(_ *Socket, _ Args, ack Ack) {
			var wg sync.WaitGroup
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- ack(i)
				}()
			}
			wg.Wait()
			errs <- ack("late")
		})
	})
	c := rs.open(tWebSocket)
	connect(t, c, "/", "")
	require.NoError(t, c.SendText(`427["twice"]`))
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	var n int
	_, err = fmt.Sscanf(f.text, "437[%d]", &n)
	require.NoError(t, err, f.text)
	sent := 0
	for range callers + 1 {
		if err := <-errs; err == nil {
			sent++
		} else {
			require.True(t, errors.Is(err, ErrAckSent), "%v", err)
		}
	}
	assert.Equal(t, 1, sent)
	// Nothing else was sent before the next answer.
	echo(t, c, 8, `"next"`)
}

// Handlers may be registered while events arrive: each event sees the
// handlers registered before it was handled, without a lock per event.
func TestRegisterWhileEventsArrive(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	ns := rs.srv.Of("/")
	c := rs.open(tWebSocket)
	connect(t, c, "/", "")
	var anys atomic.Int64
	ns.OnAny(func(*Socket, string, Args) { anys.Add(1) })
	stop := make(chan struct{})
	registered := make(chan struct{})
	go func() {
		defer close(registered)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ns.OnEvent(fmt.Sprintf("e%d", i%50), func(*Socket, Args, Ack) {})
			if i%10 == 0 {
				ns.OnAny(func(*Socket, string, Args) {})
			}
		}
	}()
	for i := range 200 {
		echo(t, c, i, fmt.Sprintf(`"m%d"`, i))
	}
	close(stop)
	<-registered
	ns.OnEvent("late", func(_ *Socket, args Args, ack Ack) { ack("late", args.Len()) })
	require.NoError(t, c.SendText(`42999["late",1,2]`))
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, `43999["late",2]`, f.text)
	assert.EqualValues(t, 201, anys.Load(), "the first OnAny saw every event")
}

// An event whose name is a number, which socket.io-parser allows, is the
// event named as JavaScript writes that number, as on the Node server.
func TestNumericEventNames(t *testing.T) {
	var anys anyNames
	rs := newRawServer(t, Config{}, func(s *Server) {
		ns := s.Of("/")
		anys.record(ns)
		for _, name := range []string{"42", "1000", "1.5e-8"} {
			ns.OnEvent(name, func(_ *Socket, args Args, ack Ack) { ack(name) })
		}
	})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			anys.take()
			c := rs.open(tr)
			id := connect(t, c, "/", "")
			for i, raw := range []string{`42,"a"`, `1e3`, `15e-9`, `-0`} {
				require.NoError(t, c.SendText(fmt.Sprintf(`42%d[%s]`, i, raw)))
				if i < 3 {
					f, err := c.Next(5 * time.Second)
					require.NoError(t, err)
					require.Equal(t, fmt.Sprintf(`43%d["%s"]`, i, []string{"42", "1000", "1.5e-8"}[i]), f.text)
				}
			}
			echo(t, c, 9, `"after"`) // still connected, every event above has run
			assert.Equal(t, []string{"42", "1000", "1.5e-8", "0", "echo"}, anys.take())
			select {
			case r := <-rs.reason(id):
				t.Fatalf("disconnected: %s", r)
			default:
			}
		})
	}
}

// jsNumberName agrees with String(JSON.parse(s)) in Node.
func TestJSNumberName(t *testing.T) {
	for in, want := range map[string]string{
		"42": "42", "-0": "0", "1.50": "1.5", "1e3": "1000", "1e21": "1e+21",
		"1.5e-8": "1.5e-8", "0.0000001": "1e-7", "0.000001": "0.000001",
		"1e999": "Infinity", "-1e999": "-Infinity", "-12.5e-10": "-1.25e-9",
		"5e-324": "5e-324", "0.1": "0.1", "123456789012": "123456789012",
		"-7": "-7", "1e-400": "0",
	} {
		assert.Equal(t, want, jsNumberName([]byte(in)), in)
	}
}

// Packets for a namespace that the server has just left, sent before the
// client could know, are dropped: the connection stays, the client gets
// the server's DISCONNECT, and the connection's other namespaces go on.
// (A namespace never joined still closes the connection: see
// TestHostileSocketIO.)
func TestPacketsAfterServerDisconnect(t *testing.T) {
	admins := make(chan *Socket, 1)
	var rs *rawServer
	rs = newRawServer(t, Config{}, func(s *Server) {
		ns := s.Of("/admin")
		ns.OnConnect(func(so *Socket) { admins <- so })
		ns.OnEvent("echo", func(_ *Socket, args Args, ack Ack) {
			if ack != nil {
				ack(args.Slice()...)
			}
		})
		ns.OnDisconnect(func(so *Socket, reason string) { rs.reason(so.ID()) <- reason })
	})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			c := rs.open(tr)
			connect(t, c, "/", "")
			id := connect(t, c, "/admin", "")
			so := <-admins
			so.Disconnect(false)
			assert.Equal(t, ReasonServerDisconnect, rs.waitReason(id, 5*time.Second))
			// Not yet read: the client does not know. An event, an
			// ack and its own DISCONNECT all cross the server's.
			require.NoError(t, c.SendText(`42/admin,["echo",1]`, `43/admin,5[]`, `41/admin,`))
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			assert.Equal(t, "41/admin,", f.text)
			echo(t, c, 7, `"still here"`) // "/" goes on

			// And "/admin" can be joined again.
			connect(t, c, "/admin", "")
			<-admins
			require.NoError(t, c.SendText(`42/admin,3["echo","again"]`))
			f, err = c.Next(5 * time.Second)
			require.NoError(t, err)
			assert.Equal(t, `43/admin,3["again"]`, f.text)

			// A client that leaves by itself knows it has: an event
			// after its DISCONNECT makes no sense, and closes the
			// connection.
			require.NoError(t, c.SendText(`41/admin,`, `42/admin,["echo",2]`))
			waitClosed(t, c, 5*time.Second)
		})
	}
}

// A socket is disconnected when its client leaves, even while its events
// wait for a handler: they still run, in order, then OnDisconnect; they
// see the socket disconnected, and what they emit to it fails with
// ErrDisconnected.
func TestEventsQueuedAtDisconnectStillRun(t *testing.T) {
	release := make(chan struct{})
	blocked := make(chan *Socket, 1)
	got := make(chan string, 8)
	rs := newRawServer(t, Config{}, func(s *Server) {
		ns := s.Of("/")
		ns.OnEvent("block", func(so *Socket, _ Args, _ Ack) {
			blocked <- so
			<-release
		})
		ns.OnEvent("later", func(so *Socket, _ Args, _ Ack) {
			err := so.Emit("reply", 1)
			got <- fmt.Sprintf("later connected=%v emit=%v", so.Connected(), errors.Is(err, ErrDisconnected))
		})
		ns.OnDisconnect(func(_ *Socket, reason string) { got <- "disconnect " + reason })
	})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			c := rs.open(tr)
			defer c.Close()
			connect(t, c, "/", "")
			require.NoError(t, c.SendText(`42["block"]`))
			so := <-blocked
			require.NoError(t, c.SendText(`42["later"]`, `41`))
			eventually(t, 5*time.Second, func() bool { return !so.Connected() }, "the client's DISCONNECT is handled at once")
			release <- struct{}{}
			for _, want := range []string{"later connected=false emit=true", "disconnect " + ReasonClientDisconnect} {
				select {
				case g := <-got:
					assert.Equal(t, want, g)
				case <-time.After(5 * time.Second):
					t.Fatalf("no %q", want)
				}
			}
		})
	}
}
