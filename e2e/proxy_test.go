package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// A partitionable network for nodes on loopback. Each node's cluster port
// (Raft and node-to-node RPC over one mutual-TLS port) gets a TCP proxy in
// the test process; the node advertises the proxy's address, so every
// connection another node opens to it passes through the proxy. The proxy
// cannot read the TLS stream, so it learns which node dialled from the
// kernel: the connection's client socket belongs to one of the node
// processes (found through /proc/net/tcp and /proc/PID/fd). Cutting the link
// src→dst closes the proxied connections src opened to dst and refuses new
// ones; cutting both directions of every link of a node isolates it.
// Connections from other processes (the `cluster status` CLI) always pass.

type link struct{ src, dst string }

// netem is the set of proxies and the links currently cut.
type netem struct {
	t       testing.TB
	c       *cluster
	mu      sync.Mutex
	cut     map[link]bool
	proxies map[string]*raftProxy // by destination node id
}

type raftProxy struct {
	net    *netem
	dst    string // node id behind the proxy
	target string // the node's real cluster address
	ln     net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]string // client side conn -> source node id ("" unknown)
}

// requireProcNet skips the test where the kernel's socket tables are not
// readable (the proxy needs them to tell which node dialled).
func requireProcNet(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skipf("/proc/net/tcp not available (%v): the loopback partition proxy needs Linux's socket tables", err)
	}
}

// newNetem puts a proxy in front of every node of c (which must not be
// started yet) and makes each node advertise its proxy.
func newNetem(t *testing.T, c *cluster) *netem {
	t.Helper()
	ne := &netem{t: t, c: c, cut: map[link]bool{}, proxies: map[string]*raftProxy{}}
	for _, n := range c.nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := &raftProxy{net: ne, dst: n.id, target: n.raftAddr, ln: ln, conns: map[net.Conn]string{}}
		ne.proxies[n.id] = p
		n.advRaft = ln.Addr().String()
		p.wg.Add(1)
		go p.serve()
	}
	t.Cleanup(ne.close)
	return ne
}

func (ne *netem) close() {
	for _, p := range ne.proxies {
		p.ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	}
}

func (ne *netem) isCut(l link) bool {
	ne.mu.Lock()
	defer ne.mu.Unlock()
	return ne.cut[l]
}

// isolate cuts every link to and from n and closes the connections that
// crossed them.
func (ne *netem) isolate(n *node) {
	ne.mu.Lock()
	for _, o := range ne.c.others(n) {
		ne.cut[link{n.id, o.id}] = true
		ne.cut[link{o.id, n.id}] = true
	}
	ne.mu.Unlock()
	for _, p := range ne.proxies {
		p.dropCut()
	}
}

// heal restores every link.
func (ne *netem) heal() {
	ne.mu.Lock()
	ne.cut = map[link]bool{}
	ne.mu.Unlock()
}

// pids maps the running node processes' pids to node ids. It reads the
// env's process list (under its lock), not the nodes, which the test
// goroutine updates on restarts.
func (ne *netem) pids() map[int]string {
	ne.c.env.mu.Lock()
	procs := append([]*proc(nil), ne.c.env.procs...)
	ne.c.env.mu.Unlock()
	out := map[int]string{}
	for _, p := range procs {
		id, _, _ := strings.Cut(p.name, ".")
		if !p.exited() && ne.c.byID(id) != nil {
			out[p.cmd.Process.Pid] = id
		}
	}
	return out
}

func (p *raftProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *raftProxy) handle(c net.Conn) {
	src := sourceNode(c, p.net.pids())
	if src != "" && p.net.isCut(link{src, p.dst}) {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c] = src
	p.conns[up] = src
	p.mu.Unlock()
	// Cut between the check and registration: drop it now.
	if src != "" && p.net.isCut(link{src, p.dst}) {
		c.Close()
		up.Close()
	}
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	go pipe(up, c)
	go pipe(c, up)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// dropCut closes the proxied connections whose link is cut.
func (p *raftProxy) dropCut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, src := range p.conns {
		if src != "" && p.net.isCut(link{src, p.dst}) {
			c.Close()
		}
	}
}

// sourceNode finds which process in pids owns the client end of the
// accepted loopback connection c; "" if none of them does.
func sourceNode(c net.Conn, pids map[int]string) string {
	remote, ok := c.RemoteAddr().(*net.TCPAddr)
	local, ok2 := c.LocalAddr().(*net.TCPAddr)
	if !ok || !ok2 {
		return ""
	}
	inode := socketInode(remote.Port, local.Port)
	if inode == "" {
		return ""
	}
	want := "socket:[" + inode + "]"
	for pid, id := range pids {
		fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		ents, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if l, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil && l == want {
				return id
			}
		}
	}
	return ""
}

// socketInode returns the inode of the TCP socket whose local port is
// clientPort and remote port is serverPort, from /proc/net/tcp{,6}.
func socketInode(clientPort, serverPort int) string {
	lp, rp := fmt.Sprintf(":%04X", clientPort), fmt.Sprintf(":%04X", serverPort)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			if strings.HasSuffix(fs[1], lp) && strings.HasSuffix(fs[2], rp) {
				fh.Close()
				return fs[9]
			}
		}
		fh.Close()
	}
	return ""
}

// checkAttribution fails the test unless the proxies attributed a
// connection to every link from leader to the other nodes: the proxy's
// premise (a connection it cannot attribute cannot be cut, and a partition
// built on it would prove nothing).
func (ne *netem) checkAttribution(t *testing.T, leader *node) {
	t.Helper()
	seen := map[link]bool{}
	unknown := 0
	for _, p := range ne.proxies {
		p.mu.Lock()
		for _, src := range p.conns {
			switch {
			case src == "":
				unknown++
			case src == p.dst:
				t.Errorf("a connection to %s was attributed to %s itself", p.dst, src)
			default:
				seen[link{src, p.dst}] = true
			}
		}
		p.mu.Unlock()
	}
	for _, o := range ne.c.others(leader) {
		if !seen[link{leader.id, o.id}] {
			t.Fatalf("no proxied connection attributed to link %s→%s (leader to follower); seen %v, %d unattributed", leader.id, o.id, seen, unknown)
		}
	}
	t.Logf("links seen through the proxies: %v (%d unattributed connections, e.g. the status CLI)", seen, unknown)
}
