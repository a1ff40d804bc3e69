package socketio

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A middleware may join rooms and emit, as on the Node server: the events
// reach the client ahead of its CONNECT (socket.io-client holds them until
// it has connected), and the rooms are joined when the socket connects, or
// never if a later middleware refuses it.
func TestMiddlewareJoinsAndEmits(t *testing.T) {
	rooms := make(chan []string, 2)
	rs := newRawServer(t, Config{}, func(srv *Server) {
		ns := srv.Of("/")
		ns.Use(func(s *Socket) error {
			if err := s.Join("mw-room", "mw-other"); err != nil {
				return err
			}
			s.Leave("mw-other")
			if err := s.Emit("mw-hello", 1); err != nil {
				return err
			}
			rooms <- s.Rooms()
			var auth struct{ Refuse bool }
			_ = s.DecodeAuth(&auth)
			if auth.Refuse {
				return errors.New("refused")
			}
			return nil
		})
		ns.OnConnect(func(s *Socket) { rooms <- s.Rooms() })
	})
	for _, tr := range []string{tWebSocket, tPolling} {
		t.Run(tr, func(t *testing.T) {
			c := rs.open(tr)
			defer c.Close()
			require.NoError(t, c.SendText("40"))
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `42["mw-hello",1]`, f.text)
			f, err = c.Next(5 * time.Second)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(f.text, `40{"sid":`), f.text)
			require.Equal(t, []string{"mw-room"}, <-rooms, "rooms seen by the middleware")
			connected := <-rooms
			require.Len(t, connected, 2)
			require.Equal(t, "mw-room", connected[0], "rooms joined in a middleware come first, as on Node")

			require.NoError(t, rs.srv.Of("/").To("mw-room").Emit("room-msg", "hi"))
			f, err = c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `42["room-msg","hi"]`, f.text)
			rs.srv.Of("/").To("mw-room").DisconnectSockets(false)
		})
	}
	t.Run("refused", func(t *testing.T) {
		c := rs.open(tWebSocket)
		defer c.Close()
		require.NoError(t, c.SendText(`40{"Refuse":true}`))
		var texts []string
		for len(texts) < 2 {
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			texts = append(texts, f.text)
		}
		require.Equal(t, []string{`42["mw-hello",1]`, `44{"message":"refused"}`}, texts)
		<-rooms
		require.Empty(t, rs.srv.Of("/").To("mw-room").Sockets(), "a refused socket is in no room")
	})
}

// Disconnect in a middleware does nothing, as on the Node server (the
// socket is not connected yet): the socket connects. It used to leave the
// client waiting for a CONNECT that never came (or, with close, to close
// the connection without a word about the namespace).
func TestDisconnectInMiddlewareIsNoop(t *testing.T) {
	rs := newRawServer(t, Config{}, func(srv *Server) {
		srv.Of("/").Use(func(s *Socket) error {
			var auth struct{ Close bool }
			_ = s.DecodeAuth(&auth)
			s.Disconnect(auth.Close)
			return nil
		})
	})
	for _, auth := range []string{`{"Close":false}`, `{"Close":true}`} {
		c := rs.open(tWebSocket)
		connect(t, c, "/", auth)
		echo(t, c, 1, `"still here"`)
		c.Close()
	}
}

// A second CONNECT to a namespace whose first is still in its middlewares
// (socket.io-client sends one when the application calls disconnect() then
// connect() meanwhile: it sends no DISCONNECT, not being connected) drops
// the first socket and connects the second; it used to close the whole
// connection, every namespace with it.
func TestReconnectWhileMiddlewareRuns(t *testing.T) {
	var gate atomic.Value // chan struct{}, closed to let the middlewares go on
	cancelled := make(chan bool, 2)
	var connects atomic.Int32
	rs := newRawServer(t, Config{}, func(srv *Server) {
		srv.Of("/admin").OnEvent("echo", func(_ *Socket, args Args, ack Ack) { ack(args.Slice()...) })
		ns := srv.Of("/")
		ns.Use(func(s *Socket) error {
			<-gate.Load().(chan struct{})
			cancelled <- s.Context().Err() != nil
			return nil
		})
		ns.OnConnect(func(*Socket) { connects.Add(1) })
	})
	for _, tr := range []string{tWebSocket, tPolling} {
		t.Run(tr, func(t *testing.T) {
			connects.Store(0)
			release := make(chan struct{})
			gate.Store(release)
			c := rs.open(tr)
			defer c.Close()
			connect(t, c, "/admin", "")
			require.NoError(t, c.SendText("40"))
			require.NoError(t, c.SendText("40"))
			// both CONNECTs read before the middlewares go on
			time.Sleep(50 * time.Millisecond)
			close(release)
			// the first socket was dropped, the second goes on
			recv := func() bool {
				select {
				case v := <-cancelled:
					return v
				case <-time.After(5 * time.Second):
					t.Fatal("a middleware did not return")
					return false
				}
			}
			require.ElementsMatch(t, []bool{true, false}, []bool{recv(), recv()})
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(f.text, `40{"sid":`), f.text)
			echo(t, c, 1, `"connected"`)
			require.NoError(t, c.SendText(`42/admin,1["echo","admin"]`))
			f, err = c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `43/admin,1["admin"]`, f.text, "/admin still there")
			require.Equal(t, int32(1), connects.Load())
		})
	}
}
