// Command cluster runs Socket.IO servers that share rooms and broadcasts
// through Redis, with github.com/wirekit/socketio/redisadapter: a message
// sent to a server reaches the clients of every server.
//
// Both servers in one process:
//
//	go run . -listen 127.0.0.1:8081 -listen 127.0.0.1:8082
//
// or one process each (as on two machines):
//
//	go run . -listen 127.0.0.1:8081
//	go run . -listen 127.0.0.1:8082
//
// then open http://127.0.0.1:8081 and http://127.0.0.1:8082 side by side.
// Redis is at -redis (default $REDIS_ADDR, else 127.0.0.1:6379); the
// program stops at once if it cannot reach it. A Node.js server with
// @socket.io/redis-adapter on the same Redis and key (-key, default
// "socket.io", the Node.js default too) joins the same cluster.
//
// Clients use WebSocket only, so a load balancer in front of the servers
// needs no sticky sessions (see redisadapter's README for polling).
package main

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/redisadapter"
)

// Message is a chat line; From is the server that received it, to show
// that it crossed over.
type Message struct {
	Text string `json:"text"`
	From string `json:"from"`
}

// Who lists the users connected anywhere in the cluster.
type Who struct {
	Users []string `json:"users"`
}

var (
	Chat    = socketio.NewEvent[Message]("chat")
	WhoIsOn = socketio.NewRequest[struct{}, Who]("who")
)

//go:embed index.html
var page []byte

// newServer returns a server named name whose adapter shares rooms through
// rdb, on the channels of key.
func newServer(ctx context.Context, name string, rdb redis.UniversalClient, key string, logger *slog.Logger) (*socketio.Server, error) {
	adapter, err := redisadapter.New(ctx, rdb, redisadapter.Options{Key: key, Logger: logger})
	if err != nil {
		return nil, err
	}
	srv := socketio.New(socketio.Config{
		Adapter:    adapter,
		Transports: []string{"websocket"}, // no sticky sessions needed
		Logger:     logger,
	})
	ns := srv.Of("/")
	ns.OnConnect(func(s *socketio.Socket) {
		var auth struct {
			User string `json:"user"`
		}
		s.DecodeAuth(&auth)
		s.SetData(map[string]string{"user": cmp.Or(auth.User, "anonymous"), "server": name})
		s.Join("lobby")
	})
	// A chat line goes to the lobby on every server.
	socketio.On(ns, Chat, func(s *socketio.Socket, m Message) {
		m.From = name
		socketio.Emit(ns.To("lobby"), Chat, m)
	})
	// Who is online, on every server: FetchSockets asks them all.
	socketio.Handle(ns, WhoIsOn, func(ctx context.Context, s *socketio.Socket, _ struct{}) (Who, error) {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		sockets, err := ns.FetchSockets(ctx)
		var who Who
		for _, rs := range sockets {
			var d struct{ User, Server string }
			json.Unmarshal(rs.Data, &d) // Go and Node.js servers alike report socket data as JSON
			who.Users = append(who.Users, d.User+"@"+d.Server)
		}
		return who, err // with a server that did not answer: the others, and the error
	})
	// Servers greet each other, server to server.
	ns.OnServerSideEmit("hello", func(args socketio.Args, ack socketio.Ack) {
		var from string
		args.Decode(0, &from)
		logger.Info("a server said hello", "server", name, "from", from)
		if ack != nil {
			ack(name)
		}
	})
	return srv, nil
}

func handler(srv *socketio.Server) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return srv.Handler(mux)
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var listen listFlag
	flag.Var(&listen, "listen", "address of a server to run (repeat for several)")
	redisAddr := flag.String("redis", cmp.Or(os.Getenv("REDIS_ADDR"), "127.0.0.1:6379"), "Redis address")
	key := flag.String("key", redisadapter.DefaultKey, "prefix of the Redis channels: the same for every server of the cluster, Node.js ones included")
	flag.Parse()
	if len(listen) == 0 {
		listen = listFlag{"127.0.0.1:8081"}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, listen, *redisAddr, *key, logger); err != nil {
		logger.Error("cluster", "err", err)
		os.Exit(1)
	}
}

// run serves one Socket.IO server per address until ctx ends.
func run(ctx context.Context, addrs []string, redisAddr, key string, logger *slog.Logger) error {
	errs := make(chan error, len(addrs))
	var stops []func()
	for _, addr := range addrs {
		// A client per server, as separate processes would have.
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		defer rdb.Close()
		startCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		srv, err := newServer(startCtx, addr, rdb, key, logger)
		cancel()
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		hs := &http.Server{Handler: handler(srv), ReadHeaderTimeout: 10 * time.Second}
		go func() { errs <- hs.Serve(l) }()
		logger.Info("serving", "url", "http://"+l.Addr().String())
		stops = append(stops, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx) // tells the clients, and leaves the cluster
			hs.Shutdown(ctx)
		})
		// Say hello to the servers already running; they answer.
		helloCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		replies, err := srv.Of("/").ServerSideEmitWithAck(helloCtx, "hello", addr)
		cancel()
		for _, r := range replies {
			var peer string
			r.Decode(0, &peer)
			logger.Info("found a server", "server", addr, "peer", peer)
		}
		if err != nil {
			logger.Warn("some servers did not answer hello", "server", addr, "err", err)
		}
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	for _, stop := range stops {
		stop()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
