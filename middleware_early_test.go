package socketio

import (
	"errors"
	"strings"
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
