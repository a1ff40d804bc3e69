//go:build unix

package socketio_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

var reqWhere = socketio.NewRequest[string, bool]("where")

// Over a WebSocket on a plain socket, an event whose socket has no handler
// running is handled on the goroutine that read it: no goroutine is
// started per event. Polled events are handled on a goroutine of their
// own (the POST that brought them must be answered).
func TestHandlerRunsOnReader(t *testing.T) {
	t.Parallel()
	for transport, want := range map[string]bool{"websocket": true, "polling": false} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, socketio.Config{})
			socketio.Handle(r.srv.Of("/"), reqWhere, func(context.Context, *socketio.Socket, string) (bool, error) {
				return onReader(), nil
			})
			s := r.socketVia(t, transport, nil)
			for range 10 {
				got, err := client.EmitWithAck(ctx(t), s, reqWhere, "")
				require.NoError(t, err)
				assert.Equal(t, want, got)
			}
		})
	}
}
