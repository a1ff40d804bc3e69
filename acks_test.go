package socketio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// Acknowledgements the server waits for.

func TestAckTimeout(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	s := r.socket(t, "/", nil, func(s *client.Socket) {
		s.OnEvent("name", func(args socketio.Args, ack socketio.Ack) {}) // never answers
	})
	so := r.serverSocket(t, s)
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := socketio.EmitWithAck(c, so, reqName, "q")
	assert.ErrorIs(t, err, socketio.ErrAckTimeout)
	assert.NotErrorIs(t, err, socketio.ErrDisconnected)
	var ae *socketio.AckError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "name", ae.Event)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.True(t, so.Connected())
}

func TestAckDisconnectWhileWaiting(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	asked := make(chan struct{})
	s := r.socket(t, "/", nil, func(s *client.Socket) {
		s.OnEvent("name", func(args socketio.Args, ack socketio.Ack) { close(asked) })
	})
	so := r.serverSocket(t, s)
	result := make(chan error, 1)
	go func() {
		_, err := socketio.EmitWithAck(context.Background(), so, reqName, "q") // no deadline
		result <- err
	}()
	<-asked
	s.Conn().Close()
	err := wait(t, result, "the waiter's release")
	assert.ErrorIs(t, err, socketio.ErrDisconnected)
	assert.NotErrorIs(t, err, socketio.ErrAckTimeout)
	var de *socketio.DisconnectError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, socketio.ReasonClientDisconnect, de.Reason)

	// Once disconnected, EmitWithAck fails at once.
	_, err = socketio.EmitWithAck(context.Background(), so, reqName, "q")
	assert.ErrorIs(t, err, socketio.ErrDisconnected)
}

// An acknowledgement that comes after the deadline is ignored: it neither
// answers a later request nor upsets the connection.
func TestLateAckIgnored(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	s := r.socket(t, "/", nil, func(s *client.Socket) {
		client.Handle(s, reqName, func(ctx context.Context, q string) (string, error) {
			if q == "slow" {
				time.Sleep(200 * time.Millisecond) // handlers run in order: the next waits
			}
			return "re: " + q, nil
		})
	})
	so := r.serverSocket(t, s)
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := socketio.EmitWithAck(c, so, reqName, "slow")
	require.ErrorIs(t, err, socketio.ErrAckTimeout)

	reply, err := socketio.EmitWithAck(ctx(t), so, reqName, "fast")
	require.NoError(t, err)
	assert.Equal(t, "re: fast", reply)
	assert.True(t, so.Connected())
	assert.True(t, s.Connected())
	none(t, r.errs, "error")
}

// The server's EmitWithAck reports a Go client's failed Handle as a
// *RemoteError (it used to decode {"error":...} into a zero response).
func TestServerEmitWithAckRemoteError(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	s := r.socket(t, "/", nil, func(s *client.Socket) {
		client.Handle(s, reqSum, func(ctx context.Context, q sumReq) (int, error) {
			return 0, errors.New("cannot add")
		})
	})
	_, err := socketio.EmitWithAck(ctx(t), r.serverSocket(t, s), reqSum, sumReq{A: 1, B: 2})
	var re *socketio.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "cannot add", re.Message)
}

// EmitWithAcks collects the replies of every socket of a broadcast; when
// some do not answer in time it returns the others with an error.
func TestBroadcastEmitWithAcks(t *testing.T) {
	t.Parallel()
	r := newRig(t, socketio.Config{})
	ns := r.srv.Of("/")
	socketio.Handle(ns, reqRooms, func(ctx context.Context, s *socketio.Socket, rooms []string) ([]string, error) {
		return nil, s.Join(rooms...)
	})
	answering := func(name string) func(*client.Socket) {
		return func(s *client.Socket) {
			client.Handle(s, reqName, func(ctx context.Context, q string) (string, error) { return name + ": " + q, nil })
		}
	}
	var all []*client.Socket
	for _, name := range []string{"a", "b", "c"} {
		s := r.socket(t, "/", nil, answering(name))
		_, err := client.EmitWithAck(ctx(t), s, reqRooms, []string{"team"})
		require.NoError(t, err)
		all = append(all, s)
	}
	mute := r.socket(t, "/", nil, func(s *client.Socket) {
		s.OnEvent("name", func(args socketio.Args, ack socketio.Ack) {})
	})
	_ = mute

	replies, err := socketio.EmitWithAcks(ctx(t), ns.To("team"), reqName, "hi")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a: hi", "b: hi", "c: hi"}, replies)

	// The mute socket is in the selection: partial replies and an error.
	start := time.Now()
	replies, err = socketio.EmitWithAcks(ctx(t), ns.Timeout(100*time.Millisecond), reqName, "all")
	assert.ErrorIs(t, err, socketio.ErrAckTimeout)
	assert.ElementsMatch(t, []string{"a: all", "b: all", "c: all"}, replies)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	// An empty selection answers at once.
	replies, err = socketio.EmitWithAcks(ctx(t), ns.To("nobody"), reqName, "?")
	require.NoError(t, err)
	assert.Empty(t, replies)
	_ = all
}
