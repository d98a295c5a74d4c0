package freeport

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot bind the port returned: %v", err)
	}
	ln.Close()
	return n
}

// Ports are bindable, below the ephemeral range, and not all the same.
func TestAddr(t *testing.T) {
	lo, ok := ephemeralLow(rangeFile)
	seen := map[int]bool{}
	for range 20 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		p := port(t, addr)
		if ok && lo > 1024+span && (p >= lo || p < lo-span) {
			t.Fatalf("port %d outside [%d, %d)", p, lo-span, lo)
		}
		seen[p] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct ports in 20 draws", len(seen))
	}
}

// The range comes from the file; without a usable one the kernel picks.
func TestAddrRangeFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ranged := write("range", "45000\t60999\n")
	for range 10 {
		addr, err := addrBelow(ranged, span)
		if err != nil {
			t.Fatal(err)
		}
		if p := port(t, addr); p >= 45000 || p < 45000-span {
			t.Fatalf("port %d outside [%d, 45000)", p, 45000-span)
		}
	}
	for name, file := range map[string]string{
		"missing file":     filepath.Join(dir, "none"),
		"garbage":          write("garbage", "ports: many"),
		"range starts low": write("low", "2000 60999"),
	} {
		if _, ok := ephemeralLow(file); ok && name != "range starts low" {
			t.Errorf("%s: read a range", name)
		}
		addr, err := addrBelow(file, span)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		port(t, addr) // a kernel-chosen port, bindable
	}
}

// With every port of the span taken, it says so instead of looping.
func TestAddrExhausted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	file := filepath.Join(t.TempDir(), "range")
	// A range starting right above the taken port, drawing one port: that one.
	if err := os.WriteFile(file, []byte(strconv.Itoa(taken+1)+" 65000"), 0o600); err != nil {
		t.Fatal(err)
	}
	if taken+1 <= 1024+1 {
		t.Skip("the kernel gave a port too low for this check")
	}
	if addr, err := addrBelow(file, 1); err == nil {
		t.Fatalf("got %s while the only port in the span is taken", addr)
	}
}

func TestAddrs(t *testing.T) {
	for range 20 {
		a, err := Addrs(3)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 3 || a[0] == a[1] || a[1] == a[2] || a[0] == a[2] {
			t.Fatalf("addresses %v", a)
		}
		for _, x := range a {
			port(t, x)
		}
	}
}

// Hold keeps a port from a listener (a prober's or a node's) until
// released, refuses connections meanwhile, and gives it back.
func TestHold(t *testing.T) {
	addr, err := Addr()
	if err != nil {
		t.Fatal(err)
	}
	release, err := Hold(addr)
	if err != nil {
		t.Fatal(err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatal("a listener bound a held port")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a connection to a held port was accepted")
	}
	release()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the released port: %v", err)
	}
	ln.Close()
	for _, bad := range []string{"not an address", "[::1]:8443", "127.0.0.1"} {
		if _, err := Hold(bad); err == nil {
			t.Fatalf("Hold accepted %q", bad)
		}
	}
	// A port someone listens on cannot be held: the error says so, and
	// the listener keeps it.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, err := Hold(taken.Addr().String()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Hold of a port in use: %v, want address already in use", err)
	}
	if c, err := net.Dial("tcp", taken.Addr().String()); err != nil {
		t.Fatalf("the listener lost its port: %v", err)
	} else {
		c.Close()
	}
}
