package main

import (
	"runtime"
	"testing"
)

func TestSetProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")

	runtime.GOMAXPROCS(4)
	setProcs(-1)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("-procs -1 with 4 Ps: GOMAXPROCS %d, want 3 (one CPU left to the load generator)", got)
	}
	runtime.GOMAXPROCS(1)
	setProcs(-1)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("-procs -1 with 1 P: GOMAXPROCS %d, want 1", got)
	}
	runtime.GOMAXPROCS(2)
	setProcs(0)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("-procs 0: GOMAXPROCS %d, want the runtime's 2 kept", got)
	}
	setProcs(3)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("-procs 3: GOMAXPROCS %d, want 3", got)
	}

	t.Setenv("GOMAXPROCS", "2")
	runtime.GOMAXPROCS(2)
	setProcs(-1)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("$GOMAXPROCS=2 and -procs -1: GOMAXPROCS %d, want $GOMAXPROCS kept", got)
	}
}
