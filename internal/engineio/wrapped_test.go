//go:build unix

package engineio

import (
	"net"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countingConn is a connection wrapper of the kind listeners add (metrics,
// rate limits, PROXY headers): it embeds the *net.TCPConn, so it has the
// socket's SyscallConn method, but its Read and Write do something of
// their own.
type countingConn struct {
	*net.TCPConn
	read, written *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	c.written.Add(int64(len(p))) // before: the client may have the bytes before Write returns
	return c.TCPConn.Write(p)
}

type countingListener struct {
	net.Listener
	read, written atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{TCPConn: c.(*net.TCPConn), read: &l.read, written: &l.written}, nil
}

// Every byte of a WebSocket goes through the connection's own Read and
// Write when it is not a bare socket: the raw reads and writes that skip
// them are only for *net.TCPConn and *net.UnixConn themselves.
func TestWrappedConnReadAndWrittenThroughIt(t *testing.T) {
	var ln *countingListener
	rec := newRecorder()
	opened := sessionsOpened(rec)
	ts := newTestServerHTTP(t, fastConfig(), rec, func(s *httptest.Server) {
		ln = &countingListener{Listener: s.Listener}
		s.Listener = ln
	})
	c, _ := ts.openWS()
	sess := nextSession(t, opened)
	readBefore, writtenBefore := ln.read.Load(), ln.written.Load()

	const msg = "4through the wrapper"
	const n = 24
	for i := range n {
		c.mustSend(msg)
		// Send, SendNow and SendBatch, with frames prepared or not.
		require.NoError(t, sendVariant(sess, i, Packet{Data: []byte(msg)}))
		require.Equal(t, msg, c.readText(5*time.Second))
	}
	require.Eventually(t, func() bool { return len(rec.messages(sess.ID())) == n }, 5*time.Second, 5*time.Millisecond)
	// A client frame is 6 header bytes and the payload; a server frame 2
	// and the payload.
	require.GreaterOrEqual(t, ln.read.Load()-readBefore, int64(n*(6+len(msg))), "bytes read through the wrapper")
	require.GreaterOrEqual(t, ln.written.Load()-writtenBefore, int64(n*(2+len(msg))), "bytes written through the wrapper")
}
