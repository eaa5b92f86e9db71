package taskwire

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Client is a connection to a manager that reconnects by itself (see Options.Reconnect).
// It is safe for concurrent use.
type Client struct {
	addrs     []string // the managers, in the order they are tried
	key       []byte
	tls       *tls.Config
	me        clientDescription
	reconnect ReconnectOptions // with its defaults applied
	onEvent   func(ConnectionEvent)
	onState   func(string)

	// life ends with Close: it cancels a reconnect's wait and dial.
	life context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	index   int                        // addrs[index] is the manager in use (or last used, or to try first)
	conn    *conn                      // the current connection (possibly closed while reconnecting)
	err     error                      // set once the client is closed for good; requests return it
	done    chan struct{}              // closed when err is set
	changed chan struct{}              // closed and replaced whenever conn or err changes
	subs    map[*subscription]struct{} // re-established on every new connection
	state   string                     // what an operator told the session: StateActive, StateQuiet or StateStopping

	// subMu orders subscribing against re-subscribing after a reconnect, so that no
	// subscription is made on a connection that is being replaced and then forgotten.
	subMu sync.Mutex
	// eventsMu keeps connection events in order: one drop's events are all reported before
	// the next drop's.
	eventsMu sync.Mutex
}

// Dial connects to a manager and runs the handshake: the client proves it holds the key,
// then checks the manager's proof. When ctx has no deadline, connecting and the handshake
// are bounded by DefaultDialTimeout for each address. The first connection is not retried
// (each address is tried once), so that a wrong address or key is reported at once; later
// drops are (see Options.Reconnect).
//
// A wrong key gives an error for which errors.Is(err, ErrAuthenticationFailed) holds; a
// peer that cannot prove it holds the key gives ErrServerProof. When several managers were
// given and none could be reached, the error is a *NoManagerReachableError naming each.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	addrs, err := resolveAddrs(opts.Addr, opts.Addrs)
	if err != nil {
		return nil, err
	}
	key, err := resolveAuthkey(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{
		onState:   opts.OnState,
		state:     StateActive,
		addrs:     addrs,
		key:       key,
		tls:       opts.TLS,
		me:        opts.description(),
		reconnect: opts.Reconnect.withDefaults(),
		onEvent:   opts.OnConnectionEvent,
		done:      make(chan struct{}),
		changed:   make(chan struct{}),
		subs:      map[*subscription]struct{}{},
	}
	if opts.RandomStart {
		c.index = rand.IntN(len(addrs))
	}
	c.life, c.stop = context.WithCancel(context.Background())
	cn, index, err := c.connectFirstOf(ctx, c.rotation(c.index), "")
	if err == nil {
		if err = c.publish(cn, index); err != nil {
			cn.close(err)
		}
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// rotation is the indices of addrs from first, wrapping around.
func (c *Client) rotation(first int) []int {
	indices := make([]int, len(c.addrs))
	for offset := range indices {
		indices[offset] = (first + offset) % len(c.addrs)
	}
	return indices
}

// connectFirstOf connects to the first of indices that completes the handshake. A refused,
// timed out or closed connection moves on to the next; a wrong key, an impostor or a
// version mismatch is returned at once. When all fail: the one error, or a
// *NoManagerReachableError (prefix opens its message).
func (c *Client) connectFirstOf(ctx context.Context, indices []int, prefix string) (*conn, int, error) {
	var failures []AddrError
	for _, index := range indices {
		if ctx.Err() != nil {
			break
		}
		cn, err := c.connect(ctx, c.addrs[index])
		if err == nil {
			return cn, index, nil
		}
		if retryingCannotHelp(err) {
			return nil, index, err
		}
		failures = append(failures, AddrError{Addr: c.addrs[index], Err: err})
	}
	if len(failures) == 0 {
		return nil, 0, fmt.Errorf("taskwire: cannot connect: %w", ctx.Err())
	}
	if len(failures) == 1 {
		return nil, 0, failures[0].Err
	}
	if prefix == "" {
		prefix = fmt.Sprintf("cannot connect to any of %d managers", len(failures))
	}
	return nil, 0, &NoManagerReachableError{Prefix: prefix, Failures: failures}
}

// connect opens a connection to addr and runs the handshake.
func (c *Client) connect(ctx context.Context, addr string) (*conn, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDialTimeout)
		defer cancel()
	}
	netConn, err := dialConn(ctx, addr, c.tls)
	if err != nil {
		return nil, fmt.Errorf("taskwire: cannot connect to the manager at %s: %w", addr, err)
	}
	cn := newConn(netConn, addr, c.connectionLost)
	cn.onState = c.stateReceived
	if err := cn.handshake(ctx, c.key, c.me); err != nil {
		cn.close(fmt.Errorf("%w: the handshake failed", ErrClosed))
		if errors.Is(err, ErrServerProof) {
			return nil, fmt.Errorf("%w: the peer at %s is not the manager you meant to reach", err, addr)
		}
		return nil, fmt.Errorf("%w (handshake with %s)", err, addr)
	}
	return cn, nil
}

// publish makes cn, connected to addrs[index], the connection requests use. It fails when
// cn has already dropped (its drop went unnoticed, as it was not yet the client's) or the
// client was closed; the caller then closes cn.
func (c *Client) publish(cn *conn, index int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	// Checked under c.mu: a drop from now on finds cn published and starts a reconnect.
	if err := cn.err(); err != nil {
		return err
	}
	if c.conn != nil {
		// A new session: what the old one was told does not hold for it (spec §7.20).
		c.setStateLocked(StateActive)
	}
	c.conn = cn
	c.index = index
	c.signalLocked()
	return nil
}

// signalLocked wakes whoever waits for a connection or for the client's end.
func (c *Client) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// endLocked closes the client for good with err and returns the subscriptions to end.
func (c *Client) endLocked(err error) []*subscription {
	if c.err == nil {
		close(c.done)
	}
	c.err = err
	subs := make([]*subscription, 0, len(c.subs))
	for sub := range c.subs {
		subs = append(subs, sub)
	}
	c.subs = map[*subscription]struct{}{}
	c.signalLocked()
	return subs
}

// dialConn opens the TCP (or TLS) connection. Go sets TCP_NODELAY on TCP connections by
// default, as the protocol requires, and its TLS clients speak TLS 1.2 or later.
func dialConn(ctx context.Context, addr string, config *tls.Config) (net.Conn, error) {
	dialer := &net.Dialer{}
	if config != nil {
		return (&tls.Dialer{NetDialer: dialer, Config: config}).DialContext(ctx, "tcp", addr)
	}
	return dialer.DialContext(ctx, "tcp", addr)
}

// current returns the connection to send on, waiting for a reconnect in progress (as long
// as ctx allows). It returns the client's error once it is closed for good.
func (c *Client) current(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		cn, err, changed := c.conn, c.err, c.changed
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if !cn.isClosed() {
			return cn, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waiting to reconnect to %s)", ctx.Err(), c.where())
		}
	}
}

// call sends a request on the current connection.
func (c *Client) call(ctx context.Context, method string, params, result any, onResult func(json.RawMessage)) error {
	_, err := c.callOn(ctx, method, params, result, onResult)
	return err
}

// callOn is call that also returns the connection the request went on, for the leases
// its answer grants.
func (c *Client) callOn(ctx context.Context, method string, params, result any, onResult func(json.RawMessage)) (*conn, error) {
	cn, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	return cn, cn.call(ctx, method, params, result, onResult)
}

// Call sends any request of the protocol and decodes its result into result (which may
// be nil). It is the way to methods this package does not wrap, such as queue/declare.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	return c.call(ctx, method, params, result, nil)
}

// session is the current (or last) connection, for what its handshake said.
func (c *Client) session() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}

// Addr is the address of the manager in use, as dialled (while reconnecting: the last one
// used).
func (c *Client) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[c.index]
}

// Addrs is every manager the client may use, as "host:port", in the order it tries them.
func (c *Client) Addrs() []string { return slices.Clone(c.addrs) }

// where names the managers for an error: "the manager at h:p" or "the managers at h1:p1, h2:p2".
func (c *Client) where() string {
	if len(c.addrs) == 1 {
		return "the manager at " + c.addrs[0]
	}
	return "the managers at " + strings.Join(c.addrs, ", ")
}

// SessionID is the id the manager gave the current connection's session; a reconnect
// opens a new session with a new id.
func (c *Client) SessionID() string { return c.session().sessionID }

// ProtocolVersion is the protocol version the manager chose in the handshake.
func (c *Client) ProtocolVersion() string { return c.session().protocolVersion }

// ManagerID is the id of the manager the client is connected to now (protocol 2026-12,
// spec §7.18): several managers may serve one store, and a reconnect may reach another.
// It is empty with a manager of 2026-11.
func (c *Client) ManagerID() string { return c.session().managerID }

// Limits are the limits the manager announced: batch, frame and payload sizes.
func (c *Client) Limits() Limits { return c.session().limits }

// Capabilities are what the manager announced it supports.
func (c *Client) Capabilities() Capabilities { return c.session().capabilities }

// Queue returns a handle on the named queue. Handles are cheap; the manager creates the
// queue on first use (unless it runs with --no-auto-create).
func (c *Client) Queue(name string) *Queue { return &Queue{name: name, client: c} }

// Ping checks the connection and returns the manager's clock.
func (c *Client) Ping(ctx context.Context) (time.Time, error) {
	var result struct {
		Time time.Time `json:"time"`
	}
	err := c.call(ctx, "session/ping", emptyParams{}, &result, nil)
	return result.Time, err
}

// Clients returns the manager's worker registry: every session, what it holds and what
// it has done, in the order the sessions were established.
func (c *Client) Clients(ctx context.Context) ([]ClientInfo, error) {
	var result struct {
		Clients []ClientInfo `json:"clients"`
	}
	err := c.call(ctx, "manager/clients", emptyParams{}, &result, nil)
	return result.Clients, err
}

// Queues returns the statistics of every queue, dead-letter queues included, in the order
// the queues were created.
func (c *Client) Queues(ctx context.Context) ([]QueueStats, error) {
	var result struct {
		Queues []QueueStats `json:"queues"`
	}
	err := c.call(ctx, "queue/list", emptyParams{}, &result, nil)
	return result.Queues, err
}

// AckMany completes several tasks this client holds in one request, all or none, and
// returns how many were acked. If any is not held (ErrLeaseUnknown), none is acked. It goes
// on the current connection: ids leased on an earlier connection are not held there and
// give ErrLeaseUnknown (Task.Ack tells a lost lease apart with ErrLeaseLost).
func (c *Client) AckMany(ctx context.Context, acks ...Ack) (int, error) {
	wire := make([]wireAck, len(acks))
	for i, ack := range acks {
		w, err := ack.wire()
		if err != nil {
			return 0, err
		}
		wire[i] = w
	}
	var result ackResult
	err := c.call(ctx, "task/ack", ackParams{Acks: wire}, &result, nil)
	return result.Acked, err
}

// wire encodes the ack's result.
func (ack Ack) wire() (wireAck, error) {
	w := wireAck{ID: ack.ID}
	if ack.Result != nil {
		result, err := marshal(ack.Result)
		if err != nil {
			return wireAck{}, fmt.Errorf("taskwire: encode the result of task %s: %w", ack.ID, err)
		}
		w.Result = result
	}
	return w, nil
}

// Close closes the client: the connection, a reconnect in progress and every
// subscription. The manager gives the tasks this client holds back to their queues at
// once (each redelivered with its attempt plus one, first in line); requests still waiting,
// and any made later, fail with ErrClosed. Close returns at once, also during a
// reconnect's back-off. With protocol 2026-12 it first says that the client stops
// (session/close, spec §6.3), so those releases read "client stopped", not "client
// disconnected".
func (c *Client) Close() error {
	closed := fmt.Errorf("%w: the client was closed", ErrClosed)
	c.mu.Lock()
	subs := c.endLocked(closed)
	cn := c.conn
	c.mu.Unlock()
	c.stop()
	for _, sub := range subs {
		sub.end()
	}
	if cn != nil && cn.protocolVersion >= "2026-12" {
		_ = cn.notify("session/close", struct{}{})
	}
	cn.close(closed)
	return nil
}
