//go:build unix

package engineio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// The bytes come out of a wsIn as they went in, whatever the chunks they
// arrive in and the sizes they are read in, and the pooled buffer is given
// back whenever everything read is taken.
func TestWSInStream(t *testing.T) {
	for _, park := range []bool{false, true} {
		t.Run(fmt.Sprintf("park=%v", park), func(t *testing.T) { testWSInStream(t, park) })
	}
}

func testWSInStream(t *testing.T, park bool) {
	server, client := tcpPair(t)
	br, in := newWSIn(server)
	require.NotNil(t, in, "a TCP socket is read through a wsIn")
	in.canPark = park // wait may then report idle: the reads that follow wait
	require.Equal(t, wsInBuf, br.Size())

	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 200_000)
	for i := range want {
		want[i] = byte(rng.IntN(256))
	}
	go func() {
		rng := rand.New(rand.NewPCG(3, 4)) // the writer's own
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(3*wsReadChunk))
			if _, err := client.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
			if rng.IntN(4) == 0 {
				time.Sleep(time.Millisecond) // let the reader run dry
			}
		}
		client.Close()
	}()

	var got bytes.Buffer
	buf := make([]byte, 2*wsReadChunk)
	for step := 0; ; step++ {
		if step%3 == 0 {
			in.wait()
		}
		var err error
		switch step % 4 {
		case 0:
			var b byte
			if b, err = br.ReadByte(); err == nil {
				got.WriteByte(b)
			}
		default: // small reads, and reads that bypass bufio
			var n int
			n, err = br.Read(buf[:1+rng.IntN(len(buf))])
			got.Write(buf[:n])
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if len(in.pending) == 0 {
			require.Nil(t, in.buf, "a drained wsIn keeps no buffer")
		}
	}
	require.True(t, bytes.Equal(want, got.Bytes()), "read %d of %d bytes, or in another order", got.Len(), len(want))
	require.Nil(t, in.buf)
}

// wait returns at once when bytes are buffered, and otherwise waits for
// the socket to have some.
func TestWSInWaitBlocksUntilBytes(t *testing.T) {
	server, client := tcpPair(t)
	br, in := newWSIn(server)
	in.canPark = false

	done := make(chan struct{})
	go func() { in.wait(); close(done) }()
	select {
	case <-done:
		t.Fatal("wait returned with nothing to read")
	case <-time.After(50 * time.Millisecond):
	}
	_, err := client.Write([]byte("hello, world"))
	require.NoError(t, err)
	<-done
	require.Equal(t, "hello, world", string(in.pending))

	b, err := br.ReadByte()
	require.NoError(t, err)
	require.Equal(t, byte('h'), b)
	waited := make(chan struct{})
	go func() { in.wait(); close(waited) }() // the rest is buffered: no wait
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		client.Close() // ends the wait
		<-waited
		t.Fatal("wait waited for the socket with bytes buffered")
	}
	rest := make([]byte, 20)
	n, err := br.Read(rest)
	require.NoError(t, err)
	require.Equal(t, "ello, world", string(rest[:n]))
	require.Nil(t, in.buf)
}

// An error met while waiting (a deadline, the peer's close) is what the
// next read returns.
func TestWSInWaitErrors(t *testing.T) {
	server, client := tcpPair(t)
	br, in := newWSIn(server)
	in.canPark = false

	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	in.wait()
	_, err := br.ReadByte()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	server2, client2 := tcpPair(t)
	br2, in2 := newWSIn(server2)
	in2.canPark = false
	client2.Write([]byte("xy"))
	client2.Close()
	got, err := io.ReadAll(readerFunc(func(p []byte) (int, error) { in2.wait(); return br2.Read(p) }))
	require.NoError(t, err)
	require.Equal(t, "xy", string(got))
	require.Nil(t, in2.buf)
	_ = client
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// A connection that is not a socket is read as before, through a buffer of
// its own.
func TestWSInNotASocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	br, in := newWSIn(a)
	require.Nil(t, in)
	require.Equal(t, wsReadBuf, br.Size())
	in.wait() // a nil wsIn does nothing
	go b.Write([]byte("ok"))
	p := make([]byte, 2)
	_, err := io.ReadFull(br, p)
	require.NoError(t, err)
	require.Equal(t, "ok", string(p))
	require.False(t, errors.Is(err, io.EOF))
}

// A wsIn that may park reports an empty socket at once, unless it is busy:
// then it waits, under a read deadline it moves on when it passes if bytes
// came meanwhile, and reports idle once one passes without bytes. A read inside a frame
// clears the deadline, so that a slow frame is not cut short.
func TestWSInWaitIdle(t *testing.T) {
	server, client := tcpPair(t)
	br, in := newWSIn(server)
	in.canPark, in.parkAfter = true, 200*time.Millisecond
	done := make(chan struct{})
	in.done = done

	require.True(t, in.wait(), "an empty socket, not busy: idle at once")
	require.Nil(t, in.buf)
	client.Write([]byte("ab"))
	require.Eventually(t, func() bool { return !in.wait() }, 5*time.Second, time.Millisecond)
	require.Equal(t, "ab", string(in.pending))
	p := make([]byte, 2)
	_, err := io.ReadFull(br, p)
	require.NoError(t, err)

	// Busy: wait waits for bytes.
	in.busy = true
	got := make(chan bool, 1)
	go func() { got <- in.wait() }()
	time.Sleep(20 * time.Millisecond)
	client.Write([]byte("c"))
	require.False(t, <-got, "busy: bytes, not idle")
	require.False(t, in.idleBy.IsZero(), "busy: a deadline to leave by")
	first := in.idleBy
	b, err := br.ReadByte()
	require.NoError(t, err)
	require.Equal(t, byte('c'), b)

	// When it passes, bytes came since it was set: a new one. Idle once
	// that one passes too.
	require.True(t, in.wait(), "busy and quiet: idle")
	require.False(t, time.Now().Before(first.Add(in.parkAfter)), "idle before a whole quiet parkAfter")
	require.False(t, in.busy)
	require.True(t, in.idleBy.IsZero())
	require.NoError(t, in.err, "an idle reader's deadline is not an error")

	// The deadline is gone: a plain read waits for bytes, however late.
	go func() { time.Sleep(300 * time.Millisecond); client.Write([]byte("d")) }()
	in.canPark = false
	require.False(t, in.wait())
	b, err = br.ReadByte()
	require.NoError(t, err)
	require.Equal(t, byte('d'), b)

	// Inside a frame, a read clears the deadline of a busy reader.
	in.canPark, in.busy = true, true
	client.Write([]byte("e"))
	require.False(t, in.wait())
	require.False(t, in.idleBy.IsZero())
	_, err = br.ReadByte()
	require.NoError(t, err)
	go func() { time.Sleep(300 * time.Millisecond); client.Write([]byte("f")) }()
	b, err = br.ReadByte() // no wait first: as x/net inside a frame
	require.NoError(t, err, "a slow frame is not cut by the deadline")
	require.Equal(t, byte('f'), b)
	require.True(t, in.idleBy.IsZero())

	// Once the session is closed, a busy reader that moves its deadline
	// stops: the close's own deadline may have been overwritten.
	close(done)
	require.False(t, in.wait())
	require.ErrorIs(t, in.err, os.ErrDeadlineExceeded)
}

// Two parks in a row that end quickly make the reader busy.
func TestWSInResumed(t *testing.T) {
	in := &wsIn{parkAfter: time.Second}
	in.parkedAt = time.Now()
	in.resumed()
	require.False(t, in.busy)
	require.Equal(t, 1, in.quick)
	in.parkedAt = time.Now().Add(-2 * in.parkAfter)
	in.resumed()
	require.False(t, in.busy, "a long park starts the count again")
	require.Equal(t, 0, in.quick)
	in.parkedAt = time.Now()
	in.resumed()
	in.parkedAt = time.Now()
	in.resumed()
	require.True(t, in.busy)
	require.Equal(t, 0, in.quick)
}

// A busy reader sees the end of a connection that comes right after the
// last bytes. The runtime's poller merges the two readiness events when the
// second arrives before the reader has run, and a read that returns the
// bytes does not report the end: the reader must read again before it
// waits, or it waits for ever (until the heartbeat gives up).
func TestWSInEndRightAfterBytes(t *testing.T) {
	for i := range 300 {
		server, client := tcpPair(t)
		br, in := newWSIn(server)
		in.canPark, in.busy, in.parkAfter = true, true, time.Hour
		in.done = make(chan struct{})
		client.Write([]byte("a"))
		require.False(t, in.wait())
		_, err := br.ReadByte()
		require.NoError(t, err)

		ended := make(chan error, 1)
		go func() {
			if in.wait() {
				ended <- errors.New("idle")
				return
			}
			if _, err := br.ReadByte(); err != nil {
				ended <- err
				return
			}
			in.wait()
			_, err := br.ReadByte()
			ended <- err
		}()
		time.Sleep(time.Duration(i%3) * 100 * time.Microsecond)
		client.Write([]byte("b"))
		client.Close()
		select {
		case err := <-ended:
			require.ErrorIs(t, err, io.EOF, "round %d", i)
		case <-time.After(5 * time.Second):
			in.conn.SetReadDeadline(time.Now()) // let the reader go
			t.Fatalf("round %d: the end after the last bytes was not seen", i)
		}
		server.Close()
	}
}
