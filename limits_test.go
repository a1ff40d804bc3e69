package socketio

// Every limit is a Config field that documents its default, has a safe
// one, and is enforced. The oversize cases of MaxPayload are in
// hostile_test.go (TestHostileOversize*).

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimitsDocumentedWithDefaults(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "middleware.go", nil, parser.ParseComments)
	require.NoError(t, err)
	docs := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		for _, fld := range ts.Type.(*ast.StructType).Fields.List {
			for _, name := range fld.Names {
				docs[name.Name] = fld.Doc.Text()
			}
		}
		return false
	})
	cfg := New(Config{}).cfg
	for _, tc := range []struct {
		field string
		got   int64
		def   int64
	}{
		{"MaxPayload", cfg.MaxPayload, DefaultMaxPayload},
		{"MaxAttachments", int64(cfg.MaxAttachments), DefaultMaxAttachments},
		{"MaxBufferedBytes", cfg.MaxBufferedBytes, DefaultMaxBufferedBytes},
		{"MaxPendingAcks", int64(cfg.MaxPendingAcks), DefaultMaxPendingAcks},
		{"MaxRoomsPerSocket", int64(cfg.MaxRoomsPerSocket), DefaultMaxRoomsPerSocket},
		{"MaxNamespaceLength", int64(cfg.MaxNamespaceLength), DefaultMaxNamespaceLength},
		{"MaxConnecting", int64(cfg.MaxConnecting), DefaultMaxConnecting},
		{"PingTimeout", int64(cfg.PingTimeout), int64(DefaultPingTimeout)},
		{"ConnectTimeout", int64(cfg.ConnectTimeout), int64(DefaultConnectTimeout)},
		{"UpgradeTimeout", int64(cfg.UpgradeTimeout), int64(DefaultUpgradeTimeout)},
	} {
		doc, ok := docs[tc.field]
		require.True(t, ok, "Config.%s is missing", tc.field)
		require.Contains(t, doc, "Default", "Config.%s does not document its default", tc.field)
		require.Equal(t, tc.def, tc.got, "Config.%s default", tc.field)
		require.Greater(t, tc.got, int64(0), "Config.%s: a zero limit is no limit", tc.field)
	}
	// Safe: nothing unbounded, nothing a single client could use to hold
	// megabytes of server memory beyond what it is told (maxPayload).
	require.LessOrEqual(t, cfg.MaxPayload, int64(1_000_000))
	require.LessOrEqual(t, cfg.MaxBufferedBytes, int64(8<<20))
	require.LessOrEqual(t, cfg.MaxAttachments, 100)
	// A negative value means the default, not "no limit".
	neg := New(Config{MaxPayload: -1, MaxBufferedBytes: -1, MaxConnecting: -1}).cfg
	require.Equal(t, int64(DefaultMaxPayload), neg.MaxPayload)
	require.Equal(t, int64(DefaultMaxBufferedBytes), neg.MaxBufferedBytes)
	require.Equal(t, DefaultMaxConnecting, neg.MaxConnecting)
}

// MaxPayload is advertised in the handshake, on both transports.
func TestLimitMaxPayloadAdvertised(t *testing.T) {
	rs := newRawServer(t, Config{MaxPayload: 12345}, nil)
	res := rs.mustDo("GET", "EIO=4&transport=polling", "", nil)
	var op struct{ MaxPayload int64 }
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(res.body, "0")), &op))
	require.Equal(t, int64(12345), op.MaxPayload)
	c, _, err := rs.dialWS("EIO=4&transport=websocket", "")
	require.NoError(t, err)
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	require.Contains(t, f.text, `"maxPayload":12345`)
	c.Close()
}

func TestLimitMaxAttachments(t *testing.T) {
	rs := newRawServer(t, Config{MaxAttachments: 3}, nil)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			defer func() { rs.t = t }()
			c := rs.open(tr)
			id := connect(t, c, "/", "")
			require.NoError(t, c.SendText(`453-1["echo",`+ph(0)+`,`+ph(1)+`,`+ph(2)+`]`))
			for i := range 3 {
				require.NoError(t, c.SendBinary([]byte{byte(i)}))
			}
			f, err := c.Next(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, `463-1[`+ph(0)+`,`+ph(1)+`,`+ph(2)+`]`, f.text)
			for i := range 3 {
				f, err := c.Next(5 * time.Second)
				require.NoError(t, err)
				require.Equal(t, []byte{byte(i)}, f.binary)
			}
			c.SendText(`454-["echo",` + ph(0) + `]`)
			require.Equal(t, ReasonParseError, rs.waitReason(id, 5*time.Second))
			waitClosed(t, c, 5*time.Second)
		})
	}
}

func TestLimitMaxPendingAcks(t *testing.T) {
	rs := newRawServer(t, Config{MaxPendingAcks: 5}, nil)
	c := rs.open(tWebSocket)
	so := rs.srv.Of("/").Socket(connect(t, c, "/", ""))
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			_, err := so.EmitWithAck(ctx, "hold")
			errs <- err
		}()
	}
	eventually(t, 5*time.Second, func() bool {
		so.mu.Lock()
		defer so.mu.Unlock()
		return len(so.acks) == 5
	}, "acks not pending")
	_, err := so.EmitWithAck(context.Background(), "one more")
	require.ErrorIs(t, err, ErrTooManyAcks)
	// A broadcast with acknowledgements skips the socket that is full.
	got, err := rs.srv.Of("/").To().EmitWithAck(context.Background(), "bcast")
	require.NoError(t, err)
	require.Empty(t, got)
	// Answering one frees a slot.
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	var id int
	_, err = fmt.Sscanf(f.text, `42%d["hold"]`, &id)
	require.NoError(t, err, f.text)
	require.NoError(t, c.SendText(fmt.Sprintf(`43%d[]`, id)))
	require.NoError(t, <-errs)
	go func() {
		_, err := so.EmitWithAck(ctx, "fits again")
		errs <- err
	}()
	cancel()
	for range 5 {
		require.ErrorIs(t, <-errs, context.Canceled)
	}
}

func TestLimitMaxBufferedBytes(t *testing.T) {
	rs := newRawServerOpts(t, Config{MaxBufferedBytes: 64 << 10}, nil, serverOpts{sendBuffer: 16 << 10})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			defer func() { rs.t = t }()
			var c eioClient
			if tr == tWebSocket {
				// Never read: the kernel buffers fill, then the queue.
				ws, err := rs.openWS("")
				require.NoError(t, err)
				c = ws
			} else {
				c = rs.open(tr) // never polls
			}
			id := connect(t, c, "/", "")
			so := rs.srv.Of("/").Socket(id)
			var err error
			n := 0
			for ; n < 10_000 && err == nil; n++ {
				err = so.Emit("fill", strings.Repeat("f", 1024))
			}
			require.ErrorIs(t, err, ErrQueueOverflow, "after %d KiB", n)
			require.Equal(t, ReasonQueueOverflow, rs.waitReason(id, 5*time.Second))
			require.ErrorIs(t, so.Emit("after"), ErrDisconnected)
			rs.waitConns(0, 5*time.Second)
		})
	}
}

func TestLimitMaxRoomsPerSocket(t *testing.T) {
	rs := newRawServer(t, Config{MaxRoomsPerSocket: 4}, nil)
	c := rs.open(tWebSocket)
	so := rs.srv.Of("/").Socket(connect(t, c, "/", ""))
	require.NoError(t, so.Join("a", "b"))
	require.NoError(t, so.Join("c")) // 4 with its own room
	require.ErrorIs(t, so.Join("d"), ErrTooManyRooms)
	require.NoError(t, so.Join("a", "b", "c"), "rooms it is in already")
	require.ErrorIs(t, so.Join("a", "d"), ErrTooManyRooms)
	so.Leave("a")
	require.NoError(t, so.Join("d"))
	require.ElementsMatch(t, []string{so.ID(), "b", "c", "d"}, so.Rooms())
}

func TestLimitMaxNamespaceLength(t *testing.T) {
	rs := newRawServer(t, Config{MaxNamespaceLength: 10}, func(srv *Server) {
		srv.OfFunc(func(string, json.RawMessage) bool { return true })
	})
	c := rs.open(tWebSocket)
	connect(t, c, "/123456789", "") // 10 bytes
	require.NoError(t, c.SendText("40/1234567890,"))
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, `44/1234567890,{"message":"Invalid namespace"}`, f.text)
	connect(t, c, "/", "")
}

// MaxConnecting counts handshakes that joined no namespace yet, over both
// transports; past it, handshakes get 403 until one of them joins or goes.
func TestLimitMaxConnecting(t *testing.T) {
	rs := newRawServer(t, Config{MaxConnecting: 3}, nil)
	w := rs.healthy(tWebSocket) // connected: does not count
	var pending []eioClient
	for _, tr := range []string{tPolling, tWebSocket, tPolling} {
		pending = append(pending, rs.open(tr))
	}
	res := rs.mustDo("GET", "EIO=4&transport=polling", "", nil)
	require.Equal(t, 4, engineError(t, res, http.StatusForbidden))
	require.Equal(t, 403, rs.wsHandshake(t, "EIO=4&transport=websocket"))

	connect(t, pending[0], "/", "") // joins: a place is free
	c, err := rs.openPolling()
	require.NoError(t, err)
	res = rs.mustDo("GET", "EIO=4&transport=polling", "", nil)
	require.Equal(t, 403, res.status)

	pending[1].Close() // goes away: a place is free
	eventually(t, 5*time.Second, func() bool { return rs.srv.connecting.Load() == 2 }, "connecting")
	ws, err := rs.openWS("")
	require.NoError(t, err)
	connect(t, ws, "/", "")
	connect(t, c, "/", "")
	w.check()
}

// A client that sends faster than its handlers run is not read any more
// once the events waiting for them hold MaxBufferedBytes: what it sends
// waits in the network, not in the server's memory.
func TestLimitInboundEventsBounded(t *testing.T) {
	release := make(chan struct{})
	rs := newRawServer(t, Config{MaxPayload: 256 << 10, MaxBufferedBytes: 1 << 20}, func(srv *Server) {
		srv.Of("/").OnEvent("slow", func(*Socket, Args, Ack) { <-release })
	})
	w := rs.healthy(tPolling)
	c, err := rs.openWS("")
	require.NoError(t, err)
	connect(t, c, "/", "")
	base := heapInUse()
	frameBytes := maskedFrame(0x81, []byte(`42["slow","`+strings.Repeat("s", 200<<10)+`"]`), noLength)
	var sentN atomic.Int64
	sent := make(chan error, 1)
	c.rc.SetWriteDeadline(time.Time{}) // connect's, on the same connection
	go func() {
		var err error
		for range 100 { // 20 MB; blocks once the server stops reading
			if _, err = c.rc.Conn.Write(frameBytes); err != nil {
				break
			}
			sentN.Add(1)
		}
		sent <- err
	}()
	// Wait until the client is held back (or has sent everything).
	for last, still := int64(-1), 0; still < 5; time.Sleep(100 * time.Millisecond) {
		if n := sentN.Load(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	held := heapInUse()
	t.Logf("heap in use %d MiB -> %d MiB with a handler stuck, %d events of 200 KiB sent", base>>20, held>>20, sentN.Load())
	require.Less(t, held, base+8<<20, "events buffered for a stuck handler")
	w.check() // others are not affected
	close(release)
	require.NoError(t, <-sent)
	echo(t, c, 1, `"caught up"`)
}
