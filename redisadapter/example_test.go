package redisadapter_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/redisadapter"
)

// Every server of the cluster runs the same code; a broadcast from any of
// them reaches the clients of all.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	adapter, err := redisadapter.New(ctx, rdb, redisadapter.Options{})
	if err != nil {
		log.Fatal(err) // Redis is unreachable
	}
	srv := socketio.New(socketio.Config{
		Adapter:    adapter,
		Transports: []string{"websocket"}, // no sticky sessions needed
	})
	ns := srv.Of("/")
	ns.OnConnect(func(s *socketio.Socket) {
		s.Join("lobby")
		ns.To("lobby").Emit("joined", s.ID()) // on every server
	})
	// Server to server: answer the others' "status" requests.
	ns.OnServerSideEmit("status", func(args socketio.Args, ack socketio.Ack) {
		if ack != nil {
			ack(map[string]int{"sockets": len(ns.Sockets())})
		}
	})
	http.Handle("/socket.io/", srv)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
