package redisadapter

// Three Go servers on one Redis, in one process, with clients on each:
// every cluster operation, and what happens when a server does not answer.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirekit/socketio"
)

// cluster is three servers with, on each, a client in room "a", one in
// "b" and one in both ("ab").
type cluster struct {
	key     string
	nodes   []*node
	clients []*client // by node then a, b, ab
}

func newCluster(t *testing.T, n int, cfg nodeConfig) *cluster {
	t.Helper()
	c := &cluster{key: testKey()}
	for i := range n {
		nd := newNode(t, c.key, cfg)
		c.nodes = append(c.nodes, nd)
		for _, rooms := range [][]string{{"a"}, {"b"}, {"a", "b"}} {
			name := fmt.Sprintf("%d%s", i, strings.Join(rooms, ""))
			c.clients = append(c.clients, dial(t, nd.ts.URL, name, clientOpts{
				rooms: rooms,
				data:  fmt.Sprintf(`{"name":%q}`, name),
			}))
		}
	}
	waitServers(t, c.key, "/", n)
	return c
}

// received returns, for each client, what it got before the marker that
// node from sends to everyone.
func (c *cluster) received(t *testing.T, from int) map[string][]string {
	t.Helper()
	marker := "mark-" + randomID()
	require.NoError(t, c.nodes[from].ns.Emit(marker))
	out := make(map[string][]string)
	for _, cl := range c.clients {
		if got := cl.upTo(marker); len(got) > 0 {
			out[cl.name] = got
		}
	}
	return out
}

func each(names string, pkt string) map[string][]string {
	out := make(map[string][]string)
	for _, n := range strings.Fields(names) {
		out[n] = []string{pkt}
	}
	return out
}

func TestClusterBroadcast(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nodeConfig{})
	n0, n1, n2 := c.nodes[0].ns, c.nodes[1].ns, c.nodes[2].ns

	for _, tc := range []struct {
		name string
		from int
		emit func() error
		want map[string][]string
	}{
		{"everyone", 0, func() error { return n0.Emit("e", 1, "two", map[string]any{"three": []any{true, nil}}, 4.5) },
			each("0a 0b 0ab 1a 1b 1ab 2a 2b 2ab", `2["e",1,"two",{"three":[true,null]},4.5]`)},
		{"one room", 1, func() error { return n1.To("a").Emit("r", "x") },
			each("0a 0ab 1a 1ab 2a 2ab", `2["r","x"]`)},
		{"rooms are a union", 2, func() error { return n2.To("a", "b").Emit("u") },
			each("0a 0b 0ab 1a 1b 1ab 2a 2b 2ab", `2["u"]`)},
		{"except", 0, func() error { return n0.To("a").Except("b").Emit("x") },
			each("0a 1a 2a", `2["x"]`)},
		{"except alone", 1, func() error { return n1.Except("a").Emit("y") },
			each("0b 1b 2b", `2["y"]`)},
		{"volatile", 2, func() error { return n2.Volatile().To("b").Emit("v") },
			each("0b 0ab 1b 1ab 2b 2ab", `2["v"]`)},
		{"local", 0, func() error { return n0.Local().Emit("l") },
			each("0a 0b 0ab", `2["l"]`)},
		{"a socket's broadcast skips it", 1, func() error { return n1.Socket(c.clients[3].sid).Broadcast().Emit("s") },
			each("0a 0b 0ab 1b 1ab 2a 2b 2ab", `2["s"]`)},
		{"to a socket on another server", 2, func() error { return n2.To(c.clients[1].sid).Emit("direct") },
			each("0b", `2["direct"]`)},
		{"binary", 0, func() error { return n0.To("b").Emit("bin", []byte{1, 2, 3}, map[string]any{"b": []byte{4, 5}}) },
			each("0b 0ab 1b 1ab 2b 2ab", `52-["bin",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}] +[010203 0405]`)},
	} {
		require.NoError(t, tc.emit(), tc.name)
		assert.Equal(t, tc.want, c.received(t, tc.from), tc.name)
	}
}

func TestClusterBroadcastWithAck(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nodeConfig{})
	ctx := context.Background()
	names := func(acks []socketio.Args) []string {
		var out []string
		for _, a := range acks {
			var s string
			a.Decode(0, &s)
			out = append(out, s)
		}
		sort.Strings(out)
		return out
	}

	acks, err := c.nodes[0].ns.Timeout(3*time.Second).EmitWithAck(ctx, "ask", 7)
	require.NoError(t, err)
	assert.Equal(t, []string{"ack-0a", "ack-0ab", "ack-0b", "ack-1a", "ack-1ab", "ack-1b", "ack-2a", "ack-2ab", "ack-2b"}, names(acks))

	acks, err = c.nodes[1].ns.To("a").Except("b").Timeout(3*time.Second).EmitWithAck(ctx, "ask")
	require.NoError(t, err)
	assert.Equal(t, []string{"ack-0a", "ack-1a", "ack-2a"}, names(acks))

	// A room nobody is in: every server reports 0 sockets, no waiting.
	start := time.Now()
	acks, err = c.nodes[2].ns.To("nobody").Timeout(3*time.Second).EmitWithAck(ctx, "ask")
	require.NoError(t, err)
	assert.Empty(t, acks)
	assert.Less(t, time.Since(start), time.Second)

	// A client that never answers: the deadline, with what did arrive.
	dial(t, c.nodes[2].ts.URL, "mute", clientOpts{rooms: []string{"quiet"}, noAck: true})
	dial(t, c.nodes[1].ts.URL, "talk", clientOpts{rooms: []string{"quiet"}})
	acks, err = c.nodes[0].ns.To("quiet").Timeout(300*time.Millisecond).EmitWithAck(ctx, "ask")
	assert.ErrorIs(t, err, socketio.ErrAckTimeout)
	assert.Equal(t, []string{"ack-talk"}, names(acks))

	// Binary in the acknowledged broadcast reaches remote clients as binary.
	c.clients[4].in = drain(c.clients[4].in)
	acks, err = c.nodes[0].ns.To(c.clients[4].sid).Timeout(3*time.Second).EmitWithAck(ctx, "bin", []byte{9})
	require.NoError(t, err)
	assert.Equal(t, []string{"ack-1b"}, names(acks))
}

// drain empties a client's queue of packets already received.
func drain(in chan packet) chan packet {
	for {
		select {
		case <-in:
		default:
			return in
		}
	}
}

func TestClusterSocketsJoinLeaveDisconnect(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nodeConfig{})
	n0, n1 := c.nodes[0].ns, c.nodes[1].ns

	// From one server, a join then a broadcast to the room reach the
	// others in that order.
	n0.In("a").Except("b").SocketsJoin("x", "y")
	require.NoError(t, n0.To("x").Emit("in-x"))
	assert.Equal(t, each("0a 1a 2a", `2["in-x"]`), c.received(t, 0))

	all, err := n1.In("x").FetchSockets(context.Background())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{c.clients[0].sid, c.clients[3].sid, c.clients[6].sid}, ids(all))
	for _, s := range all {
		assert.ElementsMatch(t, []string{s.ID, "a", "x", "y"}, s.Rooms)
	}

	n1.In("x").SocketsLeave("x")
	require.NoError(t, n1.To("x", "y").Emit("after-leave"))
	assert.Equal(t, each("0a 1a 2a", `2["after-leave"]`), c.received(t, 1), "still in y")
	require.NoError(t, n1.To("x").Emit("x-empty"))
	assert.Empty(t, c.received(t, 1))

	// Local keeps it to one server.
	n1.Local().In("b").SocketsJoin("z")
	require.NoError(t, n1.To("z").Emit("z"))
	assert.Equal(t, each("1b 1ab", `2["z"]`), c.received(t, 1))

	// Disconnect the "b" sockets everywhere; close also ends the
	// connection of the "ab" ones.
	n0.In("b").Except("a").DisconnectSockets(false)
	n0.In("ab-none", "a").Except("x", "y").DisconnectSockets(true)
	for _, i := range []int{1, 4, 7, 2, 5, 8} {
		c.clients[i].expectDisconnect()
	}
	require.Eventually(t, func() bool {
		all, err := n1.FetchSockets(context.Background())
		return err == nil && len(all) == 3
	}, 5*time.Second, 20*time.Millisecond)
}

func ids(ss []socketio.RemoteSocket) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func TestClusterFetchSockets(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nodeConfig{})
	ctx := context.Background()

	all, err := c.nodes[2].ns.FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, all, 9)
	byID := make(map[string]socketio.RemoteSocket)
	for _, s := range all {
		byID[s.ID] = s
	}
	for _, cl := range c.clients {
		s, ok := byID[cl.sid]
		require.True(t, ok, cl.name)
		assert.JSONEq(t, fmt.Sprintf(`{"name":%q}`, cl.name), string(s.Data), cl.name)
		assert.Contains(t, s.Rooms, cl.sid)
		assert.Equal(t, "4", s.Handshake.Query.Get("EIO"), cl.name)
		assert.Contains(t, string(s.Handshake.Auth), `"rooms"`, cl.name)
		assert.WithinDuration(t, time.Now(), s.Handshake.Time, time.Minute, cl.name)
		assert.True(t, strings.HasPrefix(s.Handshake.Address, "127.0.0.1"), s.Handshake.Address) // remote ones without the port, as Node.js reports them
		assert.NotEmpty(t, s.Handshake.Header.Get("Sec-Websocket-Key"), cl.name)
	}

	ab, err := c.nodes[0].ns.In("a").Except("b").FetchSockets(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{c.clients[0].sid, c.clients[3].sid, c.clients[6].sid}, ids(ab))

	local, err := c.nodes[0].ns.Local().FetchSockets(ctx)
	require.NoError(t, err)
	assert.Len(t, local, 3)
}

func TestClusterServerSideEmit(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, nodeConfig{})
	type call struct {
		node int
		n    float64
		bin  []byte
	}
	calls := make(chan call, 10)
	for i, nd := range c.nodes {
		nd.ns.OnServerSideEmit("hello", func(args socketio.Args, ack socketio.Ack) {
			var cl call
			cl.node = i
			args.Decode(0, &cl.n)
			args.Decode(1, &cl.bin)
			calls <- cl
			if ack != nil && i != 2 {
				ack(map[string]any{"from": i}, "ignored")
			}
		})
	}
	ctx := context.Background()
	require.NoError(t, c.nodes[0].ns.ServerSideEmit(ctx, "hello", 1, []byte{1, 2}))
	got := []call{<-calls, <-calls}
	sort.Slice(got, func(i, j int) bool { return got[i].node < got[j].node })
	assert.Equal(t, []call{{1, 1, []byte{1, 2}}, {2, 1, []byte{1, 2}}}, got, "the other servers, not the sender")

	// With acknowledgements: node 2 never answers.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	replies, err := c.nodes[0].ns.ServerSideEmitWithAck(short, "hello", 2)
	assert.ErrorIs(t, err, socketio.ErrAckTimeout)
	require.Len(t, replies, 1)
	assert.JSONEq(t, `{"from":1}`, string(replies[0].JSON(0)))
	<-calls
	<-calls

	replies, err = c.nodes[2].ns.ServerSideEmitWithAck(ctx, "hello", 3)
	require.NoError(t, err)
	var from []string
	for _, r := range replies {
		from = append(from, string(r.JSON(0)))
	}
	assert.ElementsMatch(t, []string{`{"from":0}`, `{"from":1}`}, from)
}

// silentServer subscribes to a namespace's request channel like a server
// that never answers: it counts in PUBSUB NUMSUB.
func silentServer(t *testing.T, key string) {
	t.Helper()
	rdb := newRedis(t, redisAddr())
	ps := rdb.Subscribe(context.Background(), key+"-request#/#")
	t.Cleanup(func() { ps.Close() })
	_, err := ps.Receive(context.Background()) // the subscription's confirmation
	require.NoError(t, err)
}

func TestClusterServerDoesNotAnswer(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, nodeConfig{opts: Options{RequestsTimeout: 300 * time.Millisecond}})
	silentServer(t, c.key)
	waitServers(t, c.key, "/", 3)
	ctx := context.Background()
	c.nodes[1].ns.OnServerSideEmit("q", func(_ socketio.Args, ack socketio.Ack) { ack("a") })

	start := time.Now()
	all, err := c.nodes[0].ns.FetchSockets(ctx) // RequestsTimeout applies
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "only 1 responses received out of 2")
	assert.Len(t, all, 6, "what did arrive")
	assert.Less(t, time.Since(start), 2*time.Second)

	replies, err := c.nodes[0].ns.ServerSideEmitWithAck(ctx, "q")
	assert.ErrorIs(t, err, socketio.ErrAckTimeout)
	assert.Len(t, replies, 1)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	acks, err := c.nodes[0].ns.Except().EmitWithAck(short, "ask")
	assert.ErrorIs(t, err, socketio.ErrAckTimeout)
	assert.Len(t, acks, 6, "both real servers answered")
}

func TestNewFailsWithoutRedis(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	rdb := newRedis(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	factory, err := New(ctx, rdb, Options{})
	assert.Nil(t, factory)
	assert.ErrorContains(t, err, "redisadapter: Redis does not answer PING")
	assert.ErrorContains(t, err, "connection refused")
}

// emitterMessage is a broadcast as @socket.io/redis-emitter writes it:
// uid "emitter", no nsp in the packet, opts keys in another order.
func emitterMessage(rooms, except []string, data ...value) []byte {
	msg := array(str("emitter"),
		object(field{"type", number(2)}, field{"data", array(data...)}),
		object(field{"rooms", stringArray(rooms)}, field{"flags", object()}, field{"except", stringArray(except)}))
	return msgpackBytes(&msg)
}

// Messages that are not ours, or not messages at all, are ignored, and
// our own broadcasts are delivered once.
func TestClusterIgnoresForeignMessages(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, nodeConfig{})
	rdb := newRedis(t, redisAddr())
	ctx := context.Background()
	pub := func(channel string, payload any) {
		require.NoError(t, rdb.Publish(ctx, channel, payload).Err())
	}
	k := c.key
	for _, m := range []struct {
		channel string
		payload any
	}{
		{k + "#/#", "garbage"},
		{k + "#/#", []byte{0x93, 0xc1}},
		{k + "#/#", []byte{0x91, 0xa1, 0x78}},                         // too short
		{k + "#/#", []byte{0x92, 0xa1, 0x78, 0x01}},                   // packet not a map
		{k + "#/#", []byte{0x92, 0xa1, 0x78, 0x81, 0xa1, 0x78, 0x01}}, // no data
		{k + "#/#a#", []byte{0x93, 0xa1, 0x78, 0x82, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0x01, 0x80}},                                         // event name not a string
		{k + "#/#", []byte{0x93, 0xa1, 0x78, 0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0xa3, 'n', 's', 'p', 0xa2, '/', 'x', 0x80}}, // another namespace
		{k + "#/#", []byte(strings.Repeat("\x91", 1000))},
		{k + "-request#/#", "{"},
		{k + "-request#/#", `{"type":"x"}`},
		{k + "-request#/#", `{"type":5,"requestId":"abc"}`}, // answered, harmless
		{k + "-request#/#", `{"type":2,"opts":{"rooms":[1,{"a":1}]},"rooms":"x"}`},
		{k + "-request#/#", `{"type":6,"uid":"zz","data":"not an array"}`},
		{k + "-request#/#", `{"type":6,"uid":"zz","data":[1]}`},
		{k + "-request#/#", `{"type":42}`},
		{k + "-request#/#", []byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0x07}}, // a broadcast with ack, and nothing else
		{k + "-request#/#", []byte{0xc1}},
		{k + "-response#/#", `{"requestId":"nope","sockets":[1,2]}`},
		{k + "-response#/#", []byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0x09, 0xa9, 'r', 'e', 'q', 'u', 'e', 's', 't', 'I', 'd', 0xa1, 'x'}},
		{k + "-response#/#", "["},
		{k + "-response#/#", ""},
	} {
		pub(m.channel, m.payload)
	}
	pub(k+"#/#b#", emitterMessage([]string{"b"}, []string{"a"}, str("from"), str("em")))
	pub(k+"#/#", emitterMessage(nil, nil, str("mark"))) // after the others: Redis keeps the order
	for _, cl := range c.clients {
		got := cl.upTo("mark")
		if cl.name == "0b" || cl.name == "1b" {
			assert.Equal(t, []string{`2["from","em"]`}, got, cl.name)
		} else {
			assert.Empty(t, got, cl.name)
		}
	}

	// Our own broadcast, once. Once the other server has it, its echo has
	// reached us too, before anything that server publishes next.
	require.NoError(t, c.nodes[0].ns.Emit("own"))
	for _, cl := range c.clients[3:] {
		p, _ := cl.next(5 * time.Second)
		require.Equal(t, `2["own"]`, p.text, cl.name)
	}
	assert.Equal(t, each("0a 0b 0ab", `2["own"]`), c.received(t, 1))
}

// A namespace that closes and opens again (a dynamic one that empties)
// leaves the subscriptions of the others, and of its successor, alone.
func TestClusterDynamicNamespaces(t *testing.T) {
	t.Parallel()
	key := testKey()
	var fams []*socketio.Namespace
	var nodes []*node
	for range 2 {
		nd := newNode(t, key, nodeConfig{})
		nodes = append(nodes, nd)
		fams = append(fams, nd.srv.OfFunc(func(name string, _ json.RawMessage) bool { return strings.HasPrefix(name, "/room-") }))
	}
	waitServers(t, key, "/", 2)
	b := dial(t, nodes[1].ts.URL, "b", clientOpts{nsp: "/room-1"})
	for range 3 {
		a := dial(t, nodes[0].ts.URL, "a", clientOpts{nsp: "/room-1"})
		waitServers(t, key, "/room-1", 2)
		require.NoError(t, fams[1].Emit("hi"))
		p, _ := a.next(5 * time.Second)
		assert.Equal(t, `2/room-1,["hi"]`, p.text)
		p, _ = b.next(5 * time.Second)
		assert.Equal(t, `2/room-1,["hi"]`, p.text)
		a.ws.Close() // the namespace empties on node 0 and goes
		waitServers(t, key, "/room-1", 1)
	}
	require.NoError(t, fams[1].Emit("bye"))
	p, _ := b.next(5 * time.Second)
	assert.Equal(t, `2/room-1,["bye"]`, p.text)
}

// A server asking the others right after it starts counts itself in: it
// waits for its own subscription first.
func TestClusterRequestRightAfterStart(t *testing.T) {
	t.Parallel()
	key := testKey()
	a := newNode(t, key, nodeConfig{})
	a.ns.OnServerSideEmit("hello", func(_ socketio.Args, ack socketio.Ack) { ack("from-a") })
	waitServers(t, key, "/", 1)
	for range 3 {
		b := newNode(t, key, nodeConfig{})
		replies, err := b.ns.ServerSideEmitWithAck(context.Background(), "hello")
		require.NoError(t, err)
		require.Len(t, replies, 1)
		assert.Equal(t, "from-a", replies[0].Value(0))
		b.srv.Shutdown(context.Background())
	}
}
