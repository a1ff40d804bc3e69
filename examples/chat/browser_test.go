package main

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowser drives the chat page in headless Chromium with the official
// client, served from the npm-installed bundle, over each transport. It
// needs node, /usr/bin/chromium (or $CHROMIUM) and `npm ci --prefix
// interop`; `bash .ci/test.sh` installs all three. It is never skipped.
func TestBrowser(t *testing.T) {
	node, chromium, modules, bundle := browserTools(t)

	srv := newServer(nil)
	ts := httptest.NewServer(newHandler(srv, bundle))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})

	// One browser runs the three in turn: Chromium takes seconds to start
	// on a small CI machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "browser.cjs"), ts.URL, "websocket", "polling", "upgrade")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the browser run failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// browserTools finds what the browser tests run: node, Chromium (at
// /usr/bin/chromium, or $CHROMIUM), the interop Node packages (with
// playwright-core) and the client bundle among them. A missing one fails
// the test, saying how to install it; it is never skipped.
func browserTools(t *testing.T) (node, chromium, modules, bundle string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	modules = filepath.Join(root, "interop", "node_modules")
	bundle = filepath.Join(root, bundlePath)
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err = exec.LookPath("node")
	if err != nil {
		t.Fatalf("the browser test needs node on $PATH (apt-get install nodejs npm, or run `bash .ci/test.sh`): %v", err)
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium, set $CHROMIUM, or run `bash .ci/test.sh`): %v", chromium, err)
	}
	for _, p := range []string{bundle, filepath.Join(modules, "playwright-core", "package.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the browser test needs the interop Node packages (npm ci --prefix %s, or run `bash .ci/test.sh`): %v", filepath.Join(root, "interop"), err)
		}
	}
	return node, chromium, modules, bundle
}
