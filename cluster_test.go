package socketio

// Tests of the cluster operations (SocketsJoin/Leave, DisconnectSockets,
// FetchSockets, server-side emits) as they behave on one server, and of
// the Adapter contract the root relies on (BroadcastWithAck's server count,
// Local), through a recording adapter.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"
)

// clClient is a minimal Socket.IO client over a raw WebSocket: enough to
// connect to "/" with an auth payload and read the text packets sent to it.
type clClient struct {
	t   testing.TB
	ws  *websocket.Conn
	sid string
}

// onConnectRan waits until cond, which says that the OnConnect handlers
// have run: they run after the client has its CONNECT reply, as in the
// reference server.
func onConnectRan(t testing.TB, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, "OnConnect handlers did not run")
}

func clDial(t testing.TB, ts *httptest.Server, auth string) *clClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, err := websocket.Dial(url, "", ts.URL)
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	c := &clClient{t: t, ws: ws}
	require.True(t, strings.HasPrefix(c.next(), "0{"))
	require.NoError(t, websocket.Message.Send(ws, "40"+auth))
	msg := c.next()
	require.True(t, strings.HasPrefix(msg, "40{"), "CONNECT reply %q", msg)
	var r struct{ SID string }
	require.NoError(t, json.Unmarshal([]byte(msg[2:]), &r))
	c.sid = r.SID
	return c
}

// next returns the next text packet, answering pings; "" once closed.
func (c *clClient) next() string {
	c.t.Helper()
	for {
		c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var msg string
		if err := websocket.Message.Receive(c.ws, &msg); err != nil {
			return ""
		}
		if msg == "2" {
			websocket.Message.Send(c.ws, "3")
			continue
		}
		return msg
	}
}

// expect reads packets until want arrives.
func (c *clClient) expect(want string) {
	c.t.Helper()
	for {
		msg := c.next()
		require.NotEmpty(c.t, msg, "connection closed while waiting for %q", want)
		if msg == want {
			return
		}
	}
}

// upTo returns the packets that arrive before marker, a broadcast sent
// after the ones under test.
func (c *clClient) upTo(marker string) []string {
	c.t.Helper()
	var got []string
	for {
		msg := c.next()
		require.NotEmpty(c.t, msg, "connection closed while waiting for %q", marker)
		if msg == marker {
			return got
		}
		got = append(got, msg)
	}
}

func newClusterServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	srv := New(cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ts.Close()
	})
	return srv, ts
}

func TestClusterSocketsJoinLeave(t *testing.T) {
	t.Parallel()
	srv, ts := newClusterServer(t, Config{})
	ns := srv.Of("/")
	ns.OnConnect(func(s *Socket) {
		var a struct{ Team string }
		s.DecodeAuth(&a)
		s.Join(a.Team)
	})
	red1, red2, blue := clDial(t, ts, `{"team":"red"}`), clDial(t, ts, `{"team":"red"}`), clDial(t, ts, `{"team":"blue"}`)
	onConnectRan(t, func() bool { return len(ns.In("red").Sockets()) == 2 && len(ns.In("blue").Sockets()) == 1 })

	ns.In("red").Except(red2.sid).SocketsJoin("picked", "also")
	require.NoError(t, ns.To("picked").Emit("p", 1))
	require.NoError(t, ns.Emit("mark"))
	assert.Equal(t, []string{`42["p",1]`}, red1.upTo(`42["mark"]`))
	assert.Empty(t, red2.upTo(`42["mark"]`))
	assert.Empty(t, blue.upTo(`42["mark"]`))
	assert.ElementsMatch(t, []string{red1.sid, "red", "picked", "also"}, ns.Socket(red1.sid).Rooms())

	ns.In("red").SocketsLeave("picked")
	require.NoError(t, ns.To("picked", "also").Emit("p", 2))
	require.NoError(t, ns.Emit("mark"))
	assert.Equal(t, []string{`42["p",2]`}, red1.upTo(`42["mark"]`), "still in also")
	assert.ElementsMatch(t, []string{red1.sid, "red", "also"}, ns.Socket(red1.sid).Rooms())
}

func TestClusterDisconnectSockets(t *testing.T) {
	t.Parallel()
	srv, ts := newClusterServer(t, Config{})
	ns := srv.Of("/")
	gone := make(chan string, 2)
	ns.OnDisconnect(func(s *Socket, reason string) { gone <- reason })
	ns.OnConnect(func(s *Socket) { s.Join("x") })
	a, b, c := clDial(t, ts, ""), clDial(t, ts, ""), clDial(t, ts, "")
	onConnectRan(t, func() bool { return len(ns.In("x").Sockets()) == 3 })

	ns.In(a.sid).DisconnectSockets(false)
	a.expect("41")
	assert.Equal(t, ReasonServerDisconnect, <-gone)

	ns.In("x").Except(c.sid).DisconnectSockets(true)
	b.expect("41")
	assert.Empty(t, b.next(), "close also closes the connection")
	assert.Equal(t, ReasonServerDisconnect, <-gone)
	require.NoError(t, ns.Emit("still"))
	c.expect(`42["still"]`)
}

func TestClusterFetchSockets(t *testing.T) {
	t.Parallel()
	srv, ts := newClusterServer(t, Config{})
	ns := srv.Of("/")
	type user struct {
		Name string `json:"name"`
	}
	ns.OnConnect(func(s *Socket) {
		var a struct{ Name string }
		s.DecodeAuth(&a)
		s.SetData(user{a.Name})
		if a.Name == "ann" {
			s.Join("admins")
		}
	})
	ann, bob := clDial(t, ts, `{"name":"ann"}`), clDial(t, ts, `{"name":"bob"}`)
	onConnectRan(t, func() bool {
		return len(ns.In("admins").Sockets()) == 1 && ns.Socket(bob.sid) != nil && ns.Socket(bob.sid).Data() != nil
	})

	all, err := ns.FetchSockets(context.Background())
	require.NoError(t, err)
	require.Len(t, all, 2)
	slices.SortFunc(all, func(x, y RemoteSocket) int { return strings.Compare(string(x.Data), string(y.Data)) })
	assert.Equal(t, ann.sid, all[0].ID)
	assert.JSONEq(t, `{"name":"ann"}`, string(all[0].Data))
	assert.ElementsMatch(t, []string{ann.sid, "admins"}, all[0].Rooms)
	assert.JSONEq(t, `{"name":"ann"}`, string(all[0].Handshake.Auth))
	assert.Equal(t, "4", all[0].Handshake.Query.Get("EIO"))
	assert.Equal(t, bob.sid, all[1].ID)

	admins, err := ns.In("admins").Timeout(time.Second).FetchSockets(context.Background())
	require.NoError(t, err)
	require.Len(t, admins, 1)
	assert.Equal(t, ann.sid, admins[0].ID)

	none, err := ns.In("nobody").FetchSockets(context.Background())
	require.NoError(t, err)
	assert.Empty(t, none)

	// A value that does not encode as JSON is reported as null.
	ns.Socket(bob.sid).SetData(make(chan int))
	got, err := ns.In(bob.sid).FetchSockets(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "null", string(got[0].Data))
}

func TestClusterServerSideEmitAlone(t *testing.T) {
	t.Parallel()
	srv, _ := newClusterServer(t, Config{})
	ns := srv.Of("/")
	called := false
	ns.OnServerSideEmit("ping", func(Args, Ack) { called = true })
	require.NoError(t, ns.ServerSideEmit(context.Background(), "ping", 1))
	replies, err := ns.ServerSideEmitWithAck(context.Background(), "ping")
	require.NoError(t, err)
	assert.Empty(t, replies, "no other server")
	assert.False(t, called, "a server does not receive its own server-side events")
	_, err = ns.ServerSideEmitWithAck(context.Background(), "bad", make(chan int))
	assert.Error(t, err)
}

func TestClusterDeliverServerSideEmit(t *testing.T) {
	t.Parallel()
	srv, _ := newClusterServer(t, Config{})
	ns := srv.Of("/")
	type got struct {
		n   float64
		bin []byte
	}
	ch := make(chan got, 1)
	ns.OnServerSideEmit("sum", func(args Args, ack Ack) {
		var g got
		args.Decode(0, &g.n)
		args.Decode(1, &g.bin)
		ch <- g
		if ack != nil {
			assert.NoError(t, ack("ok", []byte{7}))
			assert.ErrorIs(t, ack("again"), ErrAckSent)
		}
	})
	ns.OnServerSideEmit("boom", func(Args, Ack) { panic("boom") })

	var reply *Packet
	ns.DeliverServerSideEmit(&Packet{
		Data:        json.RawMessage(`["sum",3,{"_placeholder":true,"num":0}]`),
		Attachments: [][]byte{{1, 2}},
	}, func(p *Packet) { reply = p })
	assert.Equal(t, got{3, []byte{1, 2}}, <-ch)
	require.NotNil(t, reply)
	assert.Equal(t, `["ok",{"_placeholder":true,"num":0}]`, string(reply.Data))
	assert.Equal(t, [][]byte{{7}}, reply.Attachments)

	// Without reply the handler gets a nil Ack; unknown events, malformed
	// packets and a panicking handler are harmless.
	ns.DeliverServerSideEmit(&Packet{Data: json.RawMessage(`["sum",4]`)}, nil)
	assert.Equal(t, 4.0, (<-ch).n)
	ns.DeliverServerSideEmit(&Packet{Data: json.RawMessage(`["unknown"]`)}, nil)
	ns.DeliverServerSideEmit(&Packet{Data: json.RawMessage(`[1,2`)}, nil)
	ns.DeliverServerSideEmit(&Packet{Data: json.RawMessage(`[]`)}, nil)
	ns.DeliverServerSideEmit(&Packet{Data: json.RawMessage(`["boom"]`)}, nil)
}

// fakeCluster wraps the memory adapter like a multi-server adapter would:
// it records the options it is given, pretends that one more server
// answers BroadcastWithAck (later, with one socket and one
// acknowledgement), and answers FetchSockets and ServerSideEmit for that
// other server.
type fakeCluster struct {
	Adapter
	mu   sync.Mutex
	ops  []string
	fail bool // the other server does not answer
}

func (f *fakeCluster) record(op string, opts BroadcastOptions) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if opts.Local {
		op += " local"
	}
	f.ops = append(f.ops, op)
}

func (f *fakeCluster) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

func (f *fakeCluster) BroadcastWithAck(ctx context.Context, p *Packet, opts BroadcastOptions, clientCount func(int), ack func(*Packet)) int {
	f.record("ack", opts)
	n := f.Adapter.BroadcastWithAck(ctx, p, opts, clientCount, ack)
	if opts.Local {
		return n
	}
	if !f.fail {
		go func() {
			time.Sleep(20 * time.Millisecond)
			clientCount(1)
			time.Sleep(20 * time.Millisecond)
			ack(&Packet{Data: json.RawMessage(`["remote",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9}}})
		}()
	}
	return n + 1
}

func (f *fakeCluster) AddSockets(opts BroadcastOptions, rooms []string) {
	f.record("join", opts)
	f.Adapter.AddSockets(opts, rooms)
}

func (f *fakeCluster) DelSockets(opts BroadcastOptions, rooms []string) {
	f.record("leave", opts)
	f.Adapter.DelSockets(opts, rooms)
}

func (f *fakeCluster) DisconnectSockets(opts BroadcastOptions, close bool) {
	f.record("disconnect", opts)
	f.Adapter.DisconnectSockets(opts, close)
}

func (f *fakeCluster) FetchSockets(ctx context.Context, opts BroadcastOptions) ([]RemoteSocket, error) {
	f.record("fetch", opts)
	out, err := f.Adapter.FetchSockets(ctx, opts)
	if opts.Local {
		return out, err
	}
	if f.fail {
		<-ctx.Done()
		return out, ctx.Err()
	}
	return append(out, RemoteSocket{ID: "elsewhere", Data: json.RawMessage(`null`)}), err
}

func (f *fakeCluster) ServerSideEmit(ctx context.Context, p *Packet, withAck bool) ([]*Packet, error) {
	f.record("sse", BroadcastOptions{})
	if !withAck {
		return nil, nil
	}
	if f.fail {
		<-ctx.Done()
		return []*Packet{{Data: json.RawMessage(`["partial"]`)}}, ctx.Err()
	}
	return []*Packet{{Data: json.RawMessage(`["pong"]`)}}, nil
}

func TestClusterAdapterContract(t *testing.T) {
	t.Parallel()
	var fake *fakeCluster
	srv, ts := newClusterServer(t, Config{Adapter: func(ns *Namespace) Adapter {
		fake = &fakeCluster{Adapter: NewMemoryAdapter(ns)}
		return fake
	}})
	ns := srv.Of("/")
	c := clDial(t, ts, "")
	go func() { // the local client acknowledges the broadcast
		for {
			msg := c.next()
			if msg == "" {
				return
			}
			if id, ok := strings.CutPrefix(msg, `42`); ok && strings.HasSuffix(id, `["ask"]`) {
				websocket.Message.Send(c.ws, "43"+strings.TrimSuffix(id, `["ask"]`)+`["local"]`)
			}
		}
	}()

	// EmitWithAck waits for the server that reports late.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	acks, err := ns.Timeout(5*time.Second).EmitWithAck(ctx, "ask")
	require.NoError(t, err)
	require.Len(t, acks, 2)
	var vals []string
	for _, a := range acks {
		var s string
		a.Decode(0, &s)
		vals = append(vals, s)
	}
	assert.ElementsMatch(t, []string{"local", "remote"}, vals)

	// Local keeps to this server.
	acks, err = ns.Local().EmitWithAck(ctx, "ask")
	require.NoError(t, err)
	assert.Len(t, acks, 1)

	ns.In("r").SocketsJoin("s")
	ns.Local().SocketsLeave("s")
	ns.Except("x").DisconnectSockets(false)
	all, err := ns.FetchSockets(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 1, "the local client was disconnected, elsewhere remains")
	_, err = ns.Local().FetchSockets(ctx)
	require.NoError(t, err)
	require.NoError(t, ns.ServerSideEmit(ctx, "e"))
	replies, err := ns.ServerSideEmitWithAck(ctx, "e")
	require.NoError(t, err)
	require.Len(t, replies, 1)
	assert.Equal(t, "pong", replies[0].Value(0))
	assert.Equal(t, []string{"ack", "ack local", "join", "leave local", "disconnect", "fetch", "fetch local", "sse", "sse"}, fake.recorded())

	// When the other server stays silent: partial results and a timeout.
	fake.fail = true
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	replies, err = ns.ServerSideEmitWithAck(short, "e")
	var ae *AckError
	require.ErrorAs(t, err, &ae)
	assert.True(t, errors.Is(err, ErrAckTimeout))
	assert.Equal(t, "e", ae.Event)
	require.Len(t, replies, 1)
	assert.Equal(t, "partial", replies[0].Value(0))
	got, err := ns.Timeout(50 * time.Millisecond).FetchSockets(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, got)
	acks, err = ns.Timeout(50*time.Millisecond).EmitWithAck(ctx, "ask")
	assert.ErrorIs(t, err, ErrAckTimeout, "the silent server's count never came")
	assert.Empty(t, acks)
}

// A broadcast with acknowledgements and no deadline returns once every
// recipient has answered or disconnected: one that disconnects without
// answering is not waited for. Over both transports.
func TestBroadcastAckSkipsDisconnected(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs := newRawServer(t, Config{}, func(srv *Server) {})
			answers, leaves := rs.open(tr), rs.open(tr)
			connect(t, answers, "/", "")
			connect(t, leaves, "/", "")
			go func() {
				for {
					f, err := answers.Next(time.Minute)
					if err != nil {
						return
					}
					var id int
					if _, err := fmt.Sscanf(f.text, `42%d["q"]`, &id); err == nil {
						answers.SendText(fmt.Sprintf(`43%d["a"]`, id))
					}
				}
			}()
			go func() { // leaves the namespace once asked, without answering
				for {
					f, err := leaves.Next(time.Minute)
					if err != nil {
						return
					}
					if strings.HasPrefix(f.text, `42`) {
						leaves.SendText("41")
						return
					}
				}
			}()
			type result struct {
				got []Args
				err error
			}
			done := make(chan result, 1)
			go func() {
				got, err := rs.srv.Of("/").To().EmitWithAck(context.Background(), "q")
				done <- result{got, err}
			}()
			select {
			case r := <-done:
				require.NoError(t, r.err)
				require.Len(t, r.got, 1)
				var s string
				require.NoError(t, r.got[0].Decode(0, &s))
				require.Equal(t, "a", s)
			case <-time.After(10 * time.Second):
				t.Fatal("the broadcast still waits for the socket that left")
			}
		})
	}
}
