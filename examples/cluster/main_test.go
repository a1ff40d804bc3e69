package main

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/websocket"
)

// The two servers of the example, on the Redis at $REDIS_ADDR (default
// 127.0.0.1:6390, as .ci/test.sh starts it), with a client on each.
func TestTwoServers(t *testing.T) {
	addr := cmp.Or(os.Getenv("REDIS_ADDR"), "127.0.0.1:6390")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	key := "example-test-" + time.Now().Format("150405.000000")
	var urls []string
	for _, name := range []string{"one", "two"} {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		srv, err := newServer(ctx, name, rdb, key, logger)
		if err != nil {
			t.Fatalf("Redis must run at %s (REDIS_ADDR): %v", addr, err)
		}
		ts := httptest.NewServer(handler(srv))
		defer ts.Close()
		defer srv.Shutdown(ctx)
		urls = append(urls, ts.URL)
	}
	// The servers subscribe in the background: wait until both have.
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, _ := rdb.PubSubNumSub(ctx, key+"-request#/#").Result()
		if n[key+"-request#/#"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the servers did not subscribe")
		}
	}
	ann, bob := dial(t, urls[0], "ann"), dial(t, urls[1], "bob")

	send(t, bob, `42["chat",{"text":"hi"}]`)
	for _, c := range []*websocket.Conn{ann, bob} {
		if got := next(t, c); got != `42["chat",{"text":"hi","from":"two"}]` {
			t.Fatalf("got %s", got)
		}
	}
	send(t, ann, `421["who",{}]`)
	var who []Who
	if got := next(t, ann); !strings.HasPrefix(got, "431") || json.Unmarshal([]byte(got[3:]), &who) != nil {
		t.Fatalf("got %s", got)
	}
	if users := strings.Join(who[0].Users, " "); !strings.Contains(users, "ann@one") || !strings.Contains(users, "bob@two") {
		t.Fatalf("who: %v", who)
	}
}

func TestRedisUnreachable(t *testing.T) {
	err := run(context.Background(), []string{"127.0.0.1:0"}, "127.0.0.1:1", "k", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "Redis does not answer PING") {
		t.Fatalf("err = %v", err)
	}
}

func dial(t *testing.T, base, user string) *websocket.Conn {
	t.Helper()
	ws, err := websocket.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", "", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	next(t, ws) // open
	send(t, ws, `40{"user":"`+user+`"}`)
	if got := next(t, ws); !strings.HasPrefix(got, "40{") {
		t.Fatalf("connect: %s", got)
	}
	return ws
}

func send(t *testing.T, ws *websocket.Conn, msg string) {
	t.Helper()
	if err := websocket.Message.Send(ws, msg); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var msg string
	if err := websocket.Message.Receive(ws, &msg); err != nil {
		t.Fatal(err)
	}
	return msg
}
