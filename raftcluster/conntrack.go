package raftcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Connections on the cluster port outlive the trust they were opened
// under: a peer certificate is checked at the handshake only. So the
// identity keeps the connections open now (both directions, Raft and RPC),
// each with the use its peer's certificate was verified for, and SetTrust
// ends those whose peer certificate the new trust no longer accepts (the
// finish of a CA rotation: a connection made with a certificate from the
// old CA — a member's from before the switch, or anyone's made with a
// leaked key — does not survive it; members simply reconnect).
//
// Ending one must not fail a request in flight (a write forwarded to the
// leader would come back "could not be confirmed"), so each kind ends at
// a moment nothing is lost:
//   - an RPC connection this node serves answers its next request with
//     "Connection: close" and is closed after it (the client does not
//     reuse it), or — if no request comes, as a client that applied the
//     same change no longer sends on it — closed after doomedRPCGrace.
//     (Closing an idle one at once would race a client that has not
//     applied the change yet: a request it is sending would be lost, and
//     the HTTP client does not retry a POST it has written);
//   - a connection this node opened (Raft or RPC, from its pools) fails
//     the first write of its next message — a write after a read, as a
//     request follows the previous answer — before sending a byte, and
//     closes: the HTTP client retries such a request on a new connection,
//     Raft its message. A message being written when the trust changed is
//     written to the end;
//   - a Raft connection this node serves is closed at once: the sender's
//     Raft library retries what it was sending.
type liveConns struct {
	mu sync.Mutex
	m  map[*tls.Conn]*liveConn
	// anyDoomed: some connection was ever marked (a trust change refused
	// a peer); until then answers skip the check (the chat's forwarded
	// writes are RPC requests).
	anyDoomed atomic.Bool
}

type connKind int

const (
	servedRaft connKind = iota // accepted on the cluster port, Raft
	servedRPC                  // accepted on the cluster port, RPC (tracked by ConnState)
	dialled                    // opened by this node (Raft or RPC)
)

type liveConn struct {
	usage  x509.ExtKeyUsage // what the peer's certificate was verified for
	kind   connKind
	idle   bool         // servedRPC: between requests
	doomed atomic.Bool  // ends at its next safe moment
	conn   *trackedConn // dialled and servedRaft: the wrapper handed out
}

func (l *liveConns) add(c *tls.Conn, lc *liveConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[*tls.Conn]*liveConn{}
	}
	l.m[c] = lc
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

// errUntrustedPeer ends a dialled connection whose peer is no longer
// trusted, before anything is written on it.
var errUntrustedPeer = errors.New("raftcluster: the peer's certificate is no longer trusted; reconnect")

// trackedConn is a cluster-port connection the identity keeps until it is
// closed.
type trackedConn struct {
	*tls.Conn
	live  *liveConns
	state *liveConn
	// writing: the last operation was a write (a message is being sent);
	// a read ends it.
	writing atomic.Bool
}

func (c *trackedConn) Write(b []byte) (int, error) {
	if c.state.doomed.Load() && !c.writing.Load() {
		c.Close()
		return 0, errUntrustedPeer
	}
	c.writing.Store(true)
	return c.Conn.Write(b)
}

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.writing.Store(false)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.live.remove(c.Conn)
	return c.Conn.Close()
}

// track records an established connection (a dialled one, or a Raft
// connection this node serves); closing the returned conn forgets it.
func (id *Identity) track(c *tls.Conn, usage x509.ExtKeyUsage, kind connKind) net.Conn {
	lc := &liveConn{usage: usage, kind: kind}
	lc.conn = &trackedConn{Conn: c, live: &id.live, state: lc}
	id.live.add(c, lc)
	return lc.conn
}

// doomedRPCGrace: how long a served RPC connection whose client is no
// longer trusted may stay open without a request (every member applies a
// trust change within moments of the others).
const doomedRPCGrace = 10 * time.Second

// trackRPC is the RPC server's http.Server.ConnState: the server needs the
// *tls.Conn itself (for the peer's certificate), so its connections are
// tracked by their state instead of a wrapper.
func (id *Identity) trackRPC(c net.Conn, state http.ConnState) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return
	}
	l := &id.live
	switch state {
	case http.StateNew:
		l.add(tc, &liveConn{usage: x509.ExtKeyUsageClientAuth, kind: servedRPC})
	case http.StateActive, http.StateIdle:
		l.mu.Lock()
		if lc := l.m[tc]; lc != nil {
			lc.idle = state == http.StateIdle
		}
		l.mu.Unlock()
	case http.StateClosed, http.StateHijacked:
		l.remove(tc)
	}
}

type connCtxKey struct{}

// rpcConnContext is the RPC server's http.Server.ConnContext: requests
// carry their connection, so closeIfUntrusted can find it.
func rpcConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connCtxKey{}, c)
}

// closeIfUntrusted answers a request on a connection whose client is no
// longer trusted — checked when the answer starts, so a change during the
// request counts — with "Connection: close": the server closes it after
// the answer and the client does not send on it again.
func (id *Identity) closeIfUntrusted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !id.live.anyDoomed.Load() {
			h.ServeHTTP(w, r) // (a connection marked during this request closes once idle: closeIfIdle)
			return
		}
		tc, _ := r.Context().Value(connCtxKey{}).(*tls.Conn)
		h.ServeHTTP(&closingWriter{ResponseWriter: w, untrusted: func() bool {
			id.live.mu.Lock()
			lc := id.live.m[tc]
			id.live.mu.Unlock()
			return lc != nil && lc.doomed.Load()
		}}, r)
	})
}

// closingWriter adds "Connection: close" to an answer whose connection's
// client is no longer trusted.
type closingWriter struct {
	http.ResponseWriter
	untrusted func() bool
	started   bool
}

func (w *closingWriter) WriteHeader(code int) {
	if !w.started {
		w.started = true
		if w.untrusted() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *closingWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// dropUntrusted ends the connections whose peer certificate the current
// trust no longer accepts (each kind at its safe moment, above), and
// returns how many it marked or closed.
func (id *Identity) dropUntrusted() int {
	l := &id.live
	l.mu.Lock()
	var now []*tls.Conn
	n := 0
	for c, lc := range l.m {
		if lc.doomed.Load() || id.verifyPeer(c.ConnectionState(), lc.usage) == nil {
			continue
		}
		n++
		lc.doomed.Store(true)
		l.anyDoomed.Store(true)
		switch lc.kind {
		case servedRaft:
			now = append(now, c)
			delete(l.m, c)
		case servedRPC:
			grace := id.rpcGrace
			if grace == 0 {
				grace = doomedRPCGrace
			}
			time.AfterFunc(grace, func() { id.closeIfIdle(c) })
		}
	}
	l.mu.Unlock()
	for _, c := range now {
		c.Close()
	}
	return n
}

// closeIfIdle closes a served RPC connection that is still open and idle
// (doomedRPCGrace after its client stopped being trusted).
func (id *Identity) closeIfIdle(c *tls.Conn) {
	l := &id.live
	l.mu.Lock()
	lc := l.m[c]
	idle := lc != nil && lc.idle
	if idle {
		delete(l.m, c)
	}
	l.mu.Unlock()
	if idle {
		c.Close()
	}
}
