package socketio

// Socket.IO packets that the Node reference server (socket.io 4.8.4)
// handles in a particular way, sent raw over both transports; the same
// scenarios run against both servers in interop/test/sio-raw.test.js.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An ACK without a payload (43<id>) acknowledges with no arguments: the
// Node server calls the ack with none, and the connection stays.
func TestAckWithoutPayload(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, Config{}, nil)
			c := rs.open(tr)
			defer c.Close()
			id := connect(t, c, "/", "")
			so := rs.srv.Of("/").Socket(id)
			require.NotNil(t, so)

			type result struct {
				args Args
				err  error
			}
			got := make(chan result, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				a, err := so.EmitWithAck(ctx, "q", 1)
				got <- result{a, err}
			}()
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `420["q",1]`, f.text)
			require.NoError(t, c.SendText(`430`))
			r := <-got
			require.NoError(t, r.err)
			require.Equal(t, 0, r.args.Len())

			echo(t, c, 1, `"still connected"`)
			require.True(t, so.Connected())
		})
	}
}
