package redisadapter

// Test harness: servers on one Redis (at $REDIS_ADDR, default
// 127.0.0.1:6390, as .ci/test.sh starts it), each test on channels of its
// own (a random Key), and a small Socket.IO client over a raw WebSocket
// that works against the Go and the Node.js servers alike.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"github.com/wirekit/socketio"
	"go.uber.org/goleak"
	"golang.org/x/net/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6390"
}

// newRedis returns a client of the test Redis; the test fails when Redis
// does not answer (run .ci/test.sh, or start redis-server on $REDIS_ADDR).
func newRedis(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func testKey() string { return "test-" + randomID() }

// logBuffer collects what the adapter logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// node is one Go server of a test cluster.
type node struct {
	srv  *socketio.Server
	ts   *httptest.Server
	ns   *socketio.Namespace
	logs *logBuffer
}

type nodeConfig struct {
	addr         string // Redis, default redisAddr()
	opts         Options
	pingInterval time.Duration // default 10s
}

func newNode(t testing.TB, key string, cfg nodeConfig) *node {
	t.Helper()
	if cfg.addr == "" {
		cfg.addr = redisAddr()
	}
	logs := &logBuffer{}
	cfg.opts.Key = key
	cfg.opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.opts.RequestsTimeout == 0 {
		cfg.opts.RequestsTimeout = 2 * time.Second
	}
	rdb := newRedis(t, cfg.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	factory, err := New(ctx, rdb, cfg.opts)
	require.NoError(t, err, "Redis must run at %s (REDIS_ADDR): .ci/test.sh starts one", cfg.addr)
	if cfg.pingInterval == 0 {
		cfg.pingInterval = 10 * time.Second
	}
	srv := socketio.New(socketio.Config{
		Adapter:      factory,
		PingInterval: cfg.pingInterval,
		PingTimeout:  5 * time.Second,
	})
	ns := srv.Of("/")
	// Clients say which rooms to join and what data to keep in their auth.
	ns.OnConnect(func(s *socketio.Socket) {
		var auth struct {
			Rooms []string        `json:"rooms"`
			Data  json.RawMessage `json:"data"`
		}
		s.DecodeAuth(&auth)
		s.Join(auth.Rooms...)
		if auth.Data != nil {
			s.SetData(auth.Data)
		}
		s.Emit("ready") // dial waits for it
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ts.Close()
	})
	return &node{srv: srv, ts: ts, ns: ns, logs: logs}
}

// waitServers waits until n servers have namespace nsp open under key.
func waitServers(t testing.TB, key, nsp string, n int) {
	t.Helper()
	rdb := newRedis(t, redisAddr())
	channel := key + "-request#" + nsp + "#"
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := rdb.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && int(res[channel]) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d servers on %s: %v %v", n, channel, res, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// The client

// packet is what a client received: a text packet, and the binary
// attachments that followed it.
type packet struct {
	text string
	atts [][]byte
}

func (p packet) String() string {
	if len(p.atts) == 0 {
		return p.text
	}
	return fmt.Sprintf("%s +%x", p.text, p.atts)
}

type client struct {
	t    testing.TB
	ws   *websocket.Conn
	sid  string
	name string
	in   chan packet // closed when the connection ends
	wmu  sync.Mutex
}

type clientOpts struct {
	nsp   string // default "/"
	rooms []string
	data  string // JSON
	noAck bool   // never acknowledge
}

// dial connects a client to the Socket.IO server at base (http://host:port)
// with WebSocket only. Events the server asks to acknowledge are answered
// with "ack-<name>" unless noAck.
func dial(t testing.TB, base, name string, o clientOpts) *client {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, err := websocket.Dial(url, "", base)
	require.NoError(t, err)
	c := &client{t: t, ws: ws, name: name, in: make(chan packet, 4096)}
	t.Cleanup(func() { ws.Close() })
	var open string
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	require.NoError(t, websocket.Message.Receive(ws, &open))
	require.True(t, strings.HasPrefix(open, "0{"), open)
	auth := map[string]any{"rooms": o.rooms}
	if o.data != "" {
		auth["data"] = json.RawMessage(o.data)
	}
	a, _ := json.Marshal(auth)
	prefix := "40"
	if o.nsp != "" && o.nsp != "/" {
		prefix += o.nsp + ","
	}
	require.NoError(t, websocket.Message.Send(ws, prefix+string(a)))
	var conn string
	require.NoError(t, websocket.Message.Receive(ws, &conn))
	require.True(t, strings.HasPrefix(conn, prefix+"{"), conn)
	var r struct{ SID string }
	require.NoError(t, json.Unmarshal([]byte(conn[len(prefix):]), &r))
	c.sid = r.SID
	ws.SetReadDeadline(time.Time{})
	go c.read(o.noAck)
	if o.nsp == "" || o.nsp == "/" {
		// The server has set the socket up (rooms, data) once it says so.
		p, ok := c.next(5 * time.Second)
		require.True(t, ok && p.text == `2["ready"]`, "%s: %v", name, p)
	}
	return c
}

func (c *client) send(msg string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	websocket.Message.Send(c.ws, msg)
}

func (c *client) read(noAck bool) {
	defer close(c.in)
	var pending *packet
	want := 0
	for {
		var f wsFrame
		if err := frameCodec.Receive(c.ws, &f); err != nil {
			return
		}
		if f.binary {
			if pending != nil {
				pending.atts = append(pending.atts, f.data)
				if want--; want == 0 {
					c.in <- *pending
					pending = nil
				}
			}
			continue
		}
		text := string(f.data)
		switch {
		case text == "2":
			c.send("3")
			continue
		case strings.HasPrefix(text, "4"):
			text = text[1:]
		default:
			continue
		}
		if id, ok := ackID(text); ok && !noAck {
			c.send(fmt.Sprintf(`43%d["ack-%s"]`, id, c.name))
		}
		if strings.HasPrefix(text, "5") || strings.HasPrefix(text, "6") {
			n, _ := strconv.Atoi(text[1:strings.IndexByte(text, '-')])
			pending, want = &packet{text: text}, n
			continue
		}
		c.in <- packet{text: text}
	}
}

type wsFrame struct {
	data   []byte
	binary bool
}

// frameCodec reads a frame and tells text from binary.
var frameCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		return []byte(v.(string)), websocket.TextFrame, nil
	},
	Unmarshal: func(data []byte, payloadType byte, v any) error {
		*v.(*wsFrame) = wsFrame{data: data, binary: payloadType == websocket.BinaryFrame}
		return nil
	},
}

// ackID returns the ack id of an EVENT or BINARY_EVENT packet on "/".
func ackID(text string) (int, bool) {
	switch {
	case strings.HasPrefix(text, "2"):
		text = text[1:]
	case strings.HasPrefix(text, "5"):
		text = text[strings.IndexByte(text, '-')+1:]
	default:
		return 0, false
	}
	end := strings.IndexByte(text, '[')
	if end <= 0 {
		return 0, false
	}
	id, err := strconv.Atoi(text[:end])
	return id, err == nil
}

// next returns the next packet; ok is false when the connection closed.
func (c *client) next(within time.Duration) (packet, bool) {
	c.t.Helper()
	select {
	case p, ok := <-c.in:
		return p, ok
	case <-time.After(within):
		c.t.Fatalf("client %s: nothing within %v", c.name, within)
		return packet{}, false
	}
}

// upTo returns what the client received before the marker event: each
// test sends a marker after what it checks, from the same server, so that
// anything delivered by mistake has arrived by then.
func (c *client) upTo(marker string) []string {
	c.t.Helper()
	var got []string
	want := `2["` + marker + `"]`
	for {
		p, ok := c.next(5 * time.Second)
		if !ok {
			c.t.Fatalf("client %s closed before %s; got %v", c.name, marker, got)
		}
		if p.text == want {
			return got
		}
		got = append(got, p.String())
	}
}

// expectClosed waits for the server to disconnect the client from "/".
func (c *client) expectDisconnect() {
	c.t.Helper()
	for {
		p, ok := c.next(5 * time.Second)
		if !ok || p.text == "1" {
			return
		}
	}
}
