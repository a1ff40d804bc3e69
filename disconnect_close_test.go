package socketio

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// Disconnect(true) sends a DISCONNECT to every namespace of the connection
// before closing it, as the reference server does: socket.io-client reports
// a namespace that got none as "transport close" and reconnects it.
func TestDisconnectCloseTellsEveryNamespace(t *testing.T) {
	t.Parallel()
	srv, ts := newClusterServer(t, Config{})
	reasons := make(chan string, 1)
	srv.Of("/admin").OnDisconnect(func(_ *Socket, reason string) { reasons <- reason })
	c := clDial(t, ts, "")
	require.NoError(t, websocket.Message.Send(c.ws, "40/admin,"))
	msg := c.next()
	require.True(t, strings.HasPrefix(msg, "40/admin,{"), "CONNECT reply %q", msg)

	srv.Of("/").Socket(c.sid).Disconnect(true)
	var got []string
	for msg := c.next(); msg != ""; msg = c.next() {
		got = append(got, msg)
	}
	assert.Equal(t, []string{"41", "41/admin,"}, got)
	select {
	case r := <-reasons:
		assert.Equal(t, ReasonServerDisconnect, r)
	case <-time.After(5 * time.Second):
		t.Fatal("no OnDisconnect for /admin")
	}
}
