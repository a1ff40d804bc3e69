package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// Stopping a server gracefully: http.Server.Shutdown stops accepting and
// runs the functions registered with RegisterOnShutdown, where
// Server.Shutdown disconnects every socket, flushes what is queued for the
// clients, closes their connections (they see "transport close" and would
// reconnect, as after the Node server's close()) and waits for the sockets'
// handlers. (http.Server.Shutdown
// waits neither for WebSocket connections, which net/http no longer tracks,
// nor for those functions: hence the channel.)
func Example_shutdown() {
	srv := socketio.New(socketio.Config{})
	events := make(chan string, 4)
	srv.Of("/").OnDisconnect(func(s *socketio.Socket, reason string) {
		events <- "server: socket left: " + reason // e.g. release its resources
	})

	hs := &http.Server{Handler: srv}
	socketioDone := make(chan error, 1)
	hs.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		socketioDone <- srv.Shutdown(ctx)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sock, err := client.Connect(ctx, "http://"+ln.Addr().String(), &client.Options{
		Transports: []string{"websocket"}, NoReconnect: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sock.Disconnect()
	sock.OnDisconnect(func(reason string) { events <- "client: " + reason })
	sock.OnEvent("news", func(args socketio.Args, _ socketio.Ack) {
		var s string
		args.Decode(0, &s)
		events <- "client: news: " + s
	})
	// In flight when the server stops: delivered before the disconnect.
	srv.Of("/").Emit("news", "closing time")

	// On SIGTERM, say:
	if err := hs.Shutdown(ctx); err != nil {
		fmt.Println("http:", err)
	}
	fmt.Println("socketio.Server.Shutdown:", <-socketioDone)
	fmt.Println("Serve:", errors.Is(<-served, http.ErrServerClosed))

	var got []string
	for range 3 {
		got = append(got, <-events)
	}
	slices.Sort(got) // the client and the server run concurrently
	for _, e := range got {
		fmt.Println(e)
	}
	// Output:
	// socketio.Server.Shutdown: <nil>
	// Serve: true
	// client: news: closing time
	// client: transport close
	// server: socket left: server shutting down
}
