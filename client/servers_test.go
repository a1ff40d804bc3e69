package client_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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

// The two servers the end-to-end cases run against: this module's, and
// the Node reference implementation (testdata/refserver.js), which behave
// the same way:
//
//   - namespaces "/" (refuses auth {"token":"deny"} with message "denied"
//     and data {"code":4001,"why":"bad token"}) and "/admin" (refuses
//     unless auth {"role":"admin"}, message "forbidden", data
//     {"need":"admin"});
//   - "whoami" acks {id, nsp, auth, transport};
//   - "echo" acks with its arguments; "echo-back" emits them back;
//   - "ask" [event, payload] asks the client event with payload and acks
//     with the client's reply;
//   - "fail" acks {"error":"nope"}; "bye" disconnects the socket.

type testServer struct {
	name  string
	start func(t *testing.T) string // returns the base URL
}

var servers = []testServer{
	{"go", startGoServer},
	{"node", startNodeServer},
}

// newGoServer returns the Go server of the cases, not started.
func newGoServer(cfg socketio.Config) *socketio.Server {
	srv := socketio.New(cfg)
	srv.Of("/").Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		s.DecodeAuth(&auth)
		if auth.Token == "deny" {
			return &socketio.ConnectError{Message: "denied", Data: map[string]any{"code": 4001, "why": "bad token"}}
		}
		return nil
	})
	srv.Of("/admin").Use(func(s *socketio.Socket) error {
		var auth struct {
			Role string `json:"role"`
		}
		s.DecodeAuth(&auth)
		if auth.Role != "admin" {
			return &socketio.ConnectError{Message: "forbidden", Data: map[string]any{"need": "admin"}}
		}
		return nil
	})
	for _, ns := range []*socketio.Namespace{srv.Of("/"), srv.Of("/admin")} {
		ns.OnEvent("whoami", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
			var auth any = map[string]any{}
			s.DecodeAuth(&auth)
			ack(map[string]any{"id": s.ID(), "nsp": s.Namespace().Name(), "auth": auth, "transport": s.Transport()})
		})
		ns.OnEvent("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
			if ack != nil {
				ack(args.Slice()...)
			}
		})
		ns.OnEvent("echo-back", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
			s.Emit("echo-back", args.Slice()...)
		})
		ns.OnEvent("ask", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
			var event string
			args.Decode(0, &event)
			ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
			defer cancel()
			reply, err := s.EmitWithAck(ctx, event, args.Slice()[1:]...)
			if err != nil {
				ack(map[string]string{"error": err.Error()})
				return
			}
			ack(reply.Slice()...)
		})
		ns.OnEvent("fail", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
			ack(map[string]string{"error": "nope"})
		})
		ns.OnEvent("bye", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
			s.Disconnect(false)
		})
	}
	return srv
}

func startGoServer(t *testing.T) string {
	_, ts := serveGo(t, socketio.Config{})
	return ts.URL
}

// serveGo serves the Go server of the cases until the test ends.
func serveGo(t *testing.T, cfg socketio.Config) (*socketio.Server, *httptest.Server) {
	srv := newGoServer(cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { stopGo(srv, ts) })
	return srv, ts
}

// stopGo stops a server once its clients are gone. It first lets the
// server see the clients' own close: a Shutdown that overtakes a client
// closing in the middle of an upgrade waits for the ping timeout (the
// server drops the upgrade of a session it is closing, then waits for a
// poll that never comes).
func stopGo(srv *socketio.Server, ts *httptest.Server) {
	for deadline := time.Now().Add(2 * time.Second); srv.ConnectionCount() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	ts.Close()
}

// startNodeServer runs testdata/refserver.js for the test and its
// subtests. It fails, never skips, when Node or the interop packages are
// missing: CI installs them.
func startNodeServer(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: the client's interop tests need Node.js 18+ and `npm ci --prefix interop` (run from the repository root)")
	}
	if _, err := os.Stat(filepath.Join("..", "interop", "node_modules", "socket.io", "package.json")); err != nil {
		t.Fatalf("interop/node_modules/socket.io is missing: run `npm ci --prefix interop` from the repository root (%v)", err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "refserver.js"))
	cmd.Env = append(os.Environ(), "PORT=0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	stop := func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-lines
		stop()
		t.Fatalf("node refserver did not start in 20s; stderr:\n%s", stderr.String())
	}
	var port int
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "listening %d", &port); err != nil {
		stop()
		t.Fatalf("node refserver: unexpected output %q; stderr:\n%s", line, stderr.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("node refserver stderr:\n%s", stderr.String())
		}
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
