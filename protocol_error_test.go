package socketio

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A packet that breaks the Socket.IO protocol disconnects the connection's
// sockets at once ("parse error"), and closes the connection as the Node
// server does: what was queued before it is still delivered, then the
// close. A long-polling client's next GET gets the close packet, not an
// unknown session (which socket.io-client would report as "transport
// error" instead of "transport close").
//
// The bad packet is sent once the handler has emitted: an event's handler
// may run on the socket's own goroutine, after the reader has gone on to
// the next packet (always over polling), and an emit made after the
// disconnect is dropped.
func TestProtocolErrorClosesGracefully(t *testing.T) {
	emitted := make(chan struct{}, 1)
	rs := newRawServer(t, Config{}, func(s *Server) {
		s.Of("/").OnEvent("queue", func(s *Socket, _ Args, _ Ack) {
			s.Emit("queued", 1)
			emitted <- struct{}{}
		})
	})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			c := rs.open(tr)
			defer c.Close()
			id := connect(t, c, "/", "")
			require.NoError(t, c.SendText(`42["queue"]`)) // its emit waits for the next GET
			select {
			case <-emitted:
			case <-time.After(5 * time.Second):
				t.Fatal("the handler did not run")
			}
			c.SendText(`42{"not":"an array"}`) // refused, over polling
			require.Equal(t, ReasonParseError, rs.waitReason(id, 5*time.Second))

			if tr == tPolling {
				var got []string
				for len(got) == 0 || got[len(got)-1] != "1" {
					res, err := rs.do(context.Background(), "GET", c.(*pollClient).query(), nil, nil)
					require.NoError(t, err)
					require.Equal(t, 200, res.status, "the session answers its GETs until it closes: %q after %q", res.body, got)
					got = append(got, strings.Split(res.body, "\x1e")...)
				}
				require.Equal(t, []string{`42["queued",1]`, "1"}, got)
			} else {
				f, err := c.Next(5 * time.Second)
				require.NoError(t, err)
				require.Equal(t, `42["queued",1]`, f.text)
				waitClosed(t, c, 5*time.Second)
			}
			rs.waitConns(0, 5*time.Second)
		})
	}
}

// An object that looks like a binary placeholder, in a packet without
// attachments, is plain data, as socket.io-parser and the Node server take
// it: it is delivered and sent back as it is, and the connection stays.
func TestPlaceholderObjectWithoutAttachments(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			c := rs.open(tr)
			defer c.Close()
			id := connect(t, c, "/", "")
			echo(t, c, 1, `{"_placeholder":true,"num":0}`)
			echo(t, c, 2, `[{"_placeholder":true,"num":3,"x":1}]`)
			require.NoError(t, c.SendText("41"))
			require.Equal(t, ReasonClientDisconnect, rs.waitReason(id, 5*time.Second))
		})
	}
}
