package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// span is how many ports below the ephemeral range are drawn from.
const span = 12000

// rangeFile is where Linux publishes the ephemeral range.
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// Addr returns "127.0.0.1:PORT" for a port that was free when probed and
// lies below the ephemeral range. Without a readable range (not Linux) it
// falls back to a kernel-chosen port.
func Addr() (string, error) { return addrBelow(rangeFile, span) }

// Addrs returns n distinct addresses as Addr does: each is held while the
// next is drawn, so a node's HTTP and Raft ports never coincide.
func Addrs(n int) ([]string, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	out := make([]string, 0, n)
	for len(out) < n {
		a, err := Addr()
		if err != nil {
			return nil, err
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			continue // taken since the probe: draw another
		}
		held = append(held, l)
		out = append(out, a)
	}
	return out, nil
}

// addrBelow draws from the span ports below the range file's first port.
func addrBelow(file string, span int) (string, error) {
	lo, ok := ephemeralLow(file)
	if !ok || lo <= 1024+span {
		return kernelPort()
	}
	for range 100 {
		port := lo - 1 - rand.IntN(span)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // in use: draw another
		}
		ln.Close()
		return addr, nil
	}
	return "", fmt.Errorf("freeport: no free port below %d after 100 tries", lo)
}

// ephemeralLow reads the first port of the kernel's ephemeral range.
func ephemeralLow(file string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= 0 {
		return 0, false
	}
	return lo, true
}

func kernelPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
