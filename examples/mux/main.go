// Command mux adds Socket.IO to an existing net/http application, in the
// two ways a Server fits in:
//
//	go run ./examples/mux                    # mounted on the app's ServeMux
//	go run ./examples/mux -form middleware   # srv.Handler(app) wraps the app
//
// Either way the app's own routes (/ and /api/time) keep working and the
// Socket.IO endpoint answers at /socket.io/. It listens on 127.0.0.1:$PORT
// (default 8083).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wirekit/socketio"
)

// Now is the server's clock, as a request/reply.
var Now = socketio.NewRequest[struct{}, time.Time]("now")

// newApp is the application as it was before Socket.IO: a ServeMux.
func newApp() *http.ServeMux {
	app := http.NewServeMux()
	app.HandleFunc("GET /api/time", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, time.Now().UTC().Format(time.RFC3339))
	})
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the app's home page")
	})
	return app
}

// newServer returns the Socket.IO server. Call Shutdown on it when done.
func newServer(logger *slog.Logger) *socketio.Server {
	srv := socketio.New(socketio.Config{Logger: logger})
	socketio.Handle(srv.Of("/"), Now, func(context.Context, *socketio.Socket, struct{}) (time.Time, error) {
		return time.Now().UTC(), nil
	})
	return srv
}

// mounted registers srv on the app's mux, beside its other routes. The
// pattern must be the server's Config.Path, "/socket.io/" by default.
func mounted(srv *socketio.Server) http.Handler {
	app := newApp()
	app.Handle("/socket.io/", srv)
	return app
}

// middleware wraps the app, untouched: srv answers at its Config.Path and
// passes every other request on. This is the form for routers that are not
// a ServeMux, or for a handler chain built elsewhere.
func middleware(srv *socketio.Server) http.Handler {
	return srv.Handler(newApp())
}

func main() {
	form := flag.String("form", "mount", `"mount" (on the app's ServeMux) or "middleware" (srv.Handler(app))`)
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	srv := newServer(logger)
	var h http.Handler
	switch *form {
	case "mount":
		h = mounted(srv)
	case "middleware":
		h = middleware(srv)
	default:
		logger.Error("unknown -form", "form", *form)
		os.Exit(2)
	}
	addr := net.JoinHostPort("127.0.0.1", cmp.Or(os.Getenv("PORT"), "8083"))
	if err := serve(addr, h, srv, logger); err != nil {
		logger.Error("mux", "err", err)
		os.Exit(1)
	}
}

// serve runs the HTTP server until SIGINT or SIGTERM, then shuts the
// socket.io server down first (clients are told, long-polls return) and
// the HTTP server after it.
func serve(addr string, h http.Handler, srv *socketio.Server, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// No WriteTimeout: a long-polling GET waits up to PingInterval (25s).
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = hs.Shutdown(ctx)
	}()
	logger.Info("mux listening", "url", "http://"+ln.Addr().String()+"/", "socket.io", "http://"+ln.Addr().String()+"/socket.io/")
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}
