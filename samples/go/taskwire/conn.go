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
// $/cancelRequest (spec §6.2). task/ack waits only with next (§5.9.1); cancelling one
// without next is harmless (the manager ignores it) and still tells from the answer whether
// the ack was applied.
var blocking = map[string]bool{"queue/get": true, "queue/put": true, "queue/join": true, "task/ack": true}

// conn is one connection to a manager and, after the handshake, its session. A Client
// holds one at a time and replaces it when it reconnects; a conn never reconnects.
type conn struct {
	netConn net.Conn
	addr    string

	writeMu sync.Mutex // one frame at a time, each in one Write
	lastID  atomic.Int64

	mu       sync.Mutex
	pending  map[int64]*pendingCall
	subs     map[string]*subscription // by the manager's subscription id on this connection
	closeErr error                    // set once the connection is closed
	frameErr error                    // the last error the manager answered to a frame rather than a request

	// onClose runs once on the reader goroutine after the connection closed and every
	// pending call failed; the Client decides there whether to reconnect.
	onClose func(*conn)
	// onState, when set, runs on the reader goroutine with the state of a session/state
	// notification (protocol 2026-12, spec §7.20).
	onState    func(*conn, string)
	readerDone chan struct{}

	// Set by the handshake and read-only afterwards.
	sessionID       string
	protocolVersion string
	managerID       string // the manager's id (protocol 2026-12); empty with a 2026-11 manager
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

func newConn(netConn net.Conn, addr string, onClose func(*conn)) *conn {
	cn := &conn{
		netConn:    netConn,
		addr:       addr,
		pending:    map[int64]*pendingCall{},
		subs:       map[string]*subscription{},
		onClose:    onClose,
		readerDone: make(chan struct{}),
	}
	go cn.readLoop()
	return cn
}

// err is why the connection closed; nil while it is open.
func (cn *conn) err() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.closeErr
}

func (cn *conn) isClosed() bool { return cn.err() != nil }

func (cn *conn) call(ctx context.Context, method string, params, result any, onResult func(json.RawMessage)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if params == nil {
		params = emptyParams{}
	}
	id := cn.lastID.Add(1)
	frame, err := marshal(outgoingRequest{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("taskwire: encode the params of %s: %w", method, err)
	}
	call := &pendingCall{done: make(chan response, 1), onResult: onResult}
	cn.mu.Lock()
	if cn.closeErr != nil {
		cn.mu.Unlock()
		return cn.closeErr
	}
	cn.pending[id] = call
	cn.mu.Unlock()

	if err := cn.write(frame); err != nil {
		cn.forget(id)
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
		if cn.forget(id) {
			return ctx.Err()
		}
		return decodeResponse(<-call.done, result)
	}

	// Withdraw the request on the manager, so that a cancelled get cannot lease a task
	// nobody will work on. The manager then answers exactly once: -32800, or the result
	// if the request completed before the cancellation arrived.
	_ = cn.notify("$/cancelRequest", map[string]int64{"id": id})
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
		cn.forget(id)
		return ctx.Err()
	}
}

// notify sends a notification; no answer comes.
func (cn *conn) notify(method string, params any) error {
	frame, err := marshal(outgoingNotification{JSONRPC: "2.0", Method: method, Params: params})
	if err != nil {
		return err
	}
	return cn.write(frame)
}

// write sends one frame in one Write call (spec §2.1: a frame split over two writes
// stalls on Nagle's algorithm and delayed acknowledgements).
func (cn *conn) write(frame []byte) error {
	frame = append(frame, '\n')
	cn.writeMu.Lock()
	defer cn.writeMu.Unlock()
	if _, err := cn.netConn.Write(frame); err != nil {
		// A frame written in part would garble every later one: the connection is done.
		cn.netConn.Close()
		cn.mu.Lock()
		defer cn.mu.Unlock()
		if cn.closeErr != nil {
			return cn.closeErr
		}
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil
}

// forget drops a pending call; false when the reader already took it to deliver an answer.
func (cn *conn) forget(id int64) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	_, ok := cn.pending[id]
	delete(cn.pending, id)
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
func (cn *conn) readLoop() {
	// No bound on a frame's length: a get's answer may be larger than maxFrameBytes (spec
	// §9.4), and the peer proved it holds the key before it is trusted with requests.
	reader := bufio.NewReaderSize(cn.netConn, 64*1024)
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
		cause = cn.dispatch(line)
	}
	cn.finish(cause)
}

// dispatch handles one frame; an error ends the connection.
func (cn *conn) dispatch(line []byte) error {
	// encoding/json would replace invalid UTF-8 silently; spec §3.1 asks to detect it.
	if !utf8.Valid(line) {
		return errors.New("the manager sent a frame that is not valid UTF-8")
	}
	var msg incoming
	if err := json.Unmarshal(line, &msg); err != nil {
		return fmt.Errorf("the manager sent a frame that is not a JSON-RPC message: %w", err)
	}
	if msg.Method != "" {
		switch msg.Method {
		case "events/event":
			cn.deliverEvent(msg.Params)
		case "session/state":
			// An operator quieted or stopped this session (spec §7.20).
			var params struct {
				State string `json:"state"`
			}
			if json.Unmarshal(msg.Params, &params) == nil && cn.onState != nil {
				cn.onState(cn, params.State)
			}
		}
		return nil // other notifications are unknown to this version (spec §10.5)
	}
	remote := remoteError(msg.Error)
	id, err := strconv.ParseInt(string(msg.ID), 10, 64)
	if err != nil {
		// id null: an answer to a frame rather than a request (spec §8.1), such as
		// -32004 before the manager closes the connection. Keep it to explain the close.
		if remote != nil {
			cn.mu.Lock()
			cn.frameErr = remote
			cn.mu.Unlock()
		}
		return nil
	}
	cn.mu.Lock()
	call := cn.pending[id]
	delete(cn.pending, id)
	cn.mu.Unlock()
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

// deliverEvent hands an event to its subscription without ever blocking the reader: a
// slow subscriber must not hold up the answers to requests.
func (cn *conn) deliverEvent(params json.RawMessage) {
	var event Event
	if json.Unmarshal(params, &event) != nil {
		return
	}
	cn.mu.Lock()
	sub := cn.subs[event.Subscription]
	cn.mu.Unlock()
	if sub != nil {
		sub.deliver(event)
	}
}

// finish marks the connection closed, fails every pending request, and tells the client.
func (cn *conn) finish(cause error) {
	cn.mu.Lock()
	if cn.closeErr == nil {
		switch {
		case cn.frameErr != nil:
			cn.closeErr = fmt.Errorf("%w: %w", ErrClosed, cn.frameErr)
		case errors.Is(cause, io.EOF):
			cn.closeErr = fmt.Errorf("%w: the manager closed the connection", ErrClosed)
		default:
			cn.closeErr = fmt.Errorf("%w: %w", ErrClosed, cause)
		}
	}
	pending := cn.pending
	cn.pending = map[int64]*pendingCall{}
	cn.subs = map[string]*subscription{}
	closeErr := cn.closeErr
	cn.mu.Unlock()

	for _, call := range pending {
		call.done <- response{err: closeErr}
	}
	cn.netConn.Close()
	if cn.onClose != nil {
		cn.onClose(cn)
	}
	close(cn.readerDone)
}

// close closes the connection with reason as the error of the requests still waiting
// (unless it already closed), and waits until they have failed.
func (cn *conn) close(reason error) {
	cn.mu.Lock()
	if cn.closeErr == nil {
		cn.closeErr = reason
	}
	cn.mu.Unlock()
	cn.netConn.Close()
	<-cn.readerDone
}
