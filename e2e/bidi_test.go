package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// A WebDriver BiDi client (https://w3c.github.io/webdriver-bidi/), the
// protocol Firefox speaks natively on --remote-debugging-port: JSON
// commands and their results over one WebSocket. Just what the browser
// tests need — navigate, evaluate a script, press keys — on a minimal
// WebSocket client (RFC 6455: client frames masked, text messages,
// fragments joined, pings answered), so no dependency is added for it.

// bidiConn is one WebDriver BiDi session's socket.
type bidiConn struct {
	conn   net.Conn
	r      *bufio.Reader
	wmu    sync.Mutex
	mu     sync.Mutex
	nextID int
	wait   map[int]chan bidiReply
	done   chan struct{}
	err    error
}

type bidiReply struct {
	Type    string          `json:"type"` // "success", "error" or "event"
	ID      int             `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// dialBiDi opens the WebSocket at wsURL (ws://HOST:PORT/session).
func dialBiDi(ctx context.Context, wsURL string) (*bidiConn, error) {
	u, err := url.Parse(wsURL)
	if err != nil || u.Scheme != "ws" {
		return nil, fmt.Errorf("bidi: %q is not a ws:// URL", wsURL)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("bidi: %w", err)
	}
	keyBytes := make([]byte, 16)
	rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bidi: handshake: %w", err)
	}
	r := bufio.NewReader(conn)
	res, err := http.ReadResponse(r, &http.Request{Method: "GET"})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bidi: handshake: %w", err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if res.StatusCode != http.StatusSwitchingProtocols || res.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("bidi: handshake refused: %s", res.Status)
	}
	conn.SetDeadline(time.Time{})
	c := &bidiConn{conn: conn, r: r, wait: map[int]chan bidiReply{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *bidiConn) Close() error { return c.conn.Close() }

// writeFrame sends one masked frame (fin set) with opcode op.
func (c *bidiConn) writeFrame(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	hdr := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	_, err := c.conn.Write(append(hdr, masked...))
	return err
}

// readMessage returns the next whole text message, answering pings.
func (c *bidiConn) readMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("bidi: a %d-byte frame", n)
		}
		var mask []byte
		if h[1]&0x80 != 0 {
			mask = make([]byte, 4)
			if _, err := io.ReadFull(c.r, mask); err != nil {
				return nil, err
			}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		if mask != nil {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8: // close
			return nil, io.EOF
		case 0x9: // ping
			if err := c.writeFrame(0xA, payload); err != nil {
				return nil, err
			}
			continue
		case 0xA: // pong
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

func (c *bidiConn) readLoop() {
	defer close(c.done)
	for {
		b, err := c.readMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		var rep bidiReply
		if json.Unmarshal(b, &rep) != nil || rep.Type == "event" {
			continue
		}
		c.mu.Lock()
		ch := c.wait[rep.ID]
		delete(c.wait, rep.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// call sends a command and decodes its result into out (nil: ignored).
func (c *bidiConn) call(ctx context.Context, method string, params any, out any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan bidiReply, 1)
	c.wait[id] = ch
	c.mu.Unlock()
	b, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	if err := c.writeFrame(0x1, b); err != nil {
		return fmt.Errorf("bidi: %s: %w", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Type == "error" {
			return fmt.Errorf("bidi: %s: %s: %s", method, rep.Error, rep.Message)
		}
		if out != nil {
			return json.Unmarshal(rep.Result, out)
		}
		return nil
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("bidi: %s: connection closed: %v", method, c.err)
	case <-ctx.Done():
		return fmt.Errorf("bidi: %s: %w", method, ctx.Err())
	}
}

// bidiPage is one browsing context (a tab) of a BiDi session.
type bidiPage struct {
	c       *bidiConn
	context string
}

// newBiDiPage starts a session that accepts the node's certificate (made
// by the cluster's own CA) and returns its first tab.
func newBiDiPage(ctx context.Context, c *bidiConn) (*bidiPage, error) {
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{"acceptInsecureCerts": true}}}
	if err := c.call(ctx, "session.new", caps, nil); err != nil {
		return nil, err
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := c.call(ctx, "browsingContext.getTree", map[string]any{}, &tree); err != nil {
		return nil, err
	}
	if len(tree.Contexts) == 0 {
		return nil, errors.New("bidi: the browser has no tab")
	}
	return &bidiPage{c: c, context: tree.Contexts[0].Context}, nil
}

func (p *bidiPage) navigate(ctx context.Context, url string) error {
	return p.c.call(ctx, "browsingContext.navigate", map[string]any{"context": p.context, "url": url, "wait": "complete"}, nil)
}

func (p *bidiPage) reload(ctx context.Context) error {
	return p.c.call(ctx, "browsingContext.reload", map[string]any{"context": p.context, "wait": "complete"}, nil)
}

// eval evaluates a JavaScript expression (promises awaited) in the page
// and returns its value as JSON-decoded Go value (string, float64, bool,
// nil); an exception is an error.
func (p *bidiPage) eval(ctx context.Context, expr string) (any, error) {
	var res struct {
		Type             string `json:"type"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
		Result struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"result"`
	}
	params := map[string]any{"expression": expr, "target": map[string]any{"context": p.context}, "awaitPromise": true}
	if err := p.c.call(ctx, "script.evaluate", params, &res); err != nil {
		return nil, err
	}
	if res.Type == "exception" {
		text := ""
		if res.ExceptionDetails != nil {
			text = res.ExceptionDetails.Text
		}
		return nil, fmt.Errorf("script threw: %s", text)
	}
	return res.Result.Value, nil
}

// evalString evaluates expr and returns its value as a string.
func (p *bidiPage) evalString(ctx context.Context, expr string) (string, error) {
	v, err := p.eval(ctx, expr)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok && v != nil {
		return "", fmt.Errorf("script returned %T (%v), not a string", v, v)
	}
	return s, nil
}

// waitTrue polls expr (a boolean JavaScript expression) until it is true.
func (p *bidiPage) waitTrue(ctx context.Context, expr string) error {
	for {
		v, err := p.eval(ctx, "!!("+expr+")")
		if err != nil {
			return err
		}
		if v == true {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// typeInto focuses the element with the CSS selector sel and types text
// with real key events (input.performActions), as a user would.
func (p *bidiPage) typeInto(ctx context.Context, sel, text string) error {
	if _, err := p.eval(ctx, `document.querySelector(`+jsString(sel)+`).focus()`); err != nil {
		return err
	}
	var actions []map[string]any
	for _, r := range text {
		actions = append(actions, map[string]any{"type": "keyDown", "value": string(r)}, map[string]any{"type": "keyUp", "value": string(r)})
	}
	return p.keys(ctx, actions)
}

// pressKey sends one key (a WebDriver key code such as "\uE004" for Tab).
func (p *bidiPage) pressKey(ctx context.Context, key string) error {
	return p.keys(ctx, []map[string]any{{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}})
}

func (p *bidiPage) keys(ctx context.Context, actions []map[string]any) error {
	params := map[string]any{"context": p.context, "actions": []map[string]any{{"type": "key", "id": "keyboard", "actions": actions}}}
	return p.c.call(ctx, "input.performActions", params, nil)
}

// click clicks the element with the CSS selector sel with the pointer, at
// its centre (input.performActions), after scrolling it into view.
func (p *bidiPage) click(ctx context.Context, sel string) error {
	v, err := p.eval(ctx, `(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return "";
		e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
		return Math.round(r.left + r.width / 2) + "," + Math.round(r.top + r.height / 2) })()`)
	if err != nil {
		return err
	}
	at, _ := v.(string)
	x, y, ok := strings.Cut(at, ",")
	if !ok {
		return fmt.Errorf("click: no element %s", sel)
	}
	var xi, yi int
	fmt.Sscan(x, &xi)
	fmt.Sscan(y, &yi)
	params := map[string]any{"context": p.context, "actions": []map[string]any{{"type": "pointer", "id": "mouse",
		"parameters": map[string]any{"pointerType": "mouse"},
		"actions": []map[string]any{
			{"type": "pointerMove", "x": xi, "y": yi, "origin": "viewport"},
			{"type": "pointerDown", "button": 0},
			{"type": "pointerUp", "button": 0},
		}}}}
	return p.c.call(ctx, "input.performActions", params, nil)
}

// setViewport sets the tab's viewport size in CSS pixels.
func (p *bidiPage) setViewport(ctx context.Context, w, h int) error {
	return p.c.call(ctx, "browsingContext.setViewport", map[string]any{"context": p.context,
		"viewport": map[string]any{"width": w, "height": h}}, nil)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
