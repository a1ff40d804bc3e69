package engineio

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A client that completes its upgrade (sends 5) just after the server began
// closing the session gracefully (Shutdown, Close) has stopped polling: the
// session must carry on over the WebSocket, deliver what is queued and
// close, rather than drop the WebSocket and wait PingTimeout for a poll that
// never comes. (Found by the Go client closing mid-upgrade: Shutdown with
// no deadline then blocked for PingTimeout.)
func TestUpgradeCompletedWhileClosing(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil) // PingTimeout 10s
	c := s.handshake()
	ws := c.probe()
	sess := s.srv.Session(c.sid)
	require.NotNil(t, sess)
	require.NoError(t, sess.Send(Packet{Data: []byte("4goodbye")}))

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.srv.Shutdown(ctx)
	}()
	eventually(t, time.Second, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.state == stateClosing
	}, "session closing")

	ws.mustSend("5")
	assert.Equal(t, "4goodbye", ws.readText(2*time.Second))
	ws.waitClosed(2 * time.Second)
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Shutdown still waits for the session")
	}
	assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, c.sid, time.Second))
}
