package engineio

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// isParked reports whether sess's reader has parked.
func isParked(sess *Session) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.parkTok != 0
}

// openParked opens n WebSocket sessions on s, which echoes, and waits
// until each has parked.
func openParked(t *testing.T, s *testServer, n int) ([]*wsClient, []*Session) {
	t.Helper()
	s.rec.echo = true
	clients := make([]*wsClient, n)
	sessions := make([]*Session, n)
	for i := range clients {
		c, op := s.openWS()
		clients[i], sessions[i] = c, s.srv.Session(op.SID)
		require.NotNil(t, sessions[i])
	}
	for _, sess := range sessions {
		require.Eventually(t, func() bool { return isParked(sess) }, 5*time.Second, time.Millisecond, "idle sessions park")
	}
	return clients, sessions
}

// Idle WebSockets hold no reader goroutine. Each wakes for what its client
// sends, and parks again; a server's close and a client's close reach a
// parked session too.
func TestParkedWebSocket(t *testing.T) {
	// Not parallel: it counts goroutines, and sets parkAfterMax (the
	// rounds below make the readers busy for a while).
	defer func(d time.Duration) { parkAfterMax = d }(parkAfterMax)
	parkAfterMax = 100 * time.Millisecond
	s := newTestServer(t, quietConfig(), nil)
	const n = 20
	clients, sessions := openParked(t, s, n)
	allParked := func() bool {
		for _, sess := range sessions {
			if !isParked(sess) {
				return false
			}
		}
		return true
	}
	assert.Equal(t, 0, readers(), "no goroutine reads an idle WebSocket")

	for round := range 3 {
		for i, c := range clients {
			c.mustSend(fmt.Sprintf("4r%d-%d", round, i))
		}
		for i, c := range clients {
			assert.Equal(t, fmt.Sprintf("4r%d-%d", round, i), c.readText(2*time.Second))
		}
		require.Eventually(t, allParked, 5*time.Second, time.Millisecond, "and park again")
	}
	for i, sess := range sessions {
		assert.Equal(t, []string{"r0-" + fmt.Sprint(i), "r1-" + fmt.Sprint(i), "r2-" + fmt.Sprint(i)}, s.rec.messages(sess.ID()))
	}

	// Closed by the server, gracefully or not, and by the client, with a
	// close frame or without.
	sessions[0].Close("bye")
	assert.Equal(t, closeNormal, clients[0].waitClosed(2*time.Second))
	assert.Equal(t, "bye", s.rec.waitClosed(t, sessions[0].ID(), 2*time.Second))

	sessions[1].Abort("gone")
	assert.Equal(t, closeNormal, clients[1].waitClosed(2*time.Second))
	assert.Equal(t, "gone", s.rec.waitClosed(t, sessions[1].ID(), 2*time.Second))

	clients[2].close()
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, sessions[2].ID(), 2*time.Second))

	clients[3].rc.Conn.Close()
	assert.Equal(t, ReasonTransportClose, s.rec.waitClosed(t, sessions[3].ID(), 2*time.Second))

	// The connection of a session closed while parked is closed, even if
	// its client sends nothing more (not even its own close frame): the
	// client reads the server's close frame, then the end of the stream.
	sessions[4].Abort("silent")
	clients[4].rc.Conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	rest, err := io.ReadAll(clients[4].rc.Conn)
	require.NoError(t, err, "the server closes the connection")
	require.NotEmpty(t, rest)
	assert.Equal(t, byte(0x88), rest[len(rest)-4], "a close frame (1000) last: % x", rest)
	assert.Equal(t, "silent", s.rec.waitClosed(t, sessions[4].ID(), 2*time.Second))
	assert.Equal(t, n-5, s.srv.Count())
}

// A reader woken soon after parking, twice in a row, stays (busy) while
// bytes keep coming, and parks once they stop.
func TestParkBusyReader(t *testing.T) {
	defer func(d time.Duration) { parkAfterMax = d }(parkAfterMax)
	parkAfterMax = 100 * time.Millisecond

	s := newTestServer(t, quietConfig(), nil)
	s.rec.echo = true
	c, op := s.openWS()
	sess := s.srv.Session(op.SID)
	require.Eventually(t, func() bool { return isParked(sess) }, 5*time.Second, time.Millisecond)

	stayed := 0
	for i := range 40 {
		c.mustSend(fmt.Sprint("4m", i))
		require.Equal(t, fmt.Sprint("4m", i), c.readText(2*time.Second))
		time.Sleep(10 * time.Millisecond)
		if !isParked(sess) {
			stayed++
		}
	}
	assert.Greater(t, stayed, 30, "a busy reader does not park between messages")
	require.Eventually(t, func() bool { return isParked(sess) }, 5*time.Second, time.Millisecond, "quiet: parked")
	c.mustSend("4last")
	assert.Equal(t, "4last", c.readText(2*time.Second))
}

// A connection whose only traffic is the heartbeat parks between pongs,
// however short the ping interval: a pong every interval is not busy.
func TestParkBetweenHeartbeats(t *testing.T) {
	t.Parallel()
	cfg := Config{PingInterval: 150 * time.Millisecond, PingTimeout: 5 * time.Second}
	s := newTestServer(t, cfg, nil)
	c, op := s.openWS()
	sess := s.srv.Session(op.SID)
	for range 6 {
		require.Equal(t, "2", string(c.read(2*time.Second).data))
		c.mustSend("3")
		require.Eventually(t, func() bool { return isParked(sess) }, 2*time.Second, time.Millisecond,
			"parked after the pong")
	}
	assert.False(t, s.rec.isClosed(op.SID))
}

// A frame whose bytes come slowly, to a busy reader, is not cut short by
// the deadline that would park the reader: it is read whole.
func TestParkSlowFrameWhileBusy(t *testing.T) {
	defer func(d time.Duration) { parkAfterMax = d }(parkAfterMax)
	parkAfterMax = 50 * time.Millisecond

	s := newTestServer(t, quietConfig(), nil)
	s.rec.echo = true
	c := dialRawWS(t, s)
	op, open, ok := c.read()
	require.True(t, ok)
	require.Equal(t, byte(1), op)
	sid := parseOpen(t, string(open)).SID
	for _, m := range []string{"4a", "4b", "4c"} { // quick wake-ups: busy
		c.frame(true, 1, []byte(m))
		_, got, ok := c.read()
		require.True(t, ok)
		require.Equal(t, m, string(got))
	}
	big := "4" + strings.Repeat("x", 3*wsReadChunk)
	f := maskedFrame(true, 1, []byte(big))
	half := len(f) / 2
	_, err := c.conn.Write(f[:half])
	require.NoError(t, err)
	time.Sleep(4 * parkAfterMax)
	_, err = c.conn.Write(f[half:])
	require.NoError(t, err)
	_, got, ok := c.read()
	require.True(t, ok, "the session was closed")
	require.Equal(t, big, string(got))
	require.Equal(t, []string{"a", "b", "c", big[1:]}, s.rec.messages(sid))
	require.False(t, s.rec.isClosed(sid))
}

// stormSession opens a WebSocket session on s, which echoes, sends it n
// messages (after pause(j) before the j-th, to let it park) checking each
// echo, then closes it one of three ways (by i) and waits for OnClose.
func stormSession(t *testing.T, s *testServer, g, i, n int, pause func(j int) time.Duration) {
	c, op := s.openWS()
	sess := s.srv.Session(op.SID)
	for j := range n {
		time.Sleep(pause(j))
		msg := fmt.Sprintf("4g%d-%d-%d", g, i, j)
		if err := c.send(msg); err != nil {
			t.Errorf("send %s: %v", msg, err)
			return
		}
		if f, err := c.next(5 * time.Second); err != nil || string(f.data) != msg {
			t.Errorf("echo of %s: %q, %v", msg, f.data, err)
			return
		}
	}
	switch i % 3 {
	case 0:
		sess.Abort("abort")
	case 1:
		c.close()
	case 2:
		go sess.Close("close")
		c.rc.Conn.Close()
	}
	s.rec.waitClosed(t, op.SID, 5*time.Second)
}

// Sessions park, wake and close all at once, from every side, many times:
// every message is delivered once, every session ends, nothing races.
func TestParkStorm(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, quietConfig(), nil)
	s.rec.echo = true
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				stormSession(t, s, g, i, i%4, func(j int) time.Duration {
					if j%2 == 1 {
						return time.Duration(j) * time.Millisecond
					}
					return 0
				})
			}
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool { return s.srv.Count() == 0 }, 5*time.Second, time.Millisecond)
}

// BenchmarkWebSocketRoundTrip is one message and its echo, one at a time,
// with a reader that waits in the poller (nopark), one that parks after
// every message (park), and the default, which is busy after two quick
// parks.
func BenchmarkWebSocketRoundTrip(b *testing.B) {
	for _, mode := range []string{"default", "park", "nopark"} {
		b.Run(mode, func(b *testing.B) {
			defer func(q time.Duration, e bool) { parkAfterMax, parkEnabled = q, e }(parkAfterMax, parkEnabled)
			switch mode {
			case "park":
				parkAfterMax = 0 // never busy
			case "nopark":
				parkEnabled = false
			}
			s := newTestServer(b, quietConfig(), nil)
			s.rec.echo = true
			c, _ := s.openWS()
			b.ResetTimer()
			for range b.N {
				if err := c.send("4ping"); err != nil {
					b.Fatal(err)
				}
				if f, err := c.next(5 * time.Second); err != nil || string(f.data) != "4ping" {
					b.Fatalf("%q, %v", f.data, err)
				}
			}
		})
	}
}

// If the idle poller's set cannot be waited on, every parked session is
// woken and readers wait for themselves from then on: nothing is left
// asleep.
func TestIdlePollerBroken(t *testing.T) {
	// Not parallel: it breaks the process's poller, and makes a new one.
	s := newTestServer(t, quietConfig(), nil)
	clients, sessions := openParked(t, s, 5)

	idler.file.Close() // the poller's wait fails
	for _, sess := range sessions {
		require.Eventually(t, func() bool { return !isParked(sess) }, 5*time.Second, time.Millisecond, "woken")
	}
	for i, c := range clients {
		c.mustSend(fmt.Sprint("4m", i))
		assert.Equal(t, fmt.Sprint("4m", i), c.readText(2*time.Second))
		assert.False(t, isParked(sessions[i]), "no more parking")
	}
	c, op := s.openWS() // a new one does not park either
	c.mustSend("4new")
	assert.Equal(t, "4new", c.readText(2*time.Second))
	assert.False(t, isParked(s.srv.Session(op.SID)))

	for _, sess := range append(sessions, s.srv.Session(op.SID)) {
		sess.Abort("done")
		s.rec.waitClosed(t, sess.ID(), 2*time.Second)
	}
	require.Eventually(t, func() bool { return readers() == 0 }, 5*time.Second, time.Millisecond)
	idler.mu.Lock()
	broken := idler.broken
	idler.mu.Unlock()
	assert.True(t, broken)
	idler = idlePoller{} // a working one for the tests that follow
}

// Loans and parks at once: readers that park after every message, loans
// that the timer takes over as their work returns, and closes from every
// side, on many sessions. Every message is answered once and in order,
// and every session ends with no goroutine left on it.
func TestLoanParkStorm(t *testing.T) {
	// Not parallel: it sets parkAfterMax and loanFor.
	defer func(d time.Duration) { parkAfterMax = d }(parkAfterMax)
	parkAfterMax = 0 // never busy: park after every message
	setLoanFor(t, 0)
	s, lr := newLoanServer(t, func(_ *Session, m string) {
		if strings.HasSuffix(m, "3") {
			time.Sleep(100 * time.Microsecond)
		}
	})
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				stormSession(t, s, g, i, 10, func(j int) time.Duration {
					if j%4 == 3 {
						return time.Millisecond
					}
					return 0
				})
			}
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool { return s.srv.Count() == 0 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return readers() == 0 && stacksWith("engineio.(*Loan).Run(") == 0 },
		5*time.Second, time.Millisecond, "no reader or lender left")
	_, _, handed := lr.lists()
	assert.NotEmpty(t, handed, "some loans were taken over")
}
