package client_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirekit/socketio"
	"github.com/wirekit/socketio/client"
)

// The declarations shared by the tests and, in a real program, by the
// server and its Go clients.

// Who is what "whoami" answers.
type Who struct {
	ID        string         `json:"id"`
	Nsp       string         `json:"nsp"`
	Auth      map[string]any `json:"auth"`
	Transport string         `json:"transport"`
}

// Blob carries binary at several depths.
type Blob struct {
	Name   string            `json:"name"`
	Data   []byte            `json:"data"`
	Parts  [][]byte          `json:"parts"`
	Nested map[string][]byte `json:"nested"`
	Count  int               `json:"count"`
}

var (
	WhoAmI   = socketio.NewRequest[struct{}, Who]("whoami")
	Echo     = socketio.NewRequest[Blob, Blob]("echo")
	EchoBack = socketio.NewEvent[Blob]("echo-back")
	Question = socketio.NewRequest[Blob, Blob]("question")
	Fail     = socketio.NewRequest[struct{}, Who]("fail")
)

func sampleBlob(name string) Blob {
	return Blob{
		Name:   name,
		Data:   []byte{0, 1, 2, 255},
		Parts:  [][]byte{{4}, {5, 6}, {}},
		Nested: map[string][]byte{"deep": []byte("binary\x00data")},
		Count:  3,
	}
}

// equalBlob compares blobs, an empty []byte and a missing one alike.
func equalBlob(t *testing.T, want, got Blob) {
	t.Helper()
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Data, got.Data)
	assert.Equal(t, want.Count, got.Count)
	require.Len(t, got.Parts, len(want.Parts))
	for i := range want.Parts {
		assert.Equal(t, len(want.Parts[i]), len(got.Parts[i]))
		if len(want.Parts[i]) > 0 {
			assert.Equal(t, want.Parts[i], got.Parts[i])
		}
	}
	assert.Equal(t, want.Nested, got.Nested)
}

func opts(transports ...string) *client.Options {
	return &client.Options{Transports: transports, NoReconnect: true}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect connects the main namespace with auth and closes it at the end.
func connect(t *testing.T, url string, o *client.Options, auth any) *client.Socket {
	t.Helper()
	o.Auth = auth
	s, err := client.Connect(testCtx(t), url, o)
	require.NoError(t, err)
	t.Cleanup(s.Disconnect)
	return s
}

type e2eCase struct {
	name string
	run  func(t *testing.T, url string)
}

var e2eCases = []e2eCase{
	{"connect with auth", func(t *testing.T, url string) {
		s := connect(t, url, opts(), map[string]any{"token": "t1", "user": "ann"})
		who, err := client.EmitWithAck(testCtx(t), s, WhoAmI, struct{}{})
		require.NoError(t, err)
		assert.Equal(t, s.ID(), who.ID)
		assert.NotEmpty(t, who.ID)
		assert.Equal(t, "/", who.Nsp)
		assert.Equal(t, map[string]any{"token": "t1", "user": "ann"}, who.Auth)
	}},
	{"connect error with data", func(t *testing.T, url string) {
		o := opts()
		o.Auth = map[string]string{"token": "deny"}
		s, err := client.Connect(testCtx(t), url, o)
		require.Nil(t, s)
		var ce *client.ConnectError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "denied", ce.Message)
		assert.JSONEq(t, `{"code":4001,"why":"bad token"}`, string(ce.Data))
	}},
	{"emit both ways", func(t *testing.T, url string) {
		c, err := client.Dial(testCtx(t), url, opts())
		require.NoError(t, err)
		defer c.Close()
		s := c.Of("/")
		got := make(chan Blob, 1)
		client.On(s, EchoBack, func(b Blob) { got <- b })
		require.NoError(t, s.Connect(testCtx(t), nil))
		want := sampleBlob("emitted")
		require.NoError(t, client.Emit(s, EchoBack, want))
		select {
		case b := <-got:
			equalBlob(t, want, b)
		case <-time.After(10 * time.Second):
			t.Fatal("no echo-back")
		}
	}},
	{"on any", func(t *testing.T, url string) {
		c, err := client.Dial(testCtx(t), url, opts())
		require.NoError(t, err)
		defer c.Close()
		s := c.Of("/")
		got := make(chan string, 2)
		s.OnAny(func(event string, args socketio.Args) {
			var b Blob
			assert.NoError(t, args.Decode(0, &b))
			got <- "any " + event + " " + b.Name
		})
		client.On(s, EchoBack, func(b Blob) { got <- "on " + b.Name })
		require.NoError(t, s.Connect(testCtx(t), nil))
		require.NoError(t, client.Emit(s, EchoBack, sampleBlob("x")))
		for _, want := range []string{"any echo-back x", "on x"} {
			select {
			case g := <-got:
				assert.Equal(t, want, g)
			case <-time.After(10 * time.Second):
				t.Fatal("no echo-back")
			}
		}
	}},
	{"acks both ways", func(t *testing.T, url string) {
		c, err := client.Dial(testCtx(t), url, opts())
		require.NoError(t, err)
		defer c.Close()
		s := c.Of("/")
		client.Handle(s, Question, func(ctx context.Context, b Blob) (Blob, error) {
			b.Name += " answered"
			b.Count++
			return b, nil
		})
		require.NoError(t, s.Connect(testCtx(t), nil))

		// Client -> server, typed and untyped.
		b, err := client.EmitWithAck(testCtx(t), s, Echo, sampleBlob("to server"))
		require.NoError(t, err)
		equalBlob(t, sampleBlob("to server"), b)
		args, err := s.EmitWithAck(testCtx(t), "echo", 1, "two", []byte{3})
		require.NoError(t, err)
		require.Equal(t, 3, args.Len())
		assert.Equal(t, []any{float64(1), "two", []byte{3}}, []any{args.Value(0), args.Value(1), args.Value(2)})

		// Server -> client: the server asks "question", relays the answer.
		args, err = s.EmitWithAck(testCtx(t), "ask", "question", sampleBlob("asked"))
		require.NoError(t, err)
		var reply Blob
		require.NoError(t, args.Decode(0, &reply))
		want := sampleBlob("asked answered")
		want.Count = 4
		equalBlob(t, want, reply)
	}},
	{"remote error", func(t *testing.T, url string) {
		s := connect(t, url, opts(), nil)
		_, err := client.EmitWithAck(testCtx(t), s, Fail, struct{}{})
		var re *socketio.RemoteError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "nope", re.Message)
	}},
	{"binary nested both ways", func(t *testing.T, url string) {
		c, err := client.Dial(testCtx(t), url, opts())
		require.NoError(t, err)
		defer c.Close()
		s := c.Of("/")
		got := make(chan socketio.Args, 1)
		s.OnEvent("echo-back", func(args socketio.Args, ack socketio.Ack) { got <- args })
		require.NoError(t, s.Connect(testCtx(t), nil))
		payload := map[string]any{
			"list": []any{[]byte{1}, map[string]any{"b": []byte{2, 3}}, "text"},
			"x":    []byte{},
		}
		require.NoError(t, s.Emit("echo-back", payload, []byte("second"), nil))
		select {
		case args := <-got:
			require.Equal(t, 3, args.Len())
			assert.Equal(t, map[string]any{
				"list": []any{[]byte{1}, map[string]any{"b": []byte{2, 3}}, "text"},
				"x":    []byte{},
			}, args.Value(0))
			assert.Equal(t, []byte("second"), args.Value(1))
			assert.Nil(t, args.Value(2))
		case <-time.After(10 * time.Second):
			t.Fatal("no echo-back")
		}
	}},
	{"large binary on every transport", func(t *testing.T, url string) {
		big := make([]byte, 300<<10)
		for i := range big {
			big[i] = byte(i * 7)
		}
		for _, tr := range []string{"polling", "websocket"} {
			s := connect(t, url, opts(tr), nil)
			args, err := s.EmitWithAck(testCtx(t), "echo", map[string]any{"big": big})
			require.NoError(t, err, tr)
			var got struct{ Big []byte }
			require.NoError(t, args.Decode(0, &got))
			assert.True(t, bytes.Equal(big, got.Big), tr)
		}
	}},
	{"namespaces", func(t *testing.T, url string) {
		c, err := client.Dial(testCtx(t), url, opts())
		require.NoError(t, err)
		defer c.Close()

		_, err = c.Socket(testCtx(t), "/nope", nil)
		var ce *client.ConnectError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "Invalid namespace", ce.Message)

		_, err = c.Socket(testCtx(t), "/admin", map[string]string{"role": "guest"})
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "forbidden", ce.Message)
		assert.JSONEq(t, `{"need":"admin"}`, string(ce.Data))

		admin, err := c.Socket(testCtx(t), "/admin", map[string]string{"role": "admin"})
		require.NoError(t, err)
		main, err := c.Socket(testCtx(t), "/", nil)
		require.NoError(t, err)
		who, err := client.EmitWithAck(testCtx(t), admin, WhoAmI, struct{}{})
		require.NoError(t, err)
		assert.Equal(t, "/admin", who.Nsp)
		assert.Equal(t, admin.ID(), who.ID)
		who, err = client.EmitWithAck(testCtx(t), main, WhoAmI, struct{}{})
		require.NoError(t, err)
		assert.Equal(t, "/", who.Nsp)

		// Leaving one namespace keeps the other.
		admin.Disconnect()
		assert.False(t, admin.Connected())
		_, err = client.EmitWithAck(testCtx(t), main, WhoAmI, struct{}{})
		require.NoError(t, err)
		_, err = admin.EmitWithAck(testCtx(t), "echo")
		assert.ErrorIs(t, err, socketio.ErrDisconnected)
	}},
	{"server disconnect", func(t *testing.T, url string) {
		c, err := client.Dial(testCtx(t), url, &client.Options{ReconnectDelay: 10 * time.Millisecond})
		require.NoError(t, err)
		defer c.Close()
		s := c.Of("/")
		reasons := make(chan string, 2)
		s.OnDisconnect(func(r string) { reasons <- r })
		require.NoError(t, s.Connect(testCtx(t), nil))
		require.NoError(t, s.Emit("bye"))
		select {
		case r := <-reasons:
			assert.Equal(t, client.ReasonServerDisconnect, r)
		case <-time.After(10 * time.Second):
			t.Fatal("not disconnected")
		}
		assert.False(t, s.Connected())
		// Not reconnected, though reconnection is on.
		time.Sleep(100 * time.Millisecond)
		assert.False(t, s.Connected())
		assert.ErrorIs(t, s.Emit("echo"), socketio.ErrDisconnected)
		// Connect again on demand.
		require.NoError(t, s.Connect(testCtx(t), nil))
		_, err = client.EmitWithAck(testCtx(t), s, WhoAmI, struct{}{})
		require.NoError(t, err)
	}},
	{"polling only", func(t *testing.T, url string) {
		s := connect(t, url, opts("polling"), nil)
		checkTransport(t, s, "polling")
		time.Sleep(200 * time.Millisecond) // an upgrade would have begun
		checkTransport(t, s, "polling")
	}},
	{"websocket only", func(t *testing.T, url string) {
		s := connect(t, url, opts("websocket"), nil)
		checkTransport(t, s, "websocket")
	}},
	{"upgrade keeps order", func(t *testing.T, url string) {
		c, err := client.Dial(testCtx(t), url, opts())
		require.NoError(t, err)
		defer c.Close()
		s := c.Of("/")
		const n = 200
		got := make(chan int, n)
		s.OnEvent("echo-back", func(args socketio.Args, ack socketio.Ack) {
			var i int
			args.Decode(0, &i)
			got <- i
		})
		require.NoError(t, s.Connect(testCtx(t), nil))
		// Emit during the upgrade, which starts at Dial.
		for i := range n {
			require.NoError(t, s.Emit("echo-back", i, []byte{byte(i)}))
			if i%20 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
		for i := range n {
			select {
			case j := <-got:
				require.Equal(t, i, j, "out of order or lost")
			case <-time.After(10 * time.Second):
				t.Fatalf("echo %d missing", i)
			}
		}
		require.Eventually(t, func() bool { return c.Transport() == "websocket" }, 10*time.Second, 10*time.Millisecond)
		checkTransport(t, s, "websocket")
	}},
}

// checkTransport checks that both ends use transport, and that events with
// binary get through.
func checkTransport(t *testing.T, s *client.Socket, transport string) {
	t.Helper()
	assert.Equal(t, transport, s.Conn().Transport())
	who, err := client.EmitWithAck(testCtx(t), s, WhoAmI, struct{}{})
	require.NoError(t, err)
	assert.Equal(t, transport, who.Transport)
	b, err := client.EmitWithAck(testCtx(t), s, Echo, sampleBlob(transport))
	require.NoError(t, err)
	equalBlob(t, sampleBlob(transport), b)
}

// TestEndToEnd runs every case against the Go server and the Node
// reference server.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			url := srv.start(t)
			for _, tc := range e2eCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, url)
				})
			}
		})
	}
}
