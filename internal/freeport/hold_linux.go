package freeport

import (
	"fmt"
	"net/netip"
	"syscall"
)

// Hold keeps addr (a loopback "IP:PORT") from being bound by anyone else
// — another test process probing for a free port — while a node that owns
// it is stopped, and release gives it back just before the node binds it
// again. It binds a socket without SO_REUSEADDR and does not listen:
// connections to the port are refused, as to a stopped node's.
func Hold(addr string) (release func(), err error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("freeport: hold %q: not an IPv4 address and port", addr)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("freeport: hold %s: %w", addr, err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("freeport: hold %s: %w", addr, err)
	}
	return func() { syscall.Close(fd) }, nil
}
