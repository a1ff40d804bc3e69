// Command requestreply shows typed request/reply in both directions: the
// client asks the server for a quote and places an order (socketio.Handle
// on the server, client.EmitWithAck on the client), and before taking an
// order the server asks the client to confirm it (socketio.EmitWithAck on
// the server, client.Handle on the client).
//
//	go run ./examples/requestreply                                # the server, on 127.0.0.1:$PORT (default 8081)
//	go run ./examples/requestreply -connect http://127.0.0.1:8081 # the client
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// The requests, declared once and shared by the server and the client.
type (
	QuoteRequest struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	QuoteReply struct {
		Item  string `json:"item"`
		Qty   int    `json:"qty"`
		Total int    `json:"total"` // cents
	}
	OrderReply struct {
		ID    int64 `json:"id"`
		Total int   `json:"total"`
	}
	ConfirmRequest struct {
		Item  string `json:"item"`
		Qty   int    `json:"qty"`
		Total int    `json:"total"`
	}
	ConfirmReply struct {
		OK bool `json:"ok"`
	}
)

var (
	Quote   = socketio.NewRequest[QuoteRequest, QuoteReply]("quote")       // client -> server
	Order   = socketio.NewRequest[QuoteRequest, OrderReply]("order")       // client -> server
	Confirm = socketio.NewRequest[ConfirmRequest, ConfirmReply]("confirm") // server -> client
)

// prices in cents.
var prices = map[string]int{"apple": 40, "pear": 55, "melon": 320}

func quote(r QuoteRequest) (QuoteReply, error) {
	price, ok := prices[r.Item]
	if !ok {
		return QuoteReply{}, fmt.Errorf("no such item: %q", r.Item)
	}
	if r.Qty < 1 || r.Qty > 1000 {
		return QuoteReply{}, fmt.Errorf("quantity must be between 1 and 1000, not %d", r.Qty)
	}
	return QuoteReply{Item: r.Item, Qty: r.Qty, Total: price * r.Qty}, nil
}

// newServer returns the server. Call Shutdown on it when done.
func newServer(logger *slog.Logger) *socketio.Server {
	srv := socketio.New(socketio.Config{Logger: logger})
	ns := srv.Of("/")
	var orders atomic.Int64

	socketio.Handle(ns, Quote, func(_ context.Context, _ *socketio.Socket, r QuoteRequest) (QuoteReply, error) {
		return quote(r)
	})

	// A handler may block, even on a request to the same client: it only
	// delays that socket's next events.
	socketio.Handle(ns, Order, func(ctx context.Context, s *socketio.Socket, r QuoteRequest) (OrderReply, error) {
		q, err := quote(r)
		if err != nil {
			return OrderReply{}, err
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ok, err := socketio.EmitWithAck(ctx, s, Confirm, ConfirmRequest(q))
		if err != nil {
			return OrderReply{}, fmt.Errorf("no confirmation: %w", err)
		}
		if !ok.OK {
			return OrderReply{}, errors.New("cancelled by the client")
		}
		return OrderReply{ID: orders.Add(1), Total: q.Total}, nil
	})
	return srv
}

func cents(c int) string { return fmt.Sprintf("$%d.%02d", c/100, c%100) }

// runClient connects to url and goes through a quote, an order it
// confirms, one it declines and a request the server refuses, writing what
// happens to out.
func runClient(ctx context.Context, url string, out io.Writer) error {
	sock, err := client.Connect(ctx, url, nil)
	if err != nil {
		return err
	}
	defer sock.Disconnect()

	// The server's question: this client confirms orders of fewer than 10.
	client.Handle(sock, Confirm, func(_ context.Context, r ConfirmRequest) (ConfirmReply, error) {
		ok := r.Qty < 10
		fmt.Fprintf(out, "server asks to confirm %d × %s for %s: %v\n", r.Qty, r.Item, cents(r.Total), ok)
		return ConfirmReply{OK: ok}, nil
	})

	q, err := client.EmitWithAck(ctx, sock, Quote, QuoteRequest{Item: "pear", Qty: 3})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "quote: %d × %s = %s\n", q.Qty, q.Item, cents(q.Total))

	for _, r := range []QuoteRequest{{Item: "apple", Qty: 6}, {Item: "melon", Qty: 12}, {Item: "kiwi", Qty: 1}} {
		o, err := client.EmitWithAck(ctx, sock, Order, r)
		var remote *socketio.RemoteError
		switch {
		case errors.As(err, &remote):
			fmt.Fprintf(out, "order %d × %s refused: %s\n", r.Qty, r.Item, remote.Message)
		case err != nil:
			return err
		default:
			fmt.Fprintf(out, "order %d × %s placed: #%d, %s\n", r.Qty, r.Item, o.ID, cents(o.Total))
		}
	}
	return nil
}

func main() {
	connect := flag.String("connect", "", "run the client against this server URL instead of serving")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	if *connect != "" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err = runClient(ctx, *connect, os.Stdout)
	} else {
		addr := net.JoinHostPort("127.0.0.1", cmp.Or(os.Getenv("PORT"), "8081"))
		err = serve(ctx, addr, newServer(logger), logger)
	}
	if err != nil {
		logger.Error("requestreply", "err", err)
		os.Exit(1)
	}
}

// serve runs srv on addr until ctx ends, then shuts srv down first (clients
// are told, long-polls return) and the HTTP server after it.
func serve(ctx context.Context, addr string, srv *socketio.Server, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = hs.Shutdown(ctx)
	}()
	logger.Info("requestreply listening", "url", "http://"+ln.Addr().String(), "client", "go run ./examples/requestreply -connect http://"+ln.Addr().String())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}
