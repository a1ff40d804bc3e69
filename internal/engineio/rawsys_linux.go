package engineio

import (
	"syscall"
	"unsafe"
)

// readFD and writeFD are read(2) and write(2) on a non-blocking socket.
// They return at once (EAGAIN rather than wait), so they are made without
// telling the scheduler (syscall.RawSyscall): the bookkeeping syscall.Read
// and syscall.Write do for a call that might block costs more than it
// seems, since a goroutine writing a broadcast makes hundreds of calls in
// a row. Server CPU per paced delivery: 10.95 -> 9.60 µs (bench/README.md).
//
// Under the race detector they are syscall.Read and syscall.Write, which
// tell it that what a goroutine wrote before a write(2) happens before
// what another does after the read(2) of those bytes; tests (ours, and our
// users') rely on that.
func readFD(fd int, p []byte) (int, error) {
	if raceEnabled {
		return syscall.Read(fd, p)
	}
	return rawRW(syscall.SYS_READ, fd, p)
}

func writeFD(fd int, p []byte) (int, error) {
	if raceEnabled {
		return syscall.Write(fd, p)
	}
	return rawRW(syscall.SYS_WRITE, fd, p)
}

// rawRW makes the system call trap (read or write) on fd and p.
func rawRW(trap uintptr, fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, errno := syscall.RawSyscall(trap, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}
