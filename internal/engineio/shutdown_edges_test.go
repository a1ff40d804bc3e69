package engineio

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shutdown while a GET waits with nothing queued: the GET is answered at
// once with the close packet (as the Node server's close() does), and
// Shutdown does not wait for the client.
func TestShutdownDuringLongPoll(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil) // PingTimeout 10 s
	c := s.handshake()
	got := c.getPending()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, s.srv.Shutdown(ctx))
	assert.Less(t, time.Since(start), time.Second)
	select {
	case res := <-got:
		assert.Equal(t, 200, res.status)
		assert.Equal(t, "1", res.body)
	case <-time.After(2 * time.Second):
		t.Fatal("the waiting GET was not answered")
	}
	assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, c.sid, time.Second))
}

// Shutdown after the probe, before the client's 5: the session closes on
// polling (a waiting GET, or the next one, gets the close packet), the
// probing WebSocket is closed too, and Shutdown does not wait for an
// upgrade that will not come.
func TestShutdownDuringProbe(t *testing.T) {
	t.Parallel()
	for _, pending := range []bool{true, false} {
		name := "GET waiting"
		if !pending {
			name = "no GET"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, quietConfig(), nil) // PingTimeout 10 s
			c := s.handshake()
			var waiting <-chan response
			if pending {
				waiting = c.getPending()
			}
			ws := c.probe()
			if pending {
				// The probe answers the waiting GET with a noop.
				assert.Equal(t, "6", (<-waiting).body)
			}
			got := make(chan response, 1)
			go func() { got <- c.get() }() // the client polls until it sends 5
			time.Sleep(50 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			require.NoError(t, s.srv.Shutdown(ctx))
			assert.Less(t, time.Since(start), 2*time.Second)
			select {
			case res := <-got:
				assert.Contains(t, []string{"1", "6"}, res.body)
			case <-time.After(3 * time.Second):
				t.Fatal("the GET was not answered")
			}
			ws.waitClosedSilently(2 * time.Second)
			assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, c.sid, time.Second))
			assert.Equal(t, 0, s.srv.Count())
		})
	}
}

// Shutdown with a long-polling client that has no GET waiting: one that
// comes back within shutdownPollGrace gets the close packet; one that does
// not (a closed tab) is closed then, and Shutdown does not wait PingTimeout
// for it.
func TestShutdownPollingClientAway(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil) // PingTimeout 10 s
	back, gone := s.handshake(), s.handshake()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.srv.Shutdown(ctx) }()

	time.Sleep(shutdownPollGrace / 4)
	assert.Equal(t, "1", back.get().body, "a client that polls again gets the close packet")
	assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, back.sid, time.Second))

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown waits for a client that is gone")
	}
	assert.GreaterOrEqual(t, time.Since(start), shutdownPollGrace)
	assert.Equal(t, ReasonShutdown, s.rec.waitClosed(t, gone.sid, time.Second))
	requireError(t, gone.get(), 400, codeUnknownSID)
	assert.Equal(t, 0, s.srv.Count())
}
