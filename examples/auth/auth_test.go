package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio/client"
	"github.com/wirekit/socketio/siotest"
)

func TestAuth(t *testing.T) {
	siotest.AssertNoLeaks(t)
	ts := siotest.NewServer(t, newServer(nil))

	t.Run("token in auth", func(t *testing.T) {
		sock := ts.Dial(t, siotest.DialOptions{Auth: map[string]string{"token": "alice-token"}})
		assert.Equal(t, User{Name: "alice", Admin: true}, siotest.Next(t, sock, Welcome, 0))
	})
	t.Run("token in a header", func(t *testing.T) {
		sock := ts.Dial(t, siotest.DialOptions{Header: http.Header{"Authorization": {"Bearer bob-token"}}})
		assert.Equal(t, User{Name: "bob"}, siotest.Next(t, sock, Welcome, 0))
	})

	for _, tc := range []struct {
		name string
		auth any
		data string
	}{
		{"no token", nil, `{"hint":"send {auth: {token: \"...\"}}","reason":"no token"}`},
		{"unknown token", map[string]string{"token": "guess"}, `{"reason":"unknown token"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := ts.NewSocket(t).Connect(ctx, tc.auth)
			var refused *client.ConnectError
			require.True(t, errors.As(err, &refused), "%v", err)
			assert.Equal(t, "unauthorized", refused.Message)
			assert.JSONEq(t, tc.data, string(refused.Data))
		})
	}
}

// TestJavaScriptClient checks that the official client's connect_error
// gets the middleware's message and data. It needs node and `npm ci
// --prefix interop` (bash .ci/test.sh does both).
func TestJavaScriptClient(t *testing.T) {
	modules, err := filepath.Abs(filepath.Join("..", "..", "interop", "node_modules"))
	require.NoError(t, err)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test needs node on $PATH (apt-get install nodejs npm, or run `bash .ci/test.sh`): %v", err)
	}
	if _, err := os.Stat(filepath.Join(modules, "socket.io-client")); err != nil {
		t.Fatalf("this test needs the interop Node packages (npm ci --prefix interop, or run `bash .ci/test.sh`): %v", err)
	}
	ts := siotest.NewServer(t, newServer(nil))

	run := func(args ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", "refused.cjs"), ts.URL}, args...)...)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		var got map[string]any
		require.NoError(t, json.Unmarshal(out, &got), "%s", out)
		return got
	}
	assert.Equal(t, map[string]any{"message": "unauthorized", "data": map[string]any{"reason": "unknown token"}}, run("guess"))
	assert.Equal(t, map[string]any{"welcome": map[string]any{"name": "bob", "admin": false}}, run("bob-token"))
}
