package durable

import (
	"os"
	"syscall"
)

// setDirect turns direct I/O on or off for f and reports whether it is on.
func setDirect(f *os.File, on bool) bool {
	fd := int(f.Fd())
	flags, err := fcntl(fd, syscall.F_GETFL, 0)
	if err != nil {
		return false
	}
	if on {
		flags |= syscall.O_DIRECT
	} else {
		flags &^= syscall.O_DIRECT
	}
	if _, err := fcntl(fd, syscall.F_SETFL, flags); err != nil {
		return false
	}
	return on
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
