package socketio

// Graceful Shutdown: stop accepting, tell every client, flush what is
// queued, release everything.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Clients on both transports, in two namespaces, with messages queued for
// them and acknowledgements pending when Shutdown starts: each client gets
// every message, in order, then the close, and no namespace disconnect (as
// with the Node server's close(), so that socket.io-client reconnects); every
// OnDisconnect has run when Shutdown returns; nothing new is accepted.
func TestShutdownGraceful(t *testing.T) {
	var finished atomic.Int32
	rs := newRawServer(t, Config{}, func(srv *Server) {
		for _, nsp := range []string{"/", "/admin"} {
			srv.Of(nsp).OnDisconnect(func(s *Socket, reason string) {
				time.Sleep(50 * time.Millisecond) // slow cleanup: Shutdown waits for it
				if reason == ReasonServerShutdown {
					finished.Add(1)
				}
			})
		}
	})
	const queued = 200
	type client struct {
		c   eioClient
		ids map[string]string // namespace -> socket id
	}
	var clients []client
	var acks sync.WaitGroup
	ackErrs := make(chan error, 8)
	for _, tr := range transports {
		c := rs.open(tr)
		cl := client{c: c, ids: map[string]string{"/": connect(t, c, "/", ""), "/admin": connect(t, c, "/admin", "")}}
		clients = append(clients, cl)
		so := rs.srv.Of("/").Socket(cl.ids["/"])
		for i := range queued {
			require.NoError(t, so.Emit("n", i, strings.Repeat("q", 100)))
		}
		acks.Add(1)
		go func() {
			defer acks.Done()
			_, err := so.EmitWithAck(context.Background(), "never-answered")
			ackErrs <- err
		}()
	}
	eventually(t, 5*time.Second, func() bool {
		for _, cl := range clients {
			so := rs.srv.Of("/").Socket(cl.ids["/"])
			so.mu.Lock()
			n := len(so.acks)
			so.mu.Unlock()
			if n == 0 {
				return false
			}
		}
		return true
	}, "acks not pending")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	start := time.Now()
	go func() { shut <- rs.srv.Shutdown(ctx) }()

	for _, cl := range clients {
		next := 0
		var disconnects []string
		for {
			f, err := cl.c.Next(5 * time.Second)
			if errors.Is(err, errClosed) {
				break
			}
			require.NoError(t, err)
			switch {
			case strings.HasPrefix(f.text, `42["n",`):
				require.Empty(t, disconnects, "message after disconnect")
				require.Equal(t, fmt.Sprintf(`42["n",%d,"%s"]`, next, strings.Repeat("q", 100)), f.text)
				next++
			case strings.HasPrefix(f.text, "41"):
				disconnects = append(disconnects, f.text)
			}
		}
		require.Equal(t, queued, next, "messages queued before Shutdown")
		require.Empty(t, disconnects, "a namespace disconnect: the client would not reconnect")
	}
	require.NoError(t, <-shut)
	t.Logf("Shutdown took %v", time.Since(start))
	require.Equal(t, int32(4), finished.Load(), "OnDisconnect handlers finished when Shutdown returned")
	require.Equal(t, 0, rs.srv.ConnectionCount())
	acks.Wait()
	close(ackErrs)
	for err := range ackErrs {
		require.ErrorIs(t, err, ErrDisconnected)
		var de *DisconnectError
		require.ErrorAs(t, err, &de)
		require.Equal(t, ReasonServerShutdown, de.Reason)
	}

	// Nothing new is accepted, on either transport.
	res := rs.mustDo("GET", "EIO=4&transport=polling", "", nil)
	require.Equal(t, 503, res.status)
	if ws, err := rs.openWS(""); err == nil {
		waitClosed(t, ws, 5*time.Second)
	}
	require.Equal(t, 0, rs.srv.ConnectionCount())
	// Again: nothing to do.
	require.NoError(t, rs.srv.Shutdown(ctx))
}

// A polling client that never collects its goodbye and a handler that
// never returns: Shutdown gives up when ctx ends, closes what remains at
// once, and says so.
func TestShutdownDeadline(t *testing.T) {
	release := make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	rs := newRawServer(t, Config{}, func(srv *Server) {
		srv.Of("/").OnEvent("stuck", func(*Socket, Args, Ack) { <-release })
	})
	idle, err := rs.openPolling()
	require.NoError(t, err)
	idleID := connect(t, idle, "/", "")
	ws := rs.open(tWebSocket)
	connect(t, ws, "/", "")
	require.NoError(t, ws.SendText(`42["stuck"]`))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = rs.srv.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Equal(t, 0, rs.srv.ConnectionCount())
	require.Equal(t, ReasonServerShutdown, rs.waitReason(idleID, time.Second))
	close(release)
	// Once the handler returns, a second Shutdown completes.
	require.NoError(t, rs.srv.Shutdown(context.Background()))
}

// Shutdown while clients keep sending and the server keeps emitting:
// no panic, no leak, and everything ends.
func TestShutdownUnderLoad(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		tr := transports[i%2]
		c := rs.open(tr)
		id := connect(t, c, "/", "")
		so := rs.srv.Of("/").Socket(id)
		wg.Add(2)
		go func() { // the client: sends and reads until closed
			defer wg.Done()
			for n := 0; ; n++ {
				if c.SendText(fmt.Sprintf(`42%d["echo",%d]`, n, n)) != nil {
					return
				}
				if _, err := c.Next(5 * time.Second); err != nil {
					return
				}
			}
		}()
		go func() { // the server emits until the socket is gone
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if so.Emit("tick", strings.Repeat("t", 64)) != nil {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, rs.srv.Shutdown(ctx))
	close(stop)
	wg.Wait()
	require.Equal(t, 0, rs.srv.ConnectionCount())
}
