package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Ports are bindable, below the ephemeral range, and not all the same.
func TestAddr(t *testing.T) {
	lo, ok := ephemeralLow()
	seen := map[string]bool{}
	for range 20 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if ok && lo > 1024+span && (port >= lo || port < lo-span) {
			t.Fatalf("port %d outside [%d, %d)", port, lo-span, lo)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("cannot bind the port returned: %v", err)
		}
		ln.Close()
		seen[addr] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct ports in 20 draws", len(seen))
	}
	if _, err := kernelPort(); err != nil {
		t.Fatal(err)
	}
}
