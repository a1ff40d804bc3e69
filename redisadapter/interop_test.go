package redisadapter

// One Go server and one Node.js server (socket.io 4.8 with
// @socket.io/redis-adapter 8.3, from interop/node_modules) on the same
// Redis, clients on both.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirekit/socketio"
)

// nodeServer drives testdata/node_server.js.
type nodeServer struct {
	t     *testing.T
	url   string
	stdin *json.Encoder

	mu      sync.Mutex
	nextID  int
	pending map[int]chan map[string]json.RawMessage
	events  chan map[string]json.RawMessage
}

func startNodeServer(t *testing.T, key string) *nodeServer {
	t.Helper()
	modules, err := filepath.Abs("../interop/node_modules")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(modules, "@socket.io", "redis-adapter")); err != nil {
		t.Fatalf("the Node.js packages are missing: run npm ci --prefix interop (%v)", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed for the interop test: %v", err)
	}
	cmd := exec.Command("node", "testdata/node_server.js", "redis://"+redisAddr(), key)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stderr = &testWriter{t: t}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	n := &nodeServer{
		t:       t,
		stdin:   json.NewEncoder(stdin),
		pending: make(map[int]chan map[string]json.RawMessage),
		events:  make(chan map[string]json.RawMessage, 100),
	}
	port := make(chan int, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]json.RawMessage
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			switch {
			case m["port"] != nil:
				var p int
				json.Unmarshal(m["port"], &p)
				port <- p
			case m["event"] != nil:
				n.events <- m
			case m["id"] != nil:
				var id int
				json.Unmarshal(m["id"], &id)
				n.mu.Lock()
				ch := n.pending[id]
				delete(n.pending, id)
				n.mu.Unlock()
				if ch != nil {
					ch <- m
				}
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // the script exits when stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		<-readDone
	})
	select {
	case p := <-port:
		n.url = "http://127.0.0.1:" + itoa(p)
	case <-time.After(15 * time.Second):
		t.Fatal("the Node.js server did not start")
	}
	return n
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("node: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// do runs a command on the Node.js server and returns its answer.
func (n *nodeServer) do(cmd map[string]any) map[string]json.RawMessage {
	n.t.Helper()
	ch := make(chan map[string]json.RawMessage, 1)
	n.mu.Lock()
	n.nextID++
	cmd["id"] = n.nextID
	n.pending[n.nextID] = ch
	n.mu.Unlock()
	require.NoError(n.t, n.stdin.Encode(cmd))
	select {
	case m := <-ch:
		if e, ok := m["error"]; ok {
			n.t.Logf("node %v: error %s", cmd["op"], e)
		}
		return m
	case <-time.After(10 * time.Second):
		n.t.Fatalf("node: no answer to %v", cmd)
		return nil
	}
}

func TestInteropNode(t *testing.T) {
	key := testKey()
	g := newNode(t, key, nodeConfig{})
	n := startNodeServer(t, key)
	waitServers(t, key, "/", 2)

	clients := map[string]*client{}
	var all []*client
	for _, side := range []struct{ prefix, url string }{{"g", g.ts.URL}, {"n", n.url}} {
		for _, rooms := range [][]string{{"a"}, {"b"}, {"a", "b"}} {
			name := side.prefix + strings.Join(rooms, "")
			c := dial(t, side.url, name, clientOpts{rooms: rooms, data: `{"name":"` + name + `"}`})
			clients[name] = c
			all = append(all, c)
		}
	}
	// received returns what each client got before a marker sent to
	// everyone by the Go server (fromGo) or the Node.js one.
	received := func(fromGo bool) map[string][]string {
		t.Helper()
		marker := "mark-" + randomID()
		if fromGo {
			require.NoError(t, g.ns.Emit(marker))
		} else {
			n.do(map[string]any{"op": "emit", "args": []any{marker}})
		}
		out := map[string][]string{}
		for _, c := range all {
			if got := c.upTo(marker); len(got) > 0 {
				out[c.name] = got
			}
		}
		return out
	}
	ctx := context.Background()

	t.Run("broadcast from Go", func(t *testing.T) {
		require.NoError(t, g.ns.To("a").Emit("from-go", "x", 1, map[string]any{"k": []any{true, nil}}, 4.5, 1<<40))
		assert.Equal(t, each("ga gab na nab", `2["from-go","x",1,{"k":[true,null]},4.5,1099511627776]`), received(true))
		require.NoError(t, g.ns.To("a", "b").Except("b").Emit("ex"))
		assert.Equal(t, each("ga na", `2["ex"]`), received(true))
		require.NoError(t, g.ns.Socket(clients["ga"].sid).Broadcast().Emit("bc"))
		assert.Equal(t, each("gb gab na nb nab", `2["bc"]`), received(true))
		require.NoError(t, g.ns.To(clients["nb"].sid).Emit("direct"))
		assert.Equal(t, each("nb", `2["direct"]`), received(true))
		require.NoError(t, g.ns.Volatile().To("b").Emit("bin", []byte{1, 2, 3}, map[string]any{"nested": []byte{4}}))
		assert.Equal(t, each("gb gab nb nab", `52-["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}] +[010203 04]`), received(true))
	})

	t.Run("broadcast from Node", func(t *testing.T) {
		n.do(map[string]any{"op": "emit", "to": []string{"a"}, "args": []any{"from-node", json.RawMessage(`{"z":1,"a":2}`), 4.5, 1 << 40}})
		// Key order as Node.js wrote it, on the Go side too.
		assert.Equal(t, each("ga gab na nab", `2["from-node",{"z":1,"a":2},4.5,1099511627776]`), received(false))
		n.do(map[string]any{"op": "emit", "to": []string{"a", "b"}, "except": []string{"a"}, "args": []any{"ex"}})
		assert.Equal(t, each("gb nb", `2["ex"]`), received(false))
		n.do(map[string]any{"op": "emit", "to": []string{clients["gab"].sid}, "args": []any{"direct"}})
		assert.Equal(t, each("gab", `2["direct"]`), received(false))
		n.do(map[string]any{"op": "emit", "to": []string{"b"}, "args": []any{"nbin", map[string]any{"$bin": "AQID"}, "s"}})
		assert.Equal(t, each("gb gab nb nab", `51-["nbin",{"_placeholder":true,"num":0},"s"] +[010203]`), received(false))
	})

	t.Run("FetchSockets from Go", func(t *testing.T) {
		got, err := g.ns.In("a").FetchSockets(ctx)
		require.NoError(t, err)
		byID := map[string]socketio.RemoteSocket{}
		for _, s := range got {
			byID[s.ID] = s
		}
		require.Len(t, byID, 4)
		for _, name := range []string{"ga", "gab", "na", "nab"} {
			s, ok := byID[clients[name].sid]
			require.True(t, ok, name)
			assert.JSONEq(t, `{"name":"`+name+`"}`, string(s.Data), name)
			assert.Contains(t, s.Rooms, "a", name)
			assert.Contains(t, s.Rooms, s.ID, name)
			assert.Equal(t, "websocket", s.Handshake.Query.Get("transport"), name)
			assert.Contains(t, string(s.Handshake.Auth), `"rooms"`, name)
			assert.WithinDuration(t, time.Now(), s.Handshake.Time, time.Minute, name)
			assert.NotEmpty(t, s.Handshake.Header.Get("Sec-Websocket-Key"), name)
			assert.NotEmpty(t, s.Handshake.Host, name)
		}
	})

	t.Run("FetchSockets from Node", func(t *testing.T) {
		res := n.do(map[string]any{"op": "fetch", "to": []string{"b"}})
		var sockets []struct {
			ID     string
			Rooms  []string
			Data   map[string]string
			Auth   map[string]any
			Issued float64
			Query  map[string]string
		}
		require.NoError(t, json.Unmarshal(res["sockets"], &sockets), string(res["error"]))
		require.Len(t, sockets, 4)
		seen := map[string]bool{}
		for _, s := range sockets {
			seen[s.Data["name"]] = true
			assert.Contains(t, s.Rooms, "b")
			assert.Contains(t, s.Rooms, s.ID)
			assert.Contains(t, s.Auth, "rooms")
			assert.Equal(t, "4", s.Query["EIO"])
			assert.InDelta(t, float64(time.Now().UnixMilli()), s.Issued, 60e3)
		}
		assert.Equal(t, map[string]bool{"gb": true, "gab": true, "nb": true, "nab": true}, seen)
	})

	t.Run("SocketsJoin and SocketsLeave", func(t *testing.T) {
		g.ns.In("a").Except("b").SocketsJoin("j")
		require.Eventually(t, func() bool {
			var rooms []string
			json.Unmarshal(n.do(map[string]any{"op": "rooms", "sid": clients["na"].sid})["rooms"], &rooms)
			return contains(rooms, "j")
		}, 5*time.Second, 20*time.Millisecond)
		n.do(map[string]any{"op": "emit", "to": []string{"j"}, "args": []any{"in-j"}})
		assert.Equal(t, each("ga na", `2["in-j"]`), received(false))

		n.do(map[string]any{"op": "join", "to": []string{"b"}, "rooms": []string{"k"}})
		require.Eventually(t, func() bool {
			s := g.ns.Socket(clients["gb"].sid)
			return s != nil && contains(s.Rooms(), "k")
		}, 5*time.Second, 20*time.Millisecond)
		require.NoError(t, g.ns.To("k").Emit("in-k"))
		assert.Equal(t, each("gb gab nb nab", `2["in-k"]`), received(true))

		n.do(map[string]any{"op": "leave", "to": []string{"k"}, "rooms": []string{"k"}})
		require.Eventually(t, func() bool { return !contains(g.ns.Socket(clients["gb"].sid).Rooms(), "k") }, 5*time.Second, 20*time.Millisecond)
		g.ns.In("j").SocketsLeave("j")
		require.Eventually(t, func() bool {
			var rooms []string
			json.Unmarshal(n.do(map[string]any{"op": "rooms", "sid": clients["na"].sid})["rooms"], &rooms)
			return !contains(rooms, "j")
		}, 5*time.Second, 20*time.Millisecond)
	})

	t.Run("ServerSideEmit", func(t *testing.T) {
		got := make(chan []any, 2)
		recv := func() []any {
			select {
			case v := <-got:
				return v
			case <-time.After(5 * time.Second):
				t.Fatal("the Go handler was not called")
				return nil
			}
		}
		event := func() map[string]json.RawMessage {
			select {
			case v := <-n.events:
				return v
			case <-time.After(5 * time.Second):
				t.Fatal("the Node.js listener was not called")
				return nil
			}
		}
		g.ns.OnServerSideEmit("node-hello", func(args socketio.Args, ack socketio.Ack) {
			var vals []any
			for i := range args.Len() {
				vals = append(vals, args.Value(i))
			}
			got <- vals
			if ack != nil {
				ack(map[string]any{"from": "go", "bin": []byte{7}})
			}
		})
		// Go -> Node.js, without and with acknowledgement.
		require.NoError(t, g.ns.ServerSideEmit(ctx, "go-hello", 1, "two", []byte{3}))
		ev := event()
		assert.JSONEq(t, `[1,"two",{"$bin":"Aw=="}]`, string(ev["args"]))
		replies, err := g.ns.ServerSideEmitWithAck(ctx, "go-hello", "x")
		require.NoError(t, err)
		require.Len(t, replies, 1)
		assert.JSONEq(t, `{"from":"node","got":["x"]}`, string(replies[0].JSON(0)))
		event()

		// Node.js -> Go.
		n.do(map[string]any{"op": "sse", "args": []any{"node-hello", 5, map[string]any{"$bin": "CQk="}}})
		assert.Equal(t, []any{5.0, []byte{9, 9}}, recv(), "a Buffer comes back as []byte")
		res := n.do(map[string]any{"op": "sse", "ack": true, "args": []any{"node-hello", "q"}})
		assert.JSONEq(t, `[{"from":"go","bin":{"$bin":"Bw=="}}]`, string(res["replies"]))
		assert.Equal(t, []any{"q"}, recv())
	})

	t.Run("broadcast with acknowledgements", func(t *testing.T) {
		acks, err := g.ns.To("a").Timeout(3*time.Second).EmitWithAck(ctx, "ask", 1)
		require.NoError(t, err)
		var names []string
		for _, a := range acks {
			names = append(names, a.Value(0).(string))
		}
		sort.Strings(names)
		assert.Equal(t, []string{"ack-ga", "ack-gab", "ack-na", "ack-nab"}, names)

		res := n.do(map[string]any{"op": "emitWithAck", "to": []string{"b"}, "timeout": 3000, "args": []any{"ask", 2}})
		var nacks []string
		require.NoError(t, json.Unmarshal(res["acks"], &nacks), string(res["error"]))
		sort.Strings(nacks)
		assert.Equal(t, []string{"ack-gab", "ack-gb", "ack-nab", "ack-nb"}, nacks)
	})

	t.Run("DisconnectSockets", func(t *testing.T) {
		g.ns.In(clients["nab"].sid).DisconnectSockets(false)
		clients["nab"].expectDisconnect()
		n.do(map[string]any{"op": "disconnect", "to": []string{clients["gab"].sid}, "close": true})
		clients["gab"].expectDisconnect()
		require.Eventually(t, func() bool {
			all, err := g.ns.FetchSockets(ctx)
			return err == nil && len(all) == 4
		}, 5*time.Second, 20*time.Millisecond)
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
