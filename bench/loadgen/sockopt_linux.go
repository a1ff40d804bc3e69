package loadgen

import "syscall"

// sockopts returns the net.Dialer Control that sets o's socket options.
func sockopts(o DialOptions) func(_, _ string, rc syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if o.RecvBuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.RecvBuf)
			}
			if o.MSS > 0 && serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, o.MSS)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}
