package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
	"github.com/wirekit/socketio/siotest"
)

func TestForms(t *testing.T) {
	for name, form := range map[string]func(*socketio.Server) http.Handler{
		"mount":      mounted,
		"middleware": middleware,
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(nil)
			ts := siotest.NewHandlerServer(t, srv, form(srv))
			get := func(path string) (int, string) {
				resp, err := ts.HTTP.Client().Get(ts.URL + path)
				require.NoError(t, err)
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				return resp.StatusCode, string(body)
			}

			// The app's routes still answer...
			code, body := get("/")
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "the app's home page\n", body)
			code, body = get("/api/time")
			assert.Equal(t, http.StatusOK, code)
			_, err := time.Parse(time.RFC3339, strings.TrimSpace(body))
			assert.NoError(t, err, body)
			code, _ = get("/nope")
			assert.Equal(t, http.StatusNotFound, code)

			// ... and so does Socket.IO, to a raw handshake and to a client.
			code, body = get("/socket.io/?EIO=4&transport=polling")
			assert.Equal(t, http.StatusOK, code)
			var open struct{ SID string }
			require.True(t, strings.HasPrefix(body, "0"), body)
			require.NoError(t, json.Unmarshal([]byte(body[1:]), &open), body)
			// Close that session (a close packet), or Shutdown would wait for it.
			resp, err := ts.HTTP.Client().Post(ts.URL+"/socket.io/?EIO=4&transport=polling&sid="+open.SID, "text/plain", strings.NewReader("1"))
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			now, err := client.EmitWithAck(ctx, ts.Dial(t), Now, struct{}{})
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), now, time.Minute)
		})
	}
}
