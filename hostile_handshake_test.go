package socketio

// Hostile handshakes (class 7): origin, CORS, hooks and middlewares that
// fail, panic or never return.

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// wsHandshake sends a raw WebSocket handshake, with the given extra header
// lines, and returns the response status.
func (rs *rawServer) wsHandshake(t *testing.T, query string, headers ...string) int {
	t.Helper()
	req := "GET " + DefaultPath + "?" + query + " HTTP/1.1\r\nHost: " + rs.ts.Listener.Addr().String() +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	req += "\r\n"
	c := rs.tcp()
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Write([]byte(req))
	require.NoError(t, err)
	buf := make([]byte, 12)
	_, err = c.Read(buf)
	require.NoError(t, err)
	var status int
	fmt.Sscanf(string(buf), "HTTP/1.1 %d", &status)
	return status
}

// Class 7: the default origin policy is same-origin, on both transports and
// on every request of a session, not only the handshake.
func TestHostileOriginDefault(t *testing.T) {
	rs := newRawServer(t, Config{}, nil)
	w := rs.healthy(tPolling)
	self := rs.ts.URL
	evil := http.Header{"Origin": {"http://evil.example"}}

	for _, origin := range []string{"http://evil.example", "null", "http://127.0.0.1:1", "file://", "http://" + strings.TrimPrefix(self, "http://") + ".evil.example"} {
		res := rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {origin}})
		require.Equal(t, 4, engineError(t, res, 403), "origin %q", origin)
		require.Empty(t, res.header.Get("Access-Control-Allow-Origin"), "origin %q", origin)
		require.Equal(t, 403, rs.wsHandshake(t, "EIO=4&transport=websocket", "Origin: "+origin), "origin %q", origin)
	}
	// On a live session too: its requests carry the Origin of the page.
	res := rs.mustDo("GET", w.c.(*pollClient).query(), "", evil)
	require.Equal(t, 4, engineError(t, res, 403))
	res = rs.mustDo("POST", w.c.(*pollClient).query(), `42["echo"]`, evil)
	require.Equal(t, 4, engineError(t, res, 403))
	ws, err := rs.openWS("")
	require.NoError(t, err)
	_, status, err := rs.dialWS("EIO=4&transport=websocket&sid="+ws.SID(), "http://evil.example")
	require.Error(t, err)
	require.Equal(t, 403, status)
	// The preflight of a refused origin is refused.
	res = rs.mustDo("OPTIONS", "EIO=4&transport=polling", "", http.Header{"Origin": {"http://evil.example"}, "Access-Control-Request-Method": {"POST"}})
	require.Equal(t, 403, res.status)
	require.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	// Same origin and no origin (non-browser clients) are fine.
	res = rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {self}})
	require.Equal(t, 200, res.status, res.body)
	require.Equal(t, self, res.header.Get("Access-Control-Allow-Origin"))
	_, err = rs.openWS(self)
	require.NoError(t, err)
	require.Equal(t, 101, rs.wsHandshake(t, "EIO=4&transport=websocket"))
	require.Equal(t, 403, rs.wsHandshake(t, "EIO=4&transport=websocket", "Origin: http://evil.example"))

	// CR or LF in Origin never reach a response header.
	for _, o := range []string{"http://evil.example\rSet-Cookie: x=1", self + "\r"} {
		res, err := rs.rawHTTP("GET "+DefaultPath+"?EIO=4&transport=polling HTTP/1.1\r\nHost: "+rs.ts.Listener.Addr().String()+"\r\nOrigin: "+o+"\r\n\r\n", 5*time.Second)
		require.NoError(t, err)
		require.NotEqual(t, 200, res.status, "origin %q", o)
		require.Empty(t, res.header.Get("Set-Cookie"))
		require.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
	}
	w.check()
}

// Class 7: AllowedOrigins and CheckOrigin; CORS answers name the one
// allowed origin and never reflect any other.
func TestHostileOriginConfigured(t *testing.T) {
	t.Run("list", func(t *testing.T) {
		rs := newRawServer(t, Config{AllowedOrigins: []string{"https://app.example"}}, nil)
		for _, o := range []string{"https://app.example", "HTTPS://APP.EXAMPLE"} {
			res := rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {o}})
			require.Equal(t, 200, res.status)
			require.Equal(t, o, res.header.Get("Access-Control-Allow-Origin"))
			require.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
			require.Contains(t, res.header.Values("Vary"), "Origin")
			_, err := rs.openWS(o)
			require.NoError(t, err)
		}
		for _, o := range []string{"https://app.example.evil", "https://evil.example", "http://app.example"} {
			res := rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {o}})
			require.Equal(t, 403, res.status, o)
			require.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
			_, status, _ := rs.dialWS("EIO=4&transport=websocket", o)
			require.Equal(t, 403, status, o)
		}
		res := rs.mustDo("OPTIONS", "EIO=4&transport=polling", "", http.Header{
			"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"content-type"},
		})
		require.Equal(t, 204, res.status)
		require.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, res.header.Get("Access-Control-Allow-Methods"), "POST")
	})
	t.Run("wildcard", func(t *testing.T) {
		// "*" lets every site connect, but CORS answers "*" and never
		// reflects the caller's origin with credentials: a browser then
		// sends no cookies with the polling requests of another site.
		rs := newRawServer(t, Config{AllowedOrigins: []string{"*"}}, nil)
		res := rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://anyone.example"}})
		require.Equal(t, 200, res.status)
		require.Equal(t, "*", res.header.Get("Access-Control-Allow-Origin"))
		require.Empty(t, res.header.Get("Access-Control-Allow-Credentials"))
		res = rs.mustDo("OPTIONS", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://anyone.example"}, "Access-Control-Request-Method": {"POST"}})
		require.Equal(t, 204, res.status)
		require.Equal(t, "*", res.header.Get("Access-Control-Allow-Origin"))
		_, err := rs.openWS("https://anyone.example")
		require.NoError(t, err)
	})
	t.Run("CheckOrigin", func(t *testing.T) {
		var calls sync.Map
		rs := newRawServer(t, Config{
			AllowedOrigins: []string{"https://ignored.example"}, // CheckOrigin replaces the list
			CheckOrigin: func(r *http.Request) bool {
				calls.Store(r.Header.Get("Origin"), true)
				return strings.HasSuffix(r.Header.Get("Origin"), ".good.example")
			},
		}, nil)
		res := rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://a.good.example"}})
		require.Equal(t, 200, res.status)
		require.Equal(t, "https://a.good.example", res.header.Get("Access-Control-Allow-Origin"))
		res = rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://ignored.example"}})
		require.Equal(t, 403, res.status)
		_, status, _ := rs.dialWS("EIO=4&transport=websocket", "https://bad.example")
		require.Equal(t, 403, status)
		_, err := rs.openWS("https://b.good.example")
		require.NoError(t, err)
		_, ok := calls.Load("https://bad.example")
		require.True(t, ok)
	})
}

// Class 7: AllowRequest and CheckOrigin that refuse or panic: the request
// is refused, the process and the other clients carry on.
func TestHostileHandshakeHooks(t *testing.T) {
	rs := newRawServer(t, Config{
		AllowRequest: func(r *http.Request) error {
			switch r.URL.Query().Get("hook") {
			case "refuse":
				return errors.New("no entry today")
			case "panic":
				panic("AllowRequest exploded")
			}
			return nil
		},
		CheckOrigin: func(r *http.Request) bool {
			if r.Header.Get("Origin") == "https://panic.example" {
				panic("CheckOrigin exploded")
			}
			return true
		},
	}, nil)
	w := rs.healthy(tWebSocket)

	res := rs.mustDo("GET", "EIO=4&transport=polling&hook=refuse", "", nil)
	require.Equal(t, 4, engineError(t, res, 403))
	require.Contains(t, res.body, "no entry today")
	require.Equal(t, 403, rs.wsHandshake(t, "EIO=4&transport=websocket&hook=refuse"))

	res = rs.mustDo("GET", "EIO=4&transport=polling&hook=panic", "", nil)
	require.Equal(t, 4, engineError(t, res, 403))
	require.NotContains(t, res.body, "exploded", "a panic's message is not for the client")
	require.Equal(t, 403, rs.wsHandshake(t, "EIO=4&transport=websocket&hook=panic"))

	res = rs.mustDo("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://panic.example"}})
	require.Equal(t, 4, engineError(t, res, 403))
	require.Equal(t, 403, rs.wsHandshake(t, "EIO=4&transport=websocket", "Origin: https://panic.example"))

	require.Equal(t, 1, rs.srv.ConnectionCount())
	w.check()
}

// Class 7: namespace middlewares that refuse, panic or never return.
func TestHostileMiddleware(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	ctxDone := make(chan struct{}, 8)
	rs := newRawServer(t, Config{ConnectTimeout: 700 * time.Millisecond}, func(srv *Server) {
		srv.Of("/refuse").Use(func(s *Socket) error {
			return &ConnectError{Message: "not allowed", Data: map[string]any{"retry": false}}
		})
		srv.Of("/plain-error").Use(func(s *Socket) error { return errors.New("token expired") })
		srv.Of("/panic").Use(func(s *Socket) error { panic("middleware exploded") })
		srv.Of("/hang-ctx").Use(func(s *Socket) error {
			<-s.Context().Done() // a middleware that honours the socket's context
			ctxDone <- struct{}{}
			return s.Context().Err()
		})
		srv.Of("/hang").Use(func(s *Socket) error {
			<-release // one that does not
			return nil
		})
		srv.Of("/connect-panic").OnConnect(func(s *Socket) { panic("OnConnect exploded") })
		srv.Of("/event-panic").OnEvent("boom", func(*Socket, Args, Ack) { panic("handler exploded") })
		srv.Of("/event-panic").OnDisconnect(func(*Socket, string) { panic("OnDisconnect exploded") })
	})
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			rs.t = t
			defer func() { rs.t = t }()
			w := rs.healthy(tr)
			c := rs.open(tr)
			next := func() string {
				t.Helper()
				f, err := c.Next(5 * time.Second)
				require.NoError(t, err)
				return f.text
			}

			require.NoError(t, c.SendText("40/refuse,"))
			require.Equal(t, `44/refuse,{"message":"not allowed","data":{"retry":false}}`, next())
			require.NoError(t, c.SendText("40/plain-error,"))
			require.Equal(t, `44/plain-error,{"message":"token expired"}`, next())
			require.NoError(t, c.SendText("40/panic,"))
			require.Equal(t, `44/panic,{"message":"server error"}`, next())
			// Refused is not joined: the connection is still open, a retry
			// of a refused namespace is allowed, and "/" works.
			require.NoError(t, c.SendText("40/refuse,"))
			require.Equal(t, `44/refuse,{"message":"not allowed","data":{"retry":false}}`, next())
			connect(t, c, "/", "")
			echo(t, c, 1, `"after refusals"`)

			require.NoError(t, c.SendText("40/connect-panic,"))
			require.True(t, strings.HasPrefix(next(), `40/connect-panic,{"sid":`))
			require.Equal(t, `41/connect-panic,`, next())
			require.NoError(t, c.SendText("40/event-panic,"))
			require.True(t, strings.HasPrefix(next(), `40/event-panic,{"sid":`))
			require.NoError(t, c.SendText(`42/event-panic,["boom"]`))
			require.Equal(t, `41/event-panic,`, next())
			echo(t, c, 2, `"after panics"`)
			require.NoError(t, c.SendText("1"))

			// A middleware that never returns: the connection is closed
			// after ConnectTimeout (no namespace joined), and one that
			// honours s.Context() returns then.
			for _, nsp := range []string{"/hang-ctx", "/hang"} {
				c := rs.open(tr)
				require.NoError(t, c.SendText("40"+nsp+","))
				waitClosed(t, c, 5*time.Second)
			}
			select {
			case <-ctxDone:
			case <-time.After(5 * time.Second):
				t.Fatal("the middleware's context was not cancelled")
			}
			rs.waitConns(1, 5*time.Second)
			w.check()
		})
	}
	rs.t = t
	var panics []string
	for _, err := range rs.errors() {
		panics = append(panics, err.Error())
	}
	for _, what := range []string{"middleware exploded", "OnConnect exploded", "handler exploded", "OnDisconnect exploded"} {
		require.Condition(t, func() bool {
			for _, p := range panics {
				if strings.Contains(p, what) {
					return true
				}
			}
			return false
		}, "%q not reported to OnError: %q", what, panics)
	}
	releaseOnce.Do(func() { close(release) })
}

// Class 7: an OnError that panics itself does not take the process down.
func TestHostileOnErrorPanics(t *testing.T) {
	rs := newRawServer(t, Config{OnError: func(*Socket, error) { panic("OnError exploded") }}, func(srv *Server) {
		srv.Of("/").OnEvent("boom", func(*Socket, Args, Ack) { panic("handler exploded") })
		srv.Of("/mw").Use(func(*Socket) error { panic("middleware exploded") })
	})
	w := rs.healthy(tWebSocket)
	c := rs.open(tWebSocket)
	require.NoError(t, c.SendText("40/mw,"))
	f, err := c.Next(5 * time.Second)
	require.NoError(t, err)
	require.Equal(t, `44/mw,{"message":"server error"}`, f.text)
	id := connect(t, c, "/", "")
	require.NoError(t, c.SendText(`42["boom"]`))
	require.Equal(t, ReasonServerDisconnect, rs.waitReason(id, 5*time.Second))
	w.check()
}

// Session ids and socket ids are 120 random bits from crypto/rand: unique,
// unguessable, and a socket's id tells nothing about its session's.
func TestHostileIDsAreRandom(t *testing.T) {
	src, err := os.ReadFile("internal/engineio/server.go")
	require.NoError(t, err)
	require.Contains(t, string(src), `"crypto/rand"`)
	require.NotContains(t, string(src), `"math/rand`)

	rs := newRawServer(t, Config{}, nil)
	seen := map[string]bool{}
	for range 200 {
		c := rs.open(tPolling)
		require.Len(t, c.SID(), 20) // 15 bytes, base64url
		require.False(t, seen[c.SID()])
		seen[c.SID()] = true
		id := connect(t, c, "/", "")
		require.Len(t, id, 20)
		require.NotEqual(t, c.SID(), id)
		require.False(t, seen[id])
		seen[id] = true
		require.NoError(t, c.SendText("1"))
	}
}
