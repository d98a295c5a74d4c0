package raftcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Node-to-node RPC over the cluster port (HTTP/1.1 inside mutual TLS).
const (
	pathApply  = "/v1/apply"
	pathStatus = "/v1/status"
	pathJoin   = "/v1/join"
	pathRemove = "/v1/remove"
	pathRead   = "/v1/read-index"
	pathSubmit = "/v1/submit"

	maxCommandBytes = 4 << 20
)

type joinRequest struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

type removeRequest struct {
	ID string `json:"id"`
}

type rpcError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (c *Cluster) rpcHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathApply, func(w http.ResponseWriter, r *http.Request) {
		cmd, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCommandBytes))
		if err != nil {
			writeRPC(w, http.StatusBadRequest, rpcError{Code: "bad_request", Message: err.Error()})
			return
		}
		if !c.IsLeader() {
			writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "not_leader"})
			return
		}
		resp, retry, err := c.applyLocal(r.Context(), cmd)
		switch {
		case retry:
			writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "not_leader"})
		case errors.Is(err, ErrAmbiguous):
			writeRPC(w, http.StatusConflict, rpcError{Code: "ambiguous"})
		case err != nil:
			writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "unavailable", Message: err.Error()})
		default:
			c.followerWaits(resp.Index) // the caller waits to apply it
			writeRPC(w, http.StatusOK, resp)
		}
	})
	// submit: a command from an operator tool holding a node certificate
	// (e.g. a CA rotation step); applied like a local write, gate included,
	// forwarded to the leader if need be.
	mux.HandleFunc("POST "+pathSubmit, func(w http.ResponseWriter, r *http.Request) {
		cmd, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCommandBytes))
		if err != nil {
			writeRPC(w, http.StatusBadRequest, rpcError{Code: "bad_request", Message: err.Error()})
			return
		}
		resp, err := c.Apply(r.Context(), cmd)
		switch {
		case errors.Is(err, ErrAmbiguous):
			writeRPC(w, http.StatusConflict, rpcError{Code: "ambiguous", Message: err.Error()})
		case err != nil:
			writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "unavailable", Message: err.Error()})
		default:
			writeRPC(w, http.StatusOK, resp)
		}
	})
	mux.HandleFunc("GET "+pathRead, func(w http.ResponseWriter, r *http.Request) {
		idx, err := c.leaderReadIndex(r.Context())
		if err != nil {
			writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "not_leader", Message: err.Error()})
			return
		}
		writeRPC(w, http.StatusOK, map[string]uint64{"index": idx})
	})
	mux.HandleFunc("GET "+pathStatus, func(w http.ResponseWriter, r *http.Request) {
		writeRPC(w, http.StatusOK, c.Status())
	})
	mux.HandleFunc("POST "+pathJoin, func(w http.ResponseWriter, r *http.Request) {
		var req joinRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.ID == "" || req.Address == "" {
			writeRPC(w, http.StatusBadRequest, rpcError{Code: "bad_request", Message: "id and address are required"})
			return
		}
		// A node may only add itself: the certificate names the node.
		peer, err := peerNodeID(*r.TLS)
		if err != nil || (peer != req.ID && !c.isMember(peer)) {
			writeRPC(w, http.StatusForbidden, rpcError{Code: "forbidden", Message: "certificate does not name this node"})
			return
		}
		c.leaderOp(w, r, pathJoin, req, func() error { return c.addVoter(req.ID, req.Address) })
	})
	mux.HandleFunc("POST "+pathRemove, func(w http.ResponseWriter, r *http.Request) {
		var req removeRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.ID == "" {
			writeRPC(w, http.StatusBadRequest, rpcError{Code: "bad_request", Message: "id is required"})
			return
		}
		c.leaderOp(w, r, pathRemove, req, func() error {
			if !c.isMember(req.ID) {
				return fmt.Errorf("%w: node %q is not a member", errNotMember, req.ID)
			}
			return c.raft.RemoveServer(raft.ServerID(req.ID), 0, 10*time.Second).Error()
		})
	})
	return mux
}

var errNotMember = errors.New("not a member")

func (c *Cluster) isMember(id string) bool {
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return true
		}
	}
	return false
}

// leaderOp runs op on the leader: here if this node leads, else forwarded once.
func (c *Cluster) leaderOp(w http.ResponseWriter, r *http.Request, path string, body any, op func() error) {
	if c.IsLeader() {
		if err := op(); err != nil {
			code := http.StatusServiceUnavailable
			if errors.Is(err, errNotMember) {
				code = http.StatusNotFound
			}
			writeRPC(w, code, rpcError{Code: "failed", Message: err.Error()})
			return
		}
		writeRPC(w, http.StatusOK, struct{}{})
		return
	}
	addr, _ := c.raft.LeaderWithID()
	if addr == "" || r.Header.Get("X-Forwarded-By") != "" {
		writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "no_leader", Message: "no leader known"})
		return
	}
	status, data, err := c.call(r.Context(), string(addr), path, body)
	if err != nil {
		writeRPC(w, http.StatusServiceUnavailable, rpcError{Code: "no_leader", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

func writeRPC(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// forward sends a command to the leader. retry reports the request was
// certainly not applied (never written, or refused by a non-leader).
func (c *Cluster) forward(ctx context.Context, addr string, cmd []byte) (Response, bool, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, "https://"+addr+pathApply, bytes.NewReader(cmd))
	if err != nil {
		return Response{}, false, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := c.client.Do(req)
	if err != nil {
		if !wrote.Load() {
			return Response{}, true, nil
		}
		return Response{}, false, ErrAmbiguous
	}
	defer drain(res.Body)
	switch res.StatusCode {
	case http.StatusOK:
		var resp Response
		if err := json.NewDecoder(res.Body).Decode(&resp); err != nil {
			return Response{}, false, ErrAmbiguous
		}
		return resp, false, nil
	case http.StatusServiceUnavailable:
		// Only "not the leader" proves the command was not written.
		var e rpcError
		_ = json.NewDecoder(res.Body).Decode(&e)
		if e.Code == "not_leader" {
			return Response{}, true, nil
		}
		return Response{}, false, ErrUnavailable
	case http.StatusConflict:
		return Response{}, false, ErrAmbiguous
	default:
		return Response{}, false, fmt.Errorf("raftcluster: leader answered %d", res.StatusCode)
	}
}

// call performs a JSON RPC to a node and returns the status and body.
func (c *Cluster) call(ctx context.Context, addr, path string, body any) (int, []byte, error) {
	return callNode(ctx, c.client, addr, path, body, true)
}

func callNode(ctx context.Context, client *http.Client, addr, path string, body any, forwarded bool) (int, []byte, error) {
	method := http.MethodGet
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte: // a command, sent as it is
		method, rd = http.MethodPost, bytes.NewReader(b)
	default:
		js, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		method, rd = http.MethodPost, bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if forwarded {
		req.Header.Set("X-Forwarded-By", "node")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, data, err
}

// Client talks to a node's cluster port with a node identity; it is what the
// operator CLI (status, remove) and a joining node use.
type Client struct {
	http *http.Client
}

// NewClient returns a cluster-port client presenting id's certificate.
func NewClient(id *Identity) *Client {
	d := &dialer{id: id}
	return &Client{http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.dial(ctx, addr, protoRPC)
		},
	}}}
}

func (cl *Client) do(ctx context.Context, addr, path string, body, out any) error {
	status, data, err := callNode(ctx, cl.http, addr, path, body, false)
	if err != nil {
		return fmt.Errorf("raftcluster: %s %s: %w", addr, path, err)
	}
	if status != http.StatusOK {
		var e rpcError
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("raftcluster: %s%s answered %d: %s %s", addr, path, status, e.Code, e.Message)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Status asks a node for its view of the cluster.
func (cl *Client) Status(ctx context.Context, addr string) (Status, error) {
	var s Status
	err := cl.do(ctx, addr, pathStatus, nil, &s)
	return s, err
}

// MemberAnswer is one member's status as it answered (Err set when it did
// not, within a few seconds).
type MemberAnswer struct {
	ID      string
	Address string
	Status  Status
	Err     error
}

// Members asks the node at addr for the configuration, then every member
// of it for its own status (up to 3 s each).
func (cl *Client) Members(ctx context.Context, addr string) (Status, []MemberAnswer, error) {
	st, err := cl.Status(ctx, addr)
	if err != nil {
		return st, nil, err
	}
	out := make([]MemberAnswer, 0, len(st.Nodes))
	for _, m := range st.Nodes {
		mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		ms, err := cl.Status(mctx, m.Address)
		cancel()
		out = append(out, MemberAnswer{ID: m.ID, Address: m.Address, Status: ms, Err: err})
	}
	return st, out, nil
}

// Join asks the cluster (via any member at addr) to add node id at raftAddr as a voter.
func (cl *Client) Join(ctx context.Context, addr, id, raftAddr string) error {
	return cl.do(ctx, addr, pathJoin, joinRequest{ID: id, Address: raftAddr}, nil)
}

// Submit has the node at addr apply cmd through the cluster (forwarded to
// the leader, gated like the node's own writes) and returns its response.
func (cl *Client) Submit(ctx context.Context, addr string, cmd []byte) (Response, error) {
	var resp Response
	err := cl.do(ctx, addr, pathSubmit, cmd, &resp)
	return resp, err
}

// Remove asks the cluster (via any member at addr) to remove node id.
func (cl *Client) Remove(ctx context.Context, addr, id string) error {
	return cl.do(ctx, addr, pathRemove, removeRequest{ID: id}, nil)
}
