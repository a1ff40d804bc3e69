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
// -cpuprofile/-memprofile write pprof profiles on SIGINT/SIGTERM, -pprof
// serves net/http/pprof on a separate address.
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
	flag.Parse()
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

	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
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
	fmt.Printf("listening on %s\n", ln.Addr())

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
