package client_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// TestTLS runs acks and a room broadcast over https and wss. A hijacked
// TLS connection is not a socket the server can write to without waiting
// (see internal/engineio's rawWriter): every write goes through the
// session's writer goroutine there.
func TestTLS(t *testing.T) {
	srv := socketio.New(socketio.Config{})
	ns := srv.Of("/")
	ns.OnConnect(func(s *socketio.Socket) { s.Join("room") })
	ns.OnEvent("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		ack(args.Slice()[0], s.Handshake().Secure)
	})
	ns.OnEvent("shout", func(s *socketio.Socket, args socketio.Args, _ socketio.Ack) {
		s.To("room").Emit("heard", args.Slice()[0])
	})
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(func() { stopGo(srv, ts) })

	for name, transports := range map[string][]string{
		"websocket": {"websocket"},
		"upgrade":   {"polling", "websocket"},
		"polling":   {"polling"},
	} {
		t.Run(name, func(t *testing.T) {
			dial := func() *client.Socket {
				o := opts(transports...)
				o.HTTPClient = ts.Client()
				return connect(t, ts.URL, o, nil)
			}
			a, b := dial(), dial()
			heard := make(chan string, 2)
			for _, s := range []*client.Socket{a, b} {
				s.OnEvent("heard", func(args socketio.Args, _ socketio.Ack) {
					var m string
					args.Decode(0, &m)
					heard <- m
				})
			}
			for i := range 20 {
				reply, err := a.EmitWithAck(testCtx(t), "echo", i)
				require.NoError(t, err)
				var n int
				var secure bool
				require.NoError(t, reply.Decode(0, &n))
				require.NoError(t, reply.Decode(1, &secure))
				require.Equal(t, i, n)
				require.True(t, secure, "Handshake().Secure")
			}
			require.NoError(t, b.Emit("shout", "hi")) // to the room but b
			require.Equal(t, "hi", recv(t, heard, "broadcast"))
		})
	}
}
