package socketio_test

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// Where handlers run: an event that finds its socket's handlers idle runs
// on the goroutine that read it, when that goroutine can be lent (see
// engineio.Loan). Handlers may still block on anything, their own
// client included.

// onReader reports whether the caller runs under a connection's reader.
func onReader() bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "engineio.(*Session).readLoop(")
}

var reqAsk = socketio.NewRequest[string, string]("ask")

// socketVia connects a client to "/" over transport only, after setup
// registered its handlers (setup may be nil).
func (r *rig) socketVia(t *testing.T, transport string, setup func(*client.Socket)) *client.Socket {
	t.Helper()
	c, err := client.Dial(ctx(t), r.url, &client.Options{Transports: []string{transport}, NoReconnect: true})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	s := c.Of("/")
	if setup != nil {
		setup(s)
	}
	require.NoError(t, s.Connect(ctx(t), nil))
	return s
}

// A handler that asks its own client, and waits for the answer, gets it:
// the connection is read meanwhile.
func TestHandlerAsksItsOwnClient(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, socketio.Config{})
			socketio.Handle(r.srv.Of("/"), reqAsk, func(ctx context.Context, s *socketio.Socket, q string) (string, error) {
				return socketio.EmitWithAck(ctx, s, reqName, q)
			})
			s := r.socketVia(t, transport, func(s *client.Socket) {
				client.Handle(s, reqName, func(_ context.Context, q string) (string, error) { return "re: " + q, nil })
			})
			for _, q := range []string{"one", "two", "three"} {
				got, err := client.EmitWithAck(ctx(t), s, reqAsk, q)
				require.NoError(t, err)
				assert.Equal(t, "re: "+q, got)
			}
		})
	}
}

// A handler that waits for its socket to disconnect is released when the
// client goes away.
func TestHandlerWaitsForDisconnect(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	waiting, released := make(chan struct{}), make(chan struct{})
	r.srv.Of("/").OnEvent("wait", func(s *socketio.Socket, _ socketio.Args, _ socketio.Ack) {
		close(waiting)
		<-s.Context().Done()
		close(released)
	})
	s := r.socket(t, "/", nil, nil)
	require.NoError(t, s.Emit("wait"))
	wait(t, waiting, "the handler")
	s.Conn().Close()
	wait(t, released, "the handler's release by the disconnect")
	require.Eventually(t, func() bool { return r.srv.ConnectionCount() == 0 }, 5*time.Second, time.Millisecond)
}

// A handler that ends its goroutine (runtime.Goexit, as t.FailNow does)
// loses neither the connection nor the socket's later events, and the
// server still shuts down.
func TestHandlerGoexit(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, socketio.Config{})
			var exited atomic.Int32
			r.srv.Of("/").OnEvent("exit", func(*socketio.Socket, socketio.Args, socketio.Ack) {
				exited.Add(1)
				runtime.Goexit()
			})
			socketio.Handle(r.srv.Of("/"), reqName, func(_ context.Context, _ *socketio.Socket, q string) (string, error) {
				return "re: " + q, nil
			})
			s := r.socketVia(t, transport, nil)
			for i := range 3 {
				require.NoError(t, s.Emit("exit"))
				got, err := client.EmitWithAck(ctx(t), s, reqName, "after")
				require.NoError(t, err, "round %d", i)
				assert.Equal(t, "re: after", got)
			}
			assert.EqualValues(t, 3, exited.Load())
			s.Conn().Close()
			require.Eventually(t, func() bool { return r.srv.ConnectionCount() == 0 }, 5*time.Second, time.Millisecond)
		})
	}
}
