package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNodeClient runs the Node interop suite (test/*.test.js, node's
// built-in test runner) with socket.io-client 4.x against the Go server of
// interop/server. It fails, never skips, when Node.js or the npm packages
// are missing.
func TestNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node (Node.js 20+) is not in PATH: install it, then run npm ci --prefix interop")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "socket.io-client", "package.json")); err != nil {
		t.Fatal("interop/node_modules/socket.io-client is missing: run npm ci --prefix interop")
	}
	files, err := filepath.Glob(filepath.Join("test", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test/*.test.js files (%v)", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-5*time.Second))
	}
	defer cancel()

	addr, serverLog := startServer(t, ctx)

	var out bytes.Buffer
	var w io.Writer = &out
	if testing.Verbose() {
		w = io.MultiWriter(&out, os.Stdout)
	}
	args := append([]string{"--test", "--test-reporter=spec"}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(), "SIO_URL="+addr, "NO_COLOR=1", "FORCE_COLOR=0")
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	t.Logf("node --test: %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		msg := fmt.Sprintf("node --test %s: %v", strings.Join(files, " "), err)
		if ctx.Err() != nil {
			msg += " (deadline reached)"
		}
		if !testing.Verbose() {
			msg += "\n--- node output ---\n" + out.String()
		}
		msg += "\n--- server log ---\n" + serverLog()
		t.Fatal(msg)
	}
}

// startServer builds and starts interop/server on a free port and returns
// its URL and a function returning its log so far.
func startServer(t *testing.T, ctx context.Context) (string, func() string) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building interop/server: %v\n%s", err, out)
	}

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logBuf bytes.Buffer
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logBuf.Write(p)
	})
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting interop/server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	serverLog := func() string {
		mu.Lock()
		defer mu.Unlock()
		return logBuf.String()
	}

	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatalf("interop/server exited before listening:\n%s", serverLog())
		}
		return addr, serverLog
	case <-time.After(30 * time.Second):
		t.Fatalf("interop/server did not listen within 30s:\n%s", serverLog())
	}
	panic("unreachable")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
