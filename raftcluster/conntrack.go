package raftcluster

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
)

// Connections on the cluster port outlive the trust they were opened
// under: a peer certificate is checked at the handshake only. So the
// identity keeps the connections open now (both directions, Raft and RPC),
// each with the use its peer's certificate was verified for, and SetTrust
// closes those whose peer certificate the new trust no longer accepts
// (the finish of a CA rotation: a connection made with a certificate from
// the old CA — a member's from before the switch, or anyone's made with a
// leaked key — does not survive it; members simply reconnect).
type liveConns struct {
	mu sync.Mutex
	m  map[*tls.Conn]x509.ExtKeyUsage
}

func (l *liveConns) add(c *tls.Conn, usage x509.ExtKeyUsage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[*tls.Conn]x509.ExtKeyUsage{}
	}
	l.m[c] = usage
}

func (l *liveConns) remove(c *tls.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, c)
}

func (l *liveConns) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// trackedConn is a cluster-port connection the identity keeps until it is
// closed.
type trackedConn struct {
	*tls.Conn
	live *liveConns
}

func (c *trackedConn) Close() error {
	c.live.remove(c.Conn)
	return c.Conn.Close()
}

// track records an established connection; closing the returned conn
// forgets it. usage is what the peer's certificate was verified for
// (ExtKeyUsageClientAuth on the server side, ServerAuth on the client's).
func (id *Identity) track(c *tls.Conn, usage x509.ExtKeyUsage) net.Conn {
	id.live.add(c, usage)
	return &trackedConn{Conn: c, live: &id.live}
}

// dropUntrusted closes the connections whose peer certificate the current
// trust no longer accepts, and returns how many it closed.
func (id *Identity) dropUntrusted() int {
	id.live.mu.Lock()
	var stale []*tls.Conn
	for c, usage := range id.live.m {
		if id.verifyPeer(c.ConnectionState(), usage) != nil {
			stale = append(stale, c)
			delete(id.live.m, c)
		}
	}
	id.live.mu.Unlock()
	for _, c := range stale {
		c.Close()
	}
	return len(stale)
}
