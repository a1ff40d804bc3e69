// Command server is the Go side of the benchmarks in bench/: a Socket.IO
// server on 127.0.0.1:$PORT (default 3000), path /socket.io/, namespace "/",
// with the same contract as bench/node/server.js:
//
//	"echo"(payload, ack)  -> ack(payload)
//	"join"(room, ack)     -> join room, ack(true)
//	"bcast"(payload)      -> emit "msg"(payload) to room "room1", sender excluded
//	"stats"(ack)          -> ack({conns, disconnects: {reason: count}})
//
// "stats" is for the load generator (connection count, disconnect reasons).
// Flags: -max-buffered overrides Config.MaxBufferedBytes (0: the default),
// -procs sets how many Ps run Go code (see below), -cpuprofile/-memprofile
// write pprof profiles on SIGINT/SIGTERM, -pprof serves net/http/pprof on a
// separate address.
//
// The benchmarks run their load generator on the same machine, so by
// default this server leaves it one CPU: it runs one P fewer than the
// runtime would (at least one), as a Go service is given the share of a
// machine it may use (GOMAXPROCS, or a container's CPU limit, which the
// runtime reads). On two CPUs that is one P, as many threads as Node runs
// JavaScript on. With a P per CPU, the server's threads and the load
// generator's take turns on the same cores, and the kernel's time slices
// show up in the latency tail (bench/README.md, thirteenth round).
// -procs 0 keeps the runtime's default; an explicit $GOMAXPROCS is always
// kept.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/wirekit/socketio"
)

func main() {
	maxBuffered := flag.Int64("max-buffered", 0, "Config.MaxBufferedBytes (0: library default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until exit")
	memProfile := flag.String("memprofile", "", "write an allocation profile to this file at exit")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	procs := flag.Int("procs", -1, "Ps to run Go code on: -1 leaves one CPU to a load generator on the same machine (one P fewer than the runtime's default, at least 1), 0 keeps the runtime's default; $GOMAXPROCS, when set, wins")
	flag.Parse()
	setProcs(*procs)
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 4096
	}

	srv := socketio.New(socketio.Config{MaxBufferedBytes: *maxBuffered})
	var (
		mu      sync.Mutex
		reasons = map[string]int{}
	)
	ns := srv.Of("/")
	ns.OnDisconnect(func(_ *socketio.Socket, reason string) {
		mu.Lock()
		reasons[reason]++
		mu.Unlock()
	})
	ns.OnEvent("echo", func(_ *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		if ack != nil && args.Len() > 0 {
			ack(args.Slice()[0])
		}
	})
	ns.OnEvent("join", func(s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
		var room string
		if err := args.Decode(0, &room); err != nil {
			return
		}
		s.Join(room)
		if ack != nil {
			ack(true)
		}
	})
	ns.OnEvent("bcast", func(s *socketio.Socket, args socketio.Args, _ socketio.Ack) {
		if args.Len() > 0 {
			s.To("room1").Emit("msg", args.Slice()[0])
		}
	})
	ns.OnEvent("stats", func(_ *socketio.Socket, _ socketio.Args, ack socketio.Ack) {
		if ack == nil {
			return
		}
		mu.Lock()
		r := make(map[string]int, len(reasons))
		for k, v := range reasons {
			r[k] = v
		}
		mu.Unlock()
		ack(map[string]any{"conns": srv.ConnectionCount(), "disconnects": r})
	})

	// No TCP keep-alive probes: Engine.IO's heartbeat finds dead peers, and
	// Node's server does not enable them either (it would cost four
	// setsockopt calls per accepted connection).
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	if *pprofAddr != "" {
		go http.ListenAndServe(*pprofAddr, nil) // DefaultServeMux has the pprof handlers
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Printf("listening on %s (GOMAXPROCS %d, %d CPUs)\n", ln.Addr(), runtime.GOMAXPROCS(0), runtime.NumCPU())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		if f, err := os.Create(*memProfile); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	hs.Close()
}

// setProcs applies -procs; see the package comment.
func setProcs(procs int) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	switch {
	case procs > 0:
		runtime.GOMAXPROCS(procs)
	case procs < 0:
		runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)-1))
	}
}
