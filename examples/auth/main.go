// Command auth checks a token in a namespace middleware. A client sends
// it in its auth payload (io({auth: {token}}) in JavaScript,
// Options.Auth in Go); a missing or unknown token refuses the connection,
// and the client's connect_error gets the error's message and data.
//
//	go run ./examples/auth          # then open http://127.0.0.1:8082
//
// It listens on 127.0.0.1:$PORT (default 8082). The tokens are made up:
// "alice-token" and "bob-token". The page loads the client bundle as the
// chat example does (-client-js, or the npm-installed one, or the CDN).
package main

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wirekit/socketio"
)

// User is who a token belongs to.
type User struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
}

// Welcome is sent to a socket once it is in.
var Welcome = socketio.NewEvent[User]("welcome")

// tokens stands for a real token store.
var tokens = map[string]User{
	"alice-token": {Name: "alice", Admin: true},
	"bob-token":   {Name: "bob"},
}

// authenticate is the namespace middleware. It runs on the socket's
// handler goroutine before OnConnect, and may block (a database lookup).
func authenticate(s *socketio.Socket) error {
	var auth struct {
		Token string `json:"token"`
	}
	if err := s.DecodeAuth(&auth); err != nil {
		return &socketio.ConnectError{Message: "invalid auth payload"}
	}
	// Non-browser clients may prefer a header.
	if auth.Token == "" {
		auth.Token, _ = strings.CutPrefix(s.Handshake().Header.Get("Authorization"), "Bearer ")
	}
	if auth.Token == "" {
		return &socketio.ConnectError{
			Message: "unauthorized",
			Data:    map[string]string{"reason": "no token", "hint": `send {auth: {token: "..."}}`},
		}
	}
	user, ok := tokens[auth.Token]
	if !ok {
		return &socketio.ConnectError{
			Message: "unauthorized",
			Data:    map[string]string{"reason": "unknown token"},
		}
	}
	s.SetData(user)
	return nil
}

// newServer returns the server. Call Shutdown on it when done.
func newServer(logger *slog.Logger) *socketio.Server {
	srv := socketio.New(socketio.Config{Logger: logger})
	ns := srv.Of("/")
	ns.Use(authenticate)
	ns.OnConnect(func(s *socketio.Socket) {
		user := s.Data().(User) // set by authenticate, which ran first
		_ = socketio.Emit(s, Welcome, user)
	})
	return srv
}

const cdnURL = "https://cdn.socket.io/4.8.4/socket.io.min.js"

var bundlePath = filepath.Join("interop", "node_modules", "socket.io-client", "dist", "socket.io.min.js")

//go:embed index.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))

// newHandler serves the page, the client bundle (from clientJS, when not
// empty) and the socket.io endpoint.
func newHandler(srv *socketio.Server, clientJS string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	src := cdnURL
	if clientJS != "" {
		src = "/socket.io.min.js"
		mux.HandleFunc("GET /socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			http.ServeFile(w, r, clientJS)
		})
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, struct{ ClientJS string }{src})
	})
	return mux
}

// findBundle returns the npm-installed client bundle in dir or one of its
// parents, or "".
func findBundle(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, bundlePath)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func main() {
	clientJS := flag.String("client-js", os.Getenv("SOCKETIO_CLIENT_JS"), "serve this socket.io.min.js at /socket.io.min.js")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	js := cmp.Or(*clientJS, findBundle("."))

	srv := newServer(logger)
	addr := net.JoinHostPort("127.0.0.1", cmp.Or(os.Getenv("PORT"), "8082"))
	if err := serve(addr, newHandler(srv, js), srv, logger); err != nil {
		logger.Error("auth", "err", err)
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
	logger.Info("auth listening", "url", "http://"+ln.Addr().String()+"/")
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}
