package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirekit/socketio"
)

// crossOriginPage is the frontend's page: the official client and nothing
// else; the driver connects from it to the Socket.IO server's origin.
const crossOriginPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>cross-origin</title>
<link rel="icon" href="data:,">
<script src="/socket.io.min.js"></script>
</head><body>frontend</body></html>
`

// originLog records what reaches the Socket.IO server, by Origin header.
type originLog struct {
	mu         sync.Mutex
	requests   []*originRequest
	handshakes map[string]int // handshakes let through to AllowRequest
	connects   map[string]int // sockets connected to "/"
}

// originRequest is one HTTP request that carried an Origin header.
type originRequest struct {
	origin, method, transport, requestHeaders string
	status                                    int // 101 once hijacked, 0 if nothing was written
}

func (r *originRequest) String() string {
	s := fmt.Sprintf("%s %s transport=%s status=%d", r.origin, r.method, r.transport, r.status)
	if r.requestHeaders != "" {
		s += " Access-Control-Request-Headers=" + r.requestHeaders
	}
	return s
}

// count adds one to m[origin], m being handshakes or connects.
func (l *originLog) count(m map[string]int, origin string) {
	l.mu.Lock()
	m[origin]++
	l.mu.Unlock()
}

// wrap records every request with an Origin header, and the status it got
// (set as it is written, before the browser can see it), then serves it
// with h.
func (l *originLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		rec := &originRequest{
			origin:         origin,
			method:         r.Method,
			transport:      r.URL.Query().Get("transport"),
			requestHeaders: r.Header.Get("Access-Control-Request-Headers"),
		}
		l.mu.Lock()
		l.requests = append(l.requests, rec)
		l.mu.Unlock()
		h.ServeHTTP(&statusWriter{ResponseWriter: w, log: l, rec: rec}, r)
	})
}

// statusWriter notes the status of a response; it hijacks (for WebSocket)
// and unwraps (for http.ResponseController) to the real one.
type statusWriter struct {
	http.ResponseWriter
	log *originLog
	rec *originRequest
}

func (w *statusWriter) setStatus(code int) {
	w.log.mu.Lock()
	if w.rec.status == 0 {
		w.rec.status = code
	}
	w.log.mu.Unlock()
}

func (w *statusWriter) WriteHeader(code int) {
	w.setStatus(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.setStatus(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.setStatus(http.StatusSwitchingProtocols)
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestBrowserCrossOrigin runs the set-up of a frontend served from one
// origin (a Vite dev server, say) talking to the Socket.IO server on
// another, in headless Chromium with the official client: from the allowed
// origin, with credentials, a cookie of the server's origin and, on
// polling, a custom header (so a CORS preflight), each transport connects,
// round-trips an ack with binary, and the server sees the header and the
// cookie; from an origin not allowed, each transport fails to connect and
// the server connects no socket. It needs the same tools as TestBrowser
// and is never skipped.
func TestBrowserCrossOrigin(t *testing.T) {
	node, chromium, modules, bundle := browserTools(t)

	// The frontend, and a second site that serves the same page but is
	// not allowed. Different ports make different origins.
	page := http.NewServeMux()
	page.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, crossOriginPage)
	})
	page.HandleFunc("GET /socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, bundle)
	})
	front := httptest.NewServer(page)
	t.Cleanup(front.Close)
	other := httptest.NewServer(page)
	t.Cleanup(other.Close)

	seenBy := &originLog{handshakes: map[string]int{}, connects: map[string]int{}}
	srv := socketio.New(socketio.Config{
		AllowedOrigins: []string{front.URL},
		AllowRequest: func(r *http.Request) error {
			seenBy.count(seenBy.handshakes, r.Header.Get("Origin"))
			return nil
		},
	})
	ns := srv.Of("/")
	ns.OnConnect(func(s *socketio.Socket) {
		seenBy.count(seenBy.connects, s.Handshake().Header.Get("Origin"))
	})
	ns.OnEvent("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		if ack != nil {
			ack(args.Slice()...)
		}
	})
	// whoami answers what the server saw of the request that opened the
	// connection, and the transport in use now.
	ns.OnEvent("whoami", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		if ack == nil {
			return
		}
		hs := s.Handshake()
		cookie := ""
		if c, err := (&http.Request{Header: hs.Header}).Cookie("xo"); err == nil {
			cookie = c.Value
		}
		ack(map[string]string{
			"origin":    hs.Header.Get("Origin"),
			"token":     hs.Header.Get("X-Token"),
			"cookie":    cookie,
			"transport": s.Transport(),
		})
	})
	sio := httptest.NewServer(seenBy.wrap(srv))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		sio.Close()
	})
	if front.URL == sio.URL || other.URL == sio.URL || front.URL == other.URL {
		t.Fatalf("the three servers must be three origins: %s %s %s", front.URL, other.URL, sio.URL)
	}

	// One browser for every scenario: Chromium takes seconds to start on
	// a small machine. The driver gives up by itself before this.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	started := time.Now()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "crossorigin.cjs"), front.URL, other.URL, sio.URL)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the cross-origin browser run failed after %v: %v\n%s", time.Since(started).Round(time.Millisecond), err, out)
	}
	t.Logf("browser run took %v\n%s", time.Since(started).Round(time.Millisecond), out)

	// What the server saw. The driver checked the browser's side.
	seenBy.mu.Lock()
	defer seenBy.mu.Unlock()
	var lines []string
	for _, r := range seenBy.requests {
		lines = append(lines, "  "+r.String())
	}
	t.Logf("requests with an Origin header at the Socket.IO server:\n%s", strings.Join(lines, "\n"))

	// From the frontend: one socket per transport scenario, with
	// preflights for the polling requests that carry x-token.
	if got := seenBy.handshakes[front.URL]; got != 3 {
		t.Errorf("the server had %d handshakes from the frontend %s, want 3 (polling, websocket, upgrade)", got, front.URL)
	}
	if got := seenBy.connects[front.URL]; got != 3 {
		t.Errorf("the server connected %d sockets from the frontend %s, want 3 (polling, websocket, upgrade)", got, front.URL)
	}
	preflights := 0
	for _, r := range seenBy.requests {
		if r.origin != front.URL || r.method != http.MethodOptions {
			continue
		}
		// One cut short as the browser closed may not be answered yet.
		if r.status == http.StatusNoContent {
			preflights++
		} else if r.status != 0 {
			t.Errorf("preflight %v: want status 204", r)
		}
		if !strings.Contains(strings.ToLower(r.requestHeaders), "x-token") {
			t.Errorf("preflight %v: want x-token among the requested headers", r)
		}
	}
	if preflights == 0 {
		t.Errorf("no CORS preflight from %s was answered 204 by the server, though the polling requests carry x-token", front.URL)
	}

	// From the other origin: requests arrived, every one was refused with
	// 403, and none reached the handshake or connected a socket.
	if got := seenBy.handshakes[other.URL]; got != 0 {
		t.Errorf("%d handshakes from the refused origin %s got past the origin check", got, other.URL)
	}
	if got := seenBy.connects[other.URL]; got != 0 {
		t.Errorf("the server connected %d sockets from the refused origin %s", got, other.URL)
	}
	seen := map[string]bool{}
	for _, r := range seenBy.requests {
		if r.origin != other.URL {
			continue
		}
		seen[r.method+" "+r.transport] = true
		if r.status != http.StatusForbidden {
			t.Errorf("request from the refused origin %v: want status 403", r)
		}
	}
	for _, want := range []string{"GET polling", "GET websocket", "OPTIONS polling"} {
		if !seen[want] {
			t.Errorf("no %s request from the refused origin %s reached the server; saw %v", want, other.URL, seen)
		}
	}
}
