package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
	"github.com/wirekit/socketio/siotest"
)

func TestChat(t *testing.T) {
	siotest.AssertNoLeaks(t)
	ts := siotest.NewServer(t, newServer(nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	join := func(sock *client.Socket, nick, room string) JoinReply {
		t.Helper()
		r, err := client.EmitWithAck(ctx, sock, Join, JoinRequest{Nick: nick, Room: room})
		require.NoError(t, err)
		return r
	}

	ann, bob, cat := ts.Dial(t), ts.Dial(t), ts.Dial(t)
	assert.Equal(t, []string{"ann"}, join(ann, " ann ", "go").Members)
	assert.Equal(t, []string{"ann", "bob"}, join(bob, "bob", "go").Members)
	assert.Equal(t, Notice{Kind: "join", Nick: "bob", Room: "go"}, siotest.Next(t, ann, NoticeEvt, 0))

	// The typing indicator goes to the others only.
	require.NoError(t, client.Emit(ann, TypingEvt, Typing{Typing: true}))
	assert.Equal(t, Typing{Nick: "ann", Typing: true}, siotest.Next(t, bob, TypingEvt, 0))

	// A message reaches the whole room, its sender included, and nobody else.
	require.NoError(t, client.Emit(ann, MessageEvt, Message{Nick: "mallory", Text: "  hi  "}))
	for _, sock := range []*client.Socket{ann, bob} {
		m := siotest.Next(t, sock, MessageEvt, 0)
		assert.Equal(t, "ann", m.Nick)
		assert.Equal(t, "go", m.Room)
		assert.Equal(t, "hi", m.Text)
		assert.WithinDuration(t, time.Now(), m.Time, time.Minute)
	}
	siotest.NoEvent(t, cat, MessageEvt, 50*time.Millisecond)

	// A nickname is required.
	_, err := client.EmitWithAck(ctx, cat, Join, JoinRequest{Room: "go"})
	var remote *socketio.RemoteError
	require.True(t, errors.As(err, &remote), "%v", err)
	assert.Equal(t, "a nickname and a room are required", remote.Message)

	// Moving to another room is leaving this one.
	join(cat, "cat", "go")
	assert.Equal(t, Notice{Kind: "join", Nick: "cat", Room: "go"}, siotest.Next(t, ann, NoticeEvt, 0))
	assert.Equal(t, []string{"cat"}, join(cat, "cat", "rust").Members)
	assert.Equal(t, Notice{Kind: "leave", Nick: "cat", Room: "go"}, siotest.Next(t, ann, NoticeEvt, 0))

	// So is disconnecting.
	bob.Conn().Close()
	assert.Equal(t, Notice{Kind: "leave", Nick: "bob", Room: "go"}, siotest.Next(t, ann, NoticeEvt, 0))
	siotest.NoEvent(t, cat, NoticeEvt, 50*time.Millisecond)
}

func TestPage(t *testing.T) {
	srv := newServer(nil)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "socket.io.min.js")
	require.NoError(t, os.WriteFile(bundle, []byte("/* the client */"), 0o644))

	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	get := func(h http.Handler, path string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code, w.Body.String()
	}

	// With a local bundle, the page loads it from the server.
	code, body := get(newHandler(srv, bundle), "/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<script src="/socket.io.min.js">`)
	code, body = get(newHandler(srv, bundle), "/socket.io.min.js")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "/* the client */", body)
	code, body = get(newHandler(srv, bundle), "/static/chat.js")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.Contains(body, `socket.emit("message"`), "chat.js is served")

	// Without one, from the CDN.
	code, body = get(newHandler(srv, ""), "/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<script src="`+cdnURL+`">`)
	code, _ = get(newHandler(srv, ""), "/socket.io.min.js")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestFindBundle(t *testing.T) {
	// Tests run in examples/chat: the bundle is found two levels up, once
	// `npm ci --prefix interop` has run (TestBrowser says so if not).
	if p := findBundle("."); p != "" {
		assert.True(t, strings.HasSuffix(p, bundlePath), p)
	}
	assert.Equal(t, "", findBundle(t.TempDir()))
}
