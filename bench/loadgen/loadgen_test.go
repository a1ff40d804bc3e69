package loadgen

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
)

// A client frame parses back to what was framed, whatever its length
// class, and a frame cut short anywhere is not whole yet.
func TestFrames(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte{'x'}, n)
		f := maskFrame(nil, 0x1, mask, p)
		next := []byte{0x81, 0}
		op, got, rest, ok := parseFrame(append(f, next...))
		require.True(t, ok, n)
		assert.Equal(t, byte(0x1), op)
		assert.Equal(t, p, got, n)
		assert.Equal(t, next, rest)
		for _, cut := range []int{1, 2, len(f) - 1} {
			if cut < len(f) {
				_, _, _, ok := parseFrame(maskFrame(nil, 0x1, mask, p)[:cut])
				assert.False(t, ok, "%d bytes cut to %d", n, cut)
			}
		}
	}
}

// echoServer serves the benchmark contract's echo and stats events.
func echoServer(t *testing.T) Target {
	srv := socketio.New(socketio.Config{})
	ns := srv.Of("/")
	ns.OnEvent("echo", func(_ *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		if ack != nil && args.Len() > 0 {
			ack(args.Slice()[0])
		}
	})
	ns.OnEvent("stats", func(_ *socketio.Socket, _ socketio.Args, ack socketio.Ack) {
		if ack != nil {
			ack(map[string]any{"conns": srv.ConnectionCount(), "disconnects": map[string]int{}})
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Shutdown(ctx)
	})
	return Target{Name: "test", Addr: ln.Addr().String(), Path: "/socket.io/", PID: os.Getpid()}
}

// Both echo drivers get acks back with the payload, from every client.
func TestEchoDrivers(t *testing.T) {
	tgt := echoServer(t)
	for _, d := range []string{"loop", "goroutines"} {
		t.Run(d, func(t *testing.T) {
			defer func(old string) { EchoDriver = old }(EchoDriver)
			EchoDriver = d
			r, err := Echo(context.Background(), tgt, 8, 100*time.Millisecond, 300*time.Millisecond, []byte(`{"a":[1,"b"]}`))
			require.NoError(t, err)
			assert.Empty(t, r.Notes, "no bad acks, no failed clients")
			assert.Greater(t, r.Values["echo.rate"], 100.0)
			assert.Greater(t, r.Values["echo.p99"], 0.0)
			if runtime.GOOS == "linux" {
				assert.Contains(t, r.Values, "echo.wait", "the server's wait for a CPU is read")
				assert.GreaterOrEqual(t, r.Values["echo.wait"], 0.0)
			}
		})
	}
}

// SchedWait reads a process's threads' time waiting for a CPU, which only
// grows, and fails for a process that does not exist.
func TestSchedWait(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/task/*/schedstat is Linux's")
	}
	w0, err := SchedWait(os.Getpid())
	require.NoError(t, err)
	// Keep more threads busy than there are CPUs for a moment.
	stop := time.Now().Add(50 * time.Millisecond)
	done := make(chan struct{})
	for range 2 * runtime.NumCPU() {
		go func() {
			for time.Now().Before(stop) {
			}
			done <- struct{}{}
		}()
	}
	for range 2 * runtime.NumCPU() {
		<-done
	}
	w1, err := SchedWait(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, w1, w0)
	_, err = SchedWait(1 << 30)
	assert.Error(t, err)
}
