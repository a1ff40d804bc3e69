//go:build linux

// Command compare runs the side-by-side load benchmarks of bench/: the Go
// server (bench/server) and the Node reference server (bench/node, npm
// socket.io 4.8.x), each scenario on each server in turn, interleaved over
// several rounds, and prints the figures with the ratio Go/Node.
//
// Run it from the module root, preferably through bench/run.sh, which
// raises the file-descriptor limit and installs the Node dependencies:
//
//	bench/run.sh                 # 3 rounds, every scenario
//	bench/run.sh -rounds 5 -only echo,broadcast
//
// Both servers are restarted at the start of every round and warmed up;
// which one goes first alternates between rounds. Each figure is the median
// over rounds; each ratio is the median of the per-round ratios, with their
// spread, which shows how noisy the machine was.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirekit/socketio/bench/loadgen"
)

var (
	rounds      = flag.Int("rounds", 3, "rounds; each runs every scenario on every server")
	only        = flag.String("only", "", "comma-separated scenarios to run (idle,connect,echo,echorate,broadcast,slow); default all")
	serversFlag = flag.String("servers", "go,go-allcpus,node", "servers to compare, in the order of round 1: go (bench/server as it runs by default: one CPU left to the load generator), go-allcpus (bench/server -procs 0: a P per CPU, the runtime's default), node, or a name given with -bin")
	extraBins   = binFlag{}
	goPort      = flag.Int("go-port", 3101, "port of the Go server")
	nodePort    = flag.Int("node-port", 3102, "port of the Node server")
	maxBuffered = flag.Int64("max-buffered", 256<<10, "Go server's Config.MaxBufferedBytes (0: library default, 4 MiB); 256 KiB lets the slow reader hit it within the run")
	goProfile   = flag.String("go-cpuprofile", "", "write the Go server's CPU profile (last round) to this file")
	attach      = flag.String("target", "", "run the scenarios once against a server already listening on this host:port (with -pid), for profiling")
	attachPID   = flag.Int("pid", 0, "with -target: the server's process id")
	jsonOut     = flag.String("json", "", "also write raw results to this file (default bench/results/<time>.json)")
	pin         = flag.Bool("pin", false, "diagnostic, not the issue's set-up: run each server on CPU 0 only and the load generator on the other CPUs (with taskset), so that they do not share cores; a Go server then runs with GOMAXPROCS=1, as the runtime follows its CPU affinity")

	connectN    = flag.Int("connect-n", 2000, "connect: clients")
	connectConc = flag.Int("connect-conc", 50, "connect: connections in flight")
	idleN       = flag.Int("idle-n", 5000, "idle: clients")
	idleSettle  = flag.Duration("idle-settle", 3*time.Second, "idle: wait before reading RSS")
	echoClients = flag.Int("echo-clients", 50, "echo: concurrent clients")
	echoWarm    = flag.Duration("echo-warm", time.Second, "echo: warm-up")
	echoDur     = flag.Duration("echo-dur", 5*time.Second, "echo: measured time")
	echoRate    = flag.Int("echo-rate", 15000, "echorate: events per second, all clients together (open loop)")
	echoDriver  = flag.String("echo-driver", "loop", "echo: how the load generator drives its clients: loop (one goroutine over an epoll set, Linux) or goroutines (one per client)")
	echoPayload = flag.String("echo-payload", `{"user":"ann","text":"hello, world","n":12345,"tags":["a","b","c"]}`, "echo: payload (JSON)")
	bcastRecv   = flag.Int("bcast-receivers", 500, "broadcast: receivers in the room")
	bcastN      = flag.Int("bcast-n", 400, "broadcast: messages per phase")
	bcastPace   = flag.Duration("bcast-pace", 20*time.Millisecond, "broadcast: interval of the paced phase")
	slowRecv    = flag.Int("slow-receivers", 500, "slow: receivers besides the slow one")
	slowRate    = flag.Int("slow-rate", 50, "slow: broadcasts per second")
	slowDur     = flag.Duration("slow-dur", 8*time.Second, "slow: duration of each run")
	slowWait    = flag.Duration("slow-wait", 30*time.Second, "slow: how long to go on until the server drops the slow reader")
	slowPad     = flag.Int("slow-pad", 2000, "slow: payload padding in bytes")
)

type scenario struct {
	name string
	run  func(ctx context.Context, t loadgen.Target) (*loadgen.Result, error)
}

func scenarios() []scenario {
	return []scenario{
		{"idle", func(ctx context.Context, t loadgen.Target) (*loadgen.Result, error) {
			return loadgen.IdleMemory(ctx, t, *idleN, 50, *idleSettle)
		}},
		{"connect", func(ctx context.Context, t loadgen.Target) (*loadgen.Result, error) {
			return loadgen.Connect(ctx, t, *connectN, *connectConc)
		}},
		{"echo", func(ctx context.Context, t loadgen.Target) (*loadgen.Result, error) {
			return loadgen.Echo(ctx, t, *echoClients, *echoWarm, *echoDur, []byte(*echoPayload))
		}},
		{"echorate", func(ctx context.Context, t loadgen.Target) (*loadgen.Result, error) {
			return loadgen.EchoAtRate(ctx, t, *echoClients, *echoRate, *echoWarm, *echoDur, []byte(*echoPayload))
		}},
		{"broadcast", func(ctx context.Context, t loadgen.Target) (*loadgen.Result, error) {
			return loadgen.Broadcast(ctx, t, *bcastRecv, *bcastN, *bcastPace)
		}},
		{"slow", func(ctx context.Context, t loadgen.Target) (*loadgen.Result, error) {
			return loadgen.SlowReader(ctx, t, *slowRecv, *slowRate, *slowDur, *slowWait, *slowPad)
		}},
	}
}

// metric describes one figure of the table. Ratios are Go/Node; target
// checks the ratio (nil: no target).
type metric struct {
	key, label, unit string
	target           string
	ok               func(goV, nodeV, ratio float64) bool
	perServer        bool // a per-server figure (a flag, a ratio within a server): no Go/Node ratio
}

func atMost(x float64) func(_, _, r float64) bool {
	return func(_, _, r float64) bool { return r <= x }
}
func atLeast(x float64) func(_, _, r float64) bool {
	return func(_, _, r float64) bool { return r >= x }
}

var metrics = []metric{
	{key: "connect.rate", label: "connect rate", unit: "conn/s", target: ">= 1.5x", ok: atLeast(1.5)},
	{key: "connect.p50", label: "connect setup p50", unit: "ms"},
	{key: "connect.p99", label: "connect setup p99", unit: "ms"},
	{key: "connect.cpu", label: "server CPU per connect", unit: "µs"},
	{key: "idle.perconn", label: "idle memory per connection", unit: "KiB", target: "< 1x", ok: func(_, _, r float64) bool { return r < 1 }},
	{key: "echo.rate", label: "echo acks/s", unit: "ack/s", target: ">= 1.5x", ok: atLeast(1.5)},
	{key: "echo.p50", label: "echo latency p50", unit: "µs"},
	{key: "echo.p99", label: "echo latency p99", unit: "µs", target: "<= 1x", ok: atMost(1)},
	{key: "echo.p999", label: "echo latency p99.9", unit: "µs"},
	{key: "echo.cpu", label: "server CPU per echo ack", unit: "µs", target: "<= 0.6x", ok: atMost(0.6)},
	{key: "echo.wait", label: "server threads' time waiting for a CPU, per echo ack", unit: "µs"},
	{key: "echorate.p50", label: "echo at a fixed 15k/s: latency p50", unit: "µs"},
	{key: "echorate.p99", label: "echo at a fixed 15k/s: latency p99", unit: "µs"},
	{key: "echorate.p999", label: "echo at a fixed 15k/s: latency p99.9", unit: "µs"},
	{key: "echorate.cpu", label: "echo at a fixed 15k/s: server CPU per ack", unit: "µs"},
	{key: "burst.rate", label: "burst fan-out deliveries/s", unit: "msg/s"},
	{key: "burst.p50", label: "burst delivery latency p50", unit: "ms"},
	{key: "burst.p99", label: "burst delivery latency p99", unit: "ms"},
	{key: "burst.cpu", label: "server CPU per delivery, burst", unit: "µs", target: "<= 0.5x", ok: atMost(0.5)},
	{key: "burst.ok", label: "burst: all delivered once, in order", unit: "1=yes", perServer: true},
	{key: "paced.rate", label: "paced fan-out deliveries/s", unit: "msg/s"},
	{key: "paced.p50", label: "paced delivery latency p50", unit: "ms"},
	{key: "paced.p99", label: "paced delivery latency p99", unit: "ms"},
	{key: "paced.cpu", label: "server CPU per delivery, paced", unit: "µs", target: "<= 0.7x", ok: atMost(0.7)},
	{key: "paced.ok", label: "paced: all delivered once, in order", unit: "1=yes", perServer: true},
	{key: "slow.without.rate", label: "continuous, no slow reader: deliveries/s", unit: "msg/s"},
	{key: "slow.without.p99", label: "continuous, no slow reader: latency p99", unit: "ms"},
	{key: "slow.with.rate", label: "continuous + slow reader: others' deliveries/s", unit: "msg/s"},
	{key: "slow.with.p99", label: "continuous + slow reader: others' latency p99", unit: "ms"},
	{key: "slow.rateratio", label: "others' rate with/without slow reader", unit: "ratio", target: ">= 0.9 each", perServer: true,
		ok: func(g, n, _ float64) bool { return g >= 0.9 }},
	{key: "slow.with.ok", label: "continuous + slow: others got all, in order", unit: "1=yes", perServer: true},
	{key: "slow.dropped", label: "slow reader disconnected by the server", unit: "1=yes", target: "Go: 1", perServer: true,
		ok: func(g, _, _ float64) bool { return g == 1 }},
	{key: "slow.droptime", label: "slow reader dropped after (since it joined)", unit: "s", perServer: true},
	{key: "slow.rssgrowth", label: "server RSS growth while the slow reader is in the room", unit: "MiB", perServer: true},
	{key: "echo.lgcpu", label: "load generator CPU per echo ack", unit: "µs", perServer: true},
	{key: "burst.lgcpu", label: "load generator CPU per delivery, burst", unit: "µs", perServer: true},
}

type server struct {
	name   string
	cmd    *exec.Cmd
	target loadgen.Target
	done   chan struct{}
}

func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// pinnedEnv marks the copy of this program that runPinned started.
const pinnedEnv = "SOCKETIO_BENCH_PINNED"

// runPinned runs this program again, with the same arguments, on every
// CPU but CPU 0, and returns its exit code. That copy starts each server
// on CPU 0 (see start).
func runPinned() int {
	if runtime.NumCPU() < 2 {
		log.Fatal("-pin needs at least 2 CPUs")
	}
	cpus := "1-" + strconv.Itoa(runtime.NumCPU()-1)
	cmd := exec.Command("taskset", append([]string{"-c", cpus, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		log.Fatalf("-pin: %v (taskset is in util-linux)", err)
	}
	return 0
}

// start runs a server and waits for its "listening" line. With -pin, the
// server runs on CPU 0 only, from its first instruction (so every thread
// it starts stays there).
func start(name string, args []string, dir string, port int) (*server, error) {
	if *pin {
		args = append([]string{"taskset", "-c", "0"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	cmd.Stderr = prefixWriter{name}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{name: name, cmd: cmd, done: make(chan struct{}),
		target: loadgen.Target{Name: name, Addr: "127.0.0.1:" + strconv.Itoa(port), Path: "/socket.io/", PID: cmd.Process.Pid}}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				ready <- sc.Text()
				first = false
			}
		}
		if first {
			close(ready)
		}
	}()
	go func() { cmd.Wait(); close(s.done) }()
	select {
	case line, ok := <-ready:
		if !ok || !strings.HasPrefix(line, "listening") {
			s.stop()
			return nil, fmt.Errorf("%s did not start (%q)", name, line)
		}
		log.Printf("%s: %s (pid %d)", name, line, cmd.Process.Pid)
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s did not start in time", name)
	}
	return s, nil
}

type prefixWriter struct{ name string }

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		log.Printf("[%s] %s", p.name, l)
	}
	return len(b), nil
}

// warmUp exercises every code path briefly (JIT, pools, caches).
func warmUp(ctx context.Context, t loadgen.Target) error {
	if _, err := loadgen.Echo(ctx, t, 10, 300*time.Millisecond, 700*time.Millisecond, []byte(*echoPayload)); err != nil {
		return err
	}
	_, err := loadgen.Broadcast(ctx, t, 50, 100, time.Millisecond)
	return err
}

// raiseFDLimit lifts the soft RLIMIT_NOFILE to the hard limit. Setting it
// explicitly (rather than relying on the Go runtime's own raise) makes the
// servers started from here inherit it.
func raiseFDLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	need := uint64(2*(*idleN) + 2000)
	if lim.Cur < need {
		log.Printf("warning: RLIMIT_NOFILE is %d; the idle scenario needs about %d (raise the hard limit)", lim.Cur, need)
	}
}

type record struct {
	Round    int                `json:"round"`
	Server   string             `json:"server"`
	Scenario string             `json:"scenario"`
	Values   map[string]float64 `json:"values"`
	Notes    []string           `json:"notes,omitempty"`
	Load     string             `json:"loadavg"`
}

// binFlag collects -bin name=path: more Go server binaries (builds of
// bench/server from other trees), for A/B comparisons of changes.
type binFlag map[string]string

func (b binFlag) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binFlag) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want name=path")
	}
	b[name] = path
	return nil
}

func main() {
	log.SetFlags(log.Ltime)
	flag.Var(extraBins, "bin", "name=path of another Go server binary built from bench/server (repeatable; list the name in -servers)")
	flag.Parse()
	switch *echoDriver {
	case "loop", "goroutines":
		loadgen.EchoDriver = *echoDriver
	default:
		log.Fatalf("-echo-driver: %q is neither loop nor goroutines", *echoDriver)
	}
	if *pin && os.Getenv(pinnedEnv) == "" {
		os.Exit(runPinned())
	}
	raiseFDLimit()
	if *attach != "" {
		runAttached()
		return
	}
	root, err := os.Getwd()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "server", "main.go")); err != nil {
		log.Fatal("run from the module root (bench/run.sh does)")
	}
	tmp, err := os.MkdirTemp("", "socketio-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	goBin := filepath.Join(tmp, "goserver")
	build := exec.Command("go", "build", "-o", goBin, "./bench/server")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("building the Go server: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "interop", "node_modules", "socket.io")); err != nil {
		log.Fatal("interop/node_modules/socket.io missing: npm ci --prefix interop")
	}

	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s != "" {
			want[s] = true
		}
	}
	var scs []scenario
	for _, sc := range scenarios() {
		if len(want) == 0 || want[sc.name] {
			scs = append(scs, sc)
		}
	}
	names := strings.Split(*serversFlag, ",")
	cmdFor := func(name string, round int) ([]string, int) {
		goArgs := func(bin string, more ...string) []string {
			return append([]string{bin, "-max-buffered", strconv.FormatInt(*maxBuffered, 10)}, more...)
		}
		if bin, ok := extraBins[name]; ok {
			i := slices.Index(names, name)
			return goArgs(bin), *goPort + 10 + i
		}
		switch name {
		case "go":
			if *goProfile != "" && round == *rounds-1 {
				return goArgs(goBin, "-cpuprofile", *goProfile), *goPort
			}
			return goArgs(goBin), *goPort
		case "go-allcpus":
			return goArgs(goBin, "-procs", "0"), *goPort + 2
		case "node":
			return []string{"node", filepath.Join(root, "bench", "node", "server.js")}, *nodePort
		}
		log.Fatalf("unknown server %q", name)
		return nil, 0
	}

	ctx := context.Background()
	load0 := loadgen.LoadAvg()
	var records []record
	for r := range *rounds {
		order := slices.Clone(names)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		log.Printf("round %d/%d, order %v, load %s", r+1, *rounds, order, loadgen.LoadAvg())
		var srvs []*server
		for _, name := range order {
			args, port := cmdFor(name, r)
			s, err := start(name, args, root, port)
			if err != nil {
				log.Fatal(err)
			}
			srvs = append(srvs, s)
			if err := warmUp(ctx, s.target); err != nil {
				log.Fatalf("%s warm-up: %v", name, err)
			}
		}
		for _, sc := range scs {
			for _, s := range srvs {
				res, err := sc.run(ctx, s.target)
				rec := record{Round: r, Server: s.name, Scenario: sc.name, Load: loadgen.LoadAvg()}
				if err != nil {
					log.Printf("%s %s: %v", s.name, sc.name, err)
					rec.Notes = []string{"error: " + err.Error()}
				} else {
					rec.Values, rec.Notes = res.Values, res.Notes
					log.Printf("%-4s %-9s %s", s.name, sc.name, brief(res.Values))
					for _, n := range res.Notes {
						log.Printf("%-4s %-9s note: %s", s.name, sc.name, n)
					}
				}
				records = append(records, rec)
			}
		}
		for _, s := range srvs {
			s.stop()
		}
	}
	load1 := loadgen.LoadAvg()

	out := *jsonOut
	if out == "" {
		os.MkdirAll(filepath.Join(root, "bench", "results"), 0o755)
		out = filepath.Join(root, "bench", "results", time.Now().Format("20060102-150405")+".json")
	}
	if b, err := json.MarshalIndent(records, "", "  "); err == nil {
		os.WriteFile(out, b, 0o644)
	}
	report(os.Stdout, records, names, load0, load1)
	log.Printf("raw results: %s", out)
}

// runAttached runs the selected scenarios once against -target.
func runAttached() {
	t := loadgen.Target{Name: "target", Addr: *attach, Path: "/socket.io/", PID: *attachPID}
	for _, sc := range scenarios() {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), sc.name) {
			continue
		}
		res, err := sc.run(context.Background(), t)
		if err != nil {
			log.Fatalf("%s: %v", sc.name, err)
		}
		log.Printf("%-9s %s", sc.name, brief(res.Values))
		for _, n := range res.Notes {
			log.Printf("%-9s note: %s", sc.name, n)
		}
	}
}

func brief(v map[string]float64) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s ", k, num(v[k]))
	}
	return b.String()
}

func num(x float64) string {
	switch a := math.Abs(x); {
	case math.IsNaN(x):
		return "—"
	case x == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// report prints the table: per server the median over rounds, then for
// each server but Node the median of its per-round ratios to Node, with
// their range. Targets are checked on "go".
func report(w io.Writer, recs []record, names []string, load0, load1 string) {
	vals := map[string]map[string][]float64{} // server -> key -> per round
	byRound := map[string]map[int]map[string]float64{}
	rounds := 0
	for _, r := range recs {
		if vals[r.Server] == nil {
			vals[r.Server] = map[string][]float64{}
			byRound[r.Server] = map[int]map[string]float64{}
		}
		if byRound[r.Server][r.Round] == nil {
			byRound[r.Server][r.Round] = map[string]float64{}
		}
		for k, v := range r.Values {
			vals[r.Server][k] = append(vals[r.Server][k], v)
			byRound[r.Server][r.Round][k] = v
		}
		rounds = max(rounds, r.Round+1)
	}
	var others []string // compared with node
	for _, n := range names {
		if n != "node" {
			others = append(others, n)
		}
	}
	hasNode := slices.Contains(names, "node")
	setup := "2 CPUs shared with other work"
	if *pin {
		setup = "-pin: each server on CPU 0 only, the load generator on the others"
	}
	fmt.Fprintf(w, "\n%d rounds; 1-min load average %s at start, %s at end (%s)\n\n", rounds, load0, load1, setup)
	fmt.Fprintf(w, "| figure | unit |")
	for _, n := range names {
		fmt.Fprintf(w, " %s |", n)
	}
	if hasNode {
		for _, n := range others {
			fmt.Fprintf(w, " %s/node (range) |", n)
		}
	}
	fmt.Fprintf(w, " target | met |\n|---|---|%s%s---|---|\n", strings.Repeat("---:|", len(names)), strings.Repeat("---|", len(others)*b2i(hasNode)))
	for _, m := range metrics {
		med := map[string]float64{}
		any := false
		for _, n := range names {
			med[n] = median(vals[n][m.key])
			any = any || !math.IsNaN(med[n])
		}
		if !any {
			continue
		}
		fmt.Fprintf(w, "| %s | %s |", m.label, m.unit)
		for _, n := range names {
			fmt.Fprintf(w, " %s |", num(med[n]))
		}
		goRatio := math.NaN()
		if hasNode {
			for _, n := range others {
				var ratios []float64
				for rd, om := range byRound[n] {
					o, ok1 := om[m.key]
					nv, ok2 := byRound["node"][rd][m.key]
					if ok1 && ok2 && nv != 0 {
						ratios = append(ratios, o/nv)
					}
				}
				ratio := median(ratios)
				if n == "go" {
					goRatio = ratio
				}
				if m.perServer || len(ratios) == 0 {
					fmt.Fprintf(w, " — |")
				} else {
					fmt.Fprintf(w, " **%.2fx** (%.2f–%.2f) |", ratio, slices.Min(ratios), slices.Max(ratios))
				}
			}
		}
		met := ""
		if m.ok != nil && slices.Contains(names, "go") && (hasNode || m.perServer) {
			if m.ok(med["go"], med["node"], goRatio) {
				met = "yes"
			} else {
				met = "**no**"
			}
		}
		fmt.Fprintf(w, " %s | %s |\n", m.target, met)
	}
	var notes []string
	for _, r := range recs {
		for _, n := range r.Notes {
			notes = append(notes, fmt.Sprintf("- round %d, %s, %s: %s", r.Round+1, r.Server, r.Scenario, n))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n%s\n", strings.Join(notes, "\n"))
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
