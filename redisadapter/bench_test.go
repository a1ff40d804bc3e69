package redisadapter

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirekit/socketio"
	"golang.org/x/net/websocket"
)

// BenchmarkFanout measures deliveries per second of broadcasts to one
// room, clients and servers all in this process: on one server with the
// in-memory adapter, and spread over three servers sharing the Redis
// adapter, the broadcasts sent from one of them. With 999 clients it is
// the fan-out; with 3 it is the rate of messages through Redis.
//
//	go test -run - -bench Fanout -benchtime 2000x
func BenchmarkFanout(b *testing.B) {
	for _, clients := range []int{999, 3} {
		b.Run(fmt.Sprintf("memory/1-server/%d-clients", clients), func(b *testing.B) {
			srv := socketio.New(socketio.Config{PingInterval: time.Hour})
			srv.Of("/").OnConnect(func(s *socketio.Socket) { s.Join("room") })
			ts := httptest.NewServer(srv)
			defer ts.Close()
			defer srv.Shutdown(context.Background())
			fanout(b, srv.Of("/"), []string{ts.URL}, clients)
		})
		b.Run(fmt.Sprintf("redis/3-servers/%d-clients", clients), func(b *testing.B) {
			key := testKey()
			var urls []string
			var nodes []*node
			for range 3 {
				// Long heartbeats: a client far behind in reading would
				// answer a ping too late.
				nd := newNode(b, key, nodeConfig{pingInterval: time.Hour})
				nd.ns.OnConnect(func(s *socketio.Socket) { s.Join("room") })
				nodes = append(nodes, nd)
				urls = append(urls, nd.ts.URL)
			}
			waitServers(b, key, "/", 3)
			fanout(b, nodes[0].ns, urls, clients)
		})
	}
}

func fanout(b *testing.B, from *socketio.Namespace, urls []string, n int) {
	var got atomic.Int64
	var conns []*websocket.Conn
	defer func() {
		for _, ws := range conns {
			ws.Close()
		}
	}()
	for i := range n {
		base := urls[i%len(urls)]
		ws, err := websocket.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", "", base)
		require.NoError(b, err)
		conns = append(conns, ws)
		var msg []byte
		require.NoError(b, websocket.Message.Receive(ws, &msg)) // open
		require.NoError(b, websocket.Message.Send(ws, "40"))
		require.NoError(b, websocket.Message.Receive(ws, &msg)) // connect
		go func() {
			var msg []byte
			for websocket.Message.Receive(ws, &msg) == nil {
				switch {
				case bytes.HasPrefix(msg, []byte(`42["tick"`)):
					got.Add(1)
				case len(msg) == 1 && msg[0] == '2':
					websocket.Message.Send(ws, "3")
				}
			}
		}()
	}
	// Every server has its sockets in the room.
	require.Eventually(b, func() bool {
		all, err := from.In("room").FetchSockets(context.Background())
		return err == nil && len(all) == n
	}, 10*time.Second, 10*time.Millisecond)

	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		from.To("room").Emit("tick", i)
	}
	want := int64(b.N) * int64(n)
	for got.Load() < want {
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("delivered %d of %d", got.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(0, "ns/op")
}
