// Command chat is a multi-room chat: nicknames, rooms, a typing indicator
// and join/leave notices, with a browser page that uses the official
// socket.io-client.
//
//	go run ./examples/chat            # then open http://127.0.0.1:8080
//
// It listens on 127.0.0.1:$PORT (default 8080). The page loads the client
// bundle from /socket.io.min.js, which the server serves from the file given
// by -client-js (or $SOCKETIO_CLIENT_JS); without either it looks for the
// npm-installed bundle under interop/node_modules (run `npm ci --prefix
// interop` once), and failing that the page loads it from the official CDN.
package main

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"flag"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/wirekit/socketio"
)

// The events, declared once with their payload types. The page speaks the
// same names and JSON fields.
type (
	// JoinRequest asks to enter a room under a nickname.
	JoinRequest struct {
		Nick string `json:"nick"`
		Room string `json:"room"`
	}
	// JoinReply says who is in the room now.
	JoinReply struct {
		Nick    string   `json:"nick"`
		Room    string   `json:"room"`
		Members []string `json:"members"`
	}
	// Message is a chat line. Clients send only Text; the server fills in
	// the rest.
	Message struct {
		Nick string    `json:"nick"`
		Room string    `json:"room"`
		Text string    `json:"text"`
		Time time.Time `json:"time"`
	}
	// Typing is sent while someone types, and when they stop.
	Typing struct {
		Nick   string `json:"nick"`
		Typing bool   `json:"typing"`
	}
	// Notice tells a room that someone joined or left.
	Notice struct {
		Kind string `json:"kind"` // "join" or "leave"
		Nick string `json:"nick"`
		Room string `json:"room"`
	}
)

var (
	Join       = socketio.NewRequest[JoinRequest, JoinReply]("join")
	MessageEvt = socketio.NewEvent[Message]("message")
	TypingEvt  = socketio.NewEvent[Typing]("typing")
	NoticeEvt  = socketio.NewEvent[Notice]("notice")
)

// member is what the server remembers of a socket, with Socket.SetData.
type member struct {
	Nick, Room string
}

const maxText = 2000

// cdnURL is where the page loads the client from when the server has no
// local copy of the bundle.
const cdnURL = "https://cdn.socket.io/4.8.4/socket.io.min.js"

// bundlePath is where `npm ci --prefix interop` puts the client bundle,
// relative to the repository root.
var bundlePath = filepath.Join("interop", "node_modules", "socket.io-client", "dist", "socket.io.min.js")

//go:embed static
var static embed.FS

var page = template.Must(template.ParseFS(static, "static/index.html"))

// newServer returns the chat's socket.io server. Call Shutdown on it when
// done.
func newServer(logger *slog.Logger) *socketio.Server {
	srv := socketio.New(socketio.Config{Logger: logger})
	ns := srv.Of("/")

	socketio.Handle(ns, Join, func(_ context.Context, s *socketio.Socket, req JoinRequest) (JoinReply, error) {
		nick, room := clean(req.Nick, 32), clean(req.Room, 32)
		if nick == "" || room == "" {
			return JoinReply{}, errors.New("a nickname and a room are required")
		}
		if old, ok := s.Data().(member); ok {
			s.Leave(old.Room)
			_ = socketio.Emit(ns.To(old.Room), NoticeEvt, Notice{Kind: "leave", Nick: old.Nick, Room: old.Room})
		}
		if err := s.Join(room); err != nil {
			return JoinReply{}, err
		}
		s.SetData(member{Nick: nick, Room: room})
		_ = socketio.Emit(s.To(room), NoticeEvt, Notice{Kind: "join", Nick: nick, Room: room})
		return JoinReply{Nick: nick, Room: room, Members: members(ns, room)}, nil
	})

	socketio.On(ns, MessageEvt, func(s *socketio.Socket, m Message) {
		me, ok := s.Data().(member)
		text := strings.TrimSpace(m.Text)
		if !ok || text == "" || len(text) > maxText {
			return
		}
		// To the whole room, sender included: everyone sees the same order.
		_ = socketio.Emit(ns.To(me.Room), MessageEvt, Message{Nick: me.Nick, Room: me.Room, Text: text, Time: time.Now().UTC()})
	})

	socketio.On(ns, TypingEvt, func(s *socketio.Socket, t Typing) {
		if me, ok := s.Data().(member); ok {
			// Volatile: a typing indicator that arrives late is worthless.
			_ = socketio.Emit(s.To(me.Room).Volatile(), TypingEvt, Typing{Nick: me.Nick, Typing: t.Typing})
		}
	})

	ns.OnDisconnect(func(s *socketio.Socket, reason string) {
		if me, ok := s.Data().(member); ok {
			_ = socketio.Emit(ns.To(me.Room), NoticeEvt, Notice{Kind: "leave", Nick: me.Nick, Room: me.Room})
		}
	})
	return srv
}

// members returns the sorted nicknames in room.
func members(ns *socketio.Namespace, room string) []string {
	var out []string
	for _, s := range ns.To(room).Sockets() {
		if m, ok := s.Data().(member); ok && m.Room == room {
			out = append(out, m.Nick)
		}
	}
	slices.Sort(out)
	return out
}

// clean trims s and cuts it to max runes.
func clean(s string, max int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

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
	assets, _ := fs.Sub(static, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
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
	clientJS := flag.String("client-js", os.Getenv("SOCKETIO_CLIENT_JS"), "serve this socket.io.min.js at /socket.io.min.js (default: the npm-installed bundle if found, else the page uses the CDN)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	js := *clientJS
	if js == "" {
		js = findBundle(".")
	} else if _, err := os.Stat(js); err != nil {
		logger.Error("client bundle", "err", err)
		os.Exit(1)
	}
	if js == "" {
		logger.Warn("no local socket.io-client bundle (npm ci --prefix interop); the page will load it from the CDN", "url", cdnURL)
	} else {
		logger.Info("serving socket.io-client", "file", js)
	}

	srv := newServer(logger)
	addr := net.JoinHostPort("127.0.0.1", cmp.Or(os.Getenv("PORT"), "8080"))
	if err := serve(addr, newHandler(srv, js), srv, logger); err != nil {
		logger.Error("chat", "err", err)
		os.Exit(1)
	}
}

// serve runs the HTTP server until SIGINT or SIGTERM, then shuts the
// socket.io server down first (clients are told, long-polls return), and
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
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
	}()
	logger.Info("chat listening", "url", "http://"+ln.Addr().String()+"/")
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}
