package engineio

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawRW reads and writes a non-blocking socket as syscall.Read and
// syscall.Write do: counts, EAGAIN when there is nothing, errors.
func TestRawRW(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	require.NoError(t, err)
	a, b := fds[0], fds[1]
	defer syscall.Close(b)

	buf := make([]byte, 16)
	n, err := rawRW(syscall.SYS_READ, a, buf)
	require.Equal(t, syscall.EAGAIN, err)
	require.Equal(t, -1, n)

	n, err = rawRW(syscall.SYS_WRITE, b, []byte("hello"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = rawRW(syscall.SYS_WRITE, b, nil)
	require.NoError(t, err)
	require.Zero(t, n)

	n, err = rawRW(syscall.SYS_READ, a, buf)
	require.NoError(t, err)
	require.Equal(t, "hello", string(buf[:n]))

	syscall.Close(a)
	_, err = rawRW(syscall.SYS_WRITE, a, []byte("x"))
	require.Equal(t, syscall.EBADF, err)
	n, err = rawRW(syscall.SYS_READ, b, buf)
	require.NoError(t, err)
	require.Zero(t, n, "the peer closed: end of file")
}
