package raftcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Protocol bytes sent by the dialer right after the TLS handshake.
const (
	protoRaft byte = 'R'
	protoRPC  byte = 'F'
)

const handshakeTimeout = 10 * time.Second

// mux accepts TLS connections on the cluster port and routes them by their first byte.
type mux struct {
	id     *Identity
	ln     net.Listener
	raft   *chanListener
	rpc    *chanListener
	log    *slog.Logger
	wg     sync.WaitGroup
	closed chan struct{}
}

func newMux(addr string, id *Identity, log *slog.Logger) (*mux, error) {
	ln, err := tls.Listen("tcp", addr, id.ServerTLS())
	if err != nil {
		return nil, fmt.Errorf("raftcluster: listen %s: %w", addr, err)
	}
	m := &mux{
		id:     id,
		ln:     ln,
		raft:   newChanListener(ln.Addr()),
		rpc:    newChanListener(ln.Addr()),
		log:    log,
		closed: make(chan struct{}),
	}
	m.wg.Add(1)
	go m.serve()
	return m, nil
}

func (m *mux) serve() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.log.Warn("cluster port accept failed", "err", err)
			return
		}
		go m.route(c)
	}
}

func (m *mux) route(c net.Conn) {
	tc := c.(*tls.Conn)
	_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		m.log.Debug("cluster port handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	var b [1]byte
	if _, err := io.ReadFull(tc, b[:]); err != nil {
		c.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	switch b[0] {
	case protoRaft:
		m.raft.push(m.id.track(tc, x509.ExtKeyUsageClientAuth, servedRaft))
	case protoRPC:
		m.rpc.push(tc) // the RPC server tracks it (trackRPC): it needs the *tls.Conn itself
	default:
		c.Close()
	}
}

func (m *mux) Close() error {
	close(m.closed)
	err := m.ln.Close()
	m.raft.Close()
	m.rpc.Close()
	m.wg.Wait()
	return err
}

// chanListener is a net.Listener fed by the mux.
type chanListener struct {
	addr  net.Addr
	ch    chan net.Conn
	once  sync.Once
	close chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), close: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.close:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.close:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.close) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// streamLayer adapts the mux to raft.StreamLayer.
type streamLayer struct {
	*chanListener
	advertise net.Addr
	dial      func(ctx context.Context, addr string, proto byte) (net.Conn, error)
}

func (s *streamLayer) Addr() net.Addr { return s.advertise }

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.dial(ctx, string(addr), protoRaft)
}

// dialer opens cluster-port connections with this node's identity.
type dialer struct {
	id       *Identity
	expectID func(addr string) string // node ID expected at an address ("" = any node)
}

func (d *dialer) dial(ctx context.Context, addr string, proto byte) (net.Conn, error) {
	nd := &net.Dialer{Timeout: handshakeTimeout, KeepAlive: 15 * time.Second}
	raw, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	expect := ""
	if d.expectID != nil {
		expect = d.expectID(addr)
	}
	tc := tls.Client(raw, d.id.ClientTLS(expect))
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("raftcluster: TLS to %s: %w", addr, err)
	}
	if _, err := tc.Write([]byte{proto}); err != nil {
		tc.Close()
		return nil, err
	}
	return d.id.track(tc, x509.ExtKeyUsageServerAuth, dialled), nil
}

type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }
