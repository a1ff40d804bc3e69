package socketio

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An emit named by a reserved event fails with ErrReservedEvent and sends
// nothing, as the Node server throws: socket.io-client would take such a
// packet for an invalid one and close the connection.
func TestEmitReservedName(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	c := rs.open(tWebSocket)
	defer c.Close()
	id := connect(t, c, "/", "")
	ns := rs.srv.Of("/")
	so := ns.Socket(id)
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		require.ErrorIs(t, so.Emit(name, 1), ErrReservedEvent, name)
		require.ErrorIs(t, ns.Emit(name, 1), ErrReservedEvent, name)
		require.ErrorIs(t, ns.To(id).Emit(name), ErrReservedEvent, name)
		_, err := so.EmitWithAck(context.Background(), name)
		require.ErrorIs(t, err, ErrReservedEvent, name)
		_, err = ns.Timeout(time.Second).EmitWithAck(context.Background(), name)
		require.ErrorIs(t, err, ErrReservedEvent, name)
	}
	// Not reserved: "error", "message".
	require.NoError(t, so.Emit("error", 1))
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, `42["error",1]`, f.text, "nothing was sent for the reserved names")
	echo(t, c, 1, `"still connected"`)
}
