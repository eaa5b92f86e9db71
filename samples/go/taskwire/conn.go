package taskwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// cancelGrace bounds the wait for the manager's answer to a cancelled blocking request.
// The manager answers at once; the bound only matters for a peer that has stopped
// answering.
const cancelGrace = 5 * time.Second

// blocking lists the methods that may wait on the manager and can be withdrawn with
// $/cancelRequest (spec §6.2).
var blocking = map[string]bool{"queue/get": true, "queue/put": true, "queue/join": true}

// Client is an authenticated connection to a manager. It is safe for concurrent use.
type Client struct {
	conn net.Conn
	addr string

	writeMu sync.Mutex // one frame at a time, each in one Write
	lastID  atomic.Int64

	mu       sync.Mutex
	pending  map[int64]*pendingCall
	subs     map[string]*subscription
	closeErr error // set once the connection is closed, for good
	frameErr error // the last error the manager answered to a frame rather than a request

	readerDone chan struct{}

	// Set by the handshake and read-only afterwards.
	sessionID       string
	protocolVersion string
	limits          Limits
	capabilities    Capabilities
}

// pendingCall is a request waiting for its answer.
type pendingCall struct {
	done chan response // buffered: the reader never waits for the caller
	// onResult, when set, runs on the reader goroutine before any later frame is read, so
	// that a subscription is registered before its first event arrives.
	onResult func(json.RawMessage)
}

type response struct {
	result json.RawMessage
	err    error
}

func newClient(conn net.Conn, addr string) *Client {
	c := &Client{
		conn:       conn,
		addr:       addr,
		pending:    map[int64]*pendingCall{},
		subs:       map[string]*subscription{},
		readerDone: make(chan struct{}),
	}
	go c.readLoop()
	return c
}

// Call sends any request of the protocol and decodes its result into result (which may
// be nil). It is the way to methods this package does not wrap, such as queue/declare.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	return c.call(ctx, method, params, result, nil)
}

func (c *Client) call(ctx context.Context, method string, params, result any, onResult func(json.RawMessage)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if params == nil {
		params = emptyParams{}
	}
	id := c.lastID.Add(1)
	frame, err := json.Marshal(outgoingRequest{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("taskwire: encode the params of %s: %w", method, err)
	}
	call := &pendingCall{done: make(chan response, 1), onResult: onResult}
	c.mu.Lock()
	if c.closeErr != nil {
		c.mu.Unlock()
		return c.closeErr
	}
	c.pending[id] = call
	c.mu.Unlock()

	if err := c.write(frame); err != nil {
		c.forget(id)
		return err
	}
	select {
	case r := <-call.done:
		return decodeResponse(r, result)
	case <-ctx.Done():
	}

	if !blocking[method] {
		// The manager will answer anyway and may apply the request; stop waiting for it,
		// unless the answer is already on its way.
		if c.forget(id) {
			return ctx.Err()
		}
		return decodeResponse(<-call.done, result)
	}

	// Withdraw the request on the manager, so that a cancelled get cannot lease a task
	// nobody will work on. The manager then answers exactly once: -32800, or the result
	// if the request completed before the cancellation arrived.
	_ = c.notify("$/cancelRequest", map[string]int64{"id": id})
	timer := time.NewTimer(cancelGrace)
	defer timer.Stop()
	select {
	case r := <-call.done:
		if r.err != nil {
			return ctx.Err()
		}
		// The request took effect (tasks leased, tasks put): report it rather than lose it.
		return decodeResponse(r, result)
	case <-timer.C:
		c.forget(id)
		return ctx.Err()
	}
}

// notify sends a notification; no answer comes.
func (c *Client) notify(method string, params any) error {
	frame, err := json.Marshal(outgoingNotification{JSONRPC: "2.0", Method: method, Params: params})
	if err != nil {
		return err
	}
	return c.write(frame)
}

// write sends one frame in one Write call (spec §2.1: a frame split over two writes
// stalls on Nagle's algorithm and delayed acknowledgements).
func (c *Client) write(frame []byte) error {
	frame = append(frame, '\n')
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.conn.Write(frame); err != nil {
		// A frame written in part would garble every later one: the connection is done.
		c.conn.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closeErr != nil {
			return c.closeErr
		}
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil
}

// forget drops a pending call; false when the reader already took it to deliver an answer.
func (c *Client) forget(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[id]
	delete(c.pending, id)
	return ok
}

func decodeResponse(r response, result any) error {
	if r.err != nil {
		return r.err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(r.result, result); err != nil {
		return fmt.Errorf("taskwire: decode the manager's result: %w", err)
	}
	return nil
}

// readLoop reads frames until the connection ends, then fails what is still pending.
func (c *Client) readLoop() {
	// No bound on a frame's length: a get's answer may be larger than maxFrameBytes (spec
	// §9.4), and the peer proved it holds the key before it is trusted with requests.
	reader := bufio.NewReaderSize(c.conn, 64*1024)
	var cause error
	for cause == nil {
		line, err := reader.ReadBytes('\n')
		if err != nil {
			// A line cut short by the end of the stream is not a frame.
			cause = err
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // spec §3.2: blank lines are ignored
		}
		cause = c.dispatch(line)
	}
	c.finish(cause)
}

// dispatch handles one frame; an error ends the connection.
func (c *Client) dispatch(line []byte) error {
	// encoding/json would replace invalid UTF-8 silently; spec §3.1 asks to detect it.
	if !utf8.Valid(line) {
		return errors.New("the manager sent a frame that is not valid UTF-8")
	}
	var msg incoming
	if err := json.Unmarshal(line, &msg); err != nil {
		return fmt.Errorf("the manager sent a frame that is not a JSON-RPC message: %w", err)
	}
	if msg.Method != "" {
		if msg.Method == "events/event" {
			c.deliverEvent(msg.Params)
		}
		return nil // the server sends no other notification in 2026-11
	}
	remote := remoteError(msg.Error)
	id, err := strconv.ParseInt(string(msg.ID), 10, 64)
	if err != nil {
		// id null: an answer to a frame rather than a request (spec §8.1), such as
		// -32004 before the manager closes the connection. Keep it to explain the close.
		if remote != nil {
			c.mu.Lock()
			c.frameErr = remote
			c.mu.Unlock()
		}
		return nil
	}
	c.mu.Lock()
	call := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if call == nil {
		return nil // the caller stopped waiting
	}
	if remote != nil {
		call.done <- response{err: remote}
		return nil
	}
	if call.onResult != nil {
		call.onResult(msg.Result)
	}
	call.done <- response{result: msg.Result}
	return nil
}

func remoteError(e *wireError) error {
	if e == nil {
		return nil
	}
	return &RemoteError{Code: e.Code, Message: e.Message, Data: e.Data}
}

// finish marks the client closed and fails every pending request and subscription.
func (c *Client) finish(cause error) {
	c.mu.Lock()
	if c.closeErr == nil {
		switch {
		case c.frameErr != nil:
			c.closeErr = fmt.Errorf("%w: %w", ErrClosed, c.frameErr)
		case errors.Is(cause, io.EOF):
			c.closeErr = fmt.Errorf("%w: the manager closed the connection", ErrClosed)
		default:
			c.closeErr = fmt.Errorf("%w: %w", ErrClosed, cause)
		}
	}
	pending := c.pending
	c.pending = map[int64]*pendingCall{}
	for _, sub := range c.subs {
		sub.closed = true
		close(sub.events)
	}
	c.subs = map[string]*subscription{}
	closeErr := c.closeErr
	c.mu.Unlock()

	for _, call := range pending {
		call.done <- response{err: closeErr}
	}
	c.conn.Close()
	close(c.readerDone)
}

// Close closes the connection. The manager gives the tasks this client holds back to
// their queues at once (each redelivered with its attempt plus one) and ends its
// subscriptions; requests still waiting fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = fmt.Errorf("%w: the client was closed", ErrClosed)
	}
	c.mu.Unlock()
	c.conn.Close()
	<-c.readerDone
	return nil
}
