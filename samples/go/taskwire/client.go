package taskwire

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// Dial connects to a manager and runs the handshake: the client proves it holds the key,
// then checks the manager's proof. When ctx has no deadline, connecting and the handshake
// are bounded by DefaultDialTimeout.
//
// A wrong key gives an error for which errors.Is(err, ErrAuthenticationFailed) holds; a
// peer that cannot prove it holds the key gives ErrServerProof.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	key, err := resolveAuthkey(opts)
	if err != nil {
		return nil, err
	}
	addr := resolveAddr(opts.Addr)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDialTimeout)
		defer cancel()
	}
	conn, err := dialConn(ctx, addr, opts.TLS)
	if err != nil {
		return nil, fmt.Errorf("taskwire: cannot connect to the manager at %s: %w", addr, err)
	}
	c := newClient(conn, addr)
	if err := c.handshake(ctx, key, opts.description()); err != nil {
		c.Close()
		if errors.Is(err, ErrServerProof) {
			return nil, fmt.Errorf("%w: the peer at %s is not the manager you meant to reach", err, addr)
		}
		return nil, fmt.Errorf("%w (handshake with %s)", err, addr)
	}
	return c, nil
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

// Addr is the manager's address as dialled.
func (c *Client) Addr() string { return c.addr }

// SessionID is the id the manager gave this connection's session.
func (c *Client) SessionID() string { return c.sessionID }

// ProtocolVersion is the protocol version the manager chose in the handshake.
func (c *Client) ProtocolVersion() string { return c.protocolVersion }

// Limits are the limits the manager announced: batch, frame and payload sizes.
func (c *Client) Limits() Limits { return c.limits }

// Capabilities are what the manager announced it supports.
func (c *Client) Capabilities() Capabilities { return c.capabilities }

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
// returns how many were acked. If any is not held (ErrLeaseUnknown), none is acked.
func (c *Client) AckMany(ctx context.Context, acks ...Ack) (int, error) {
	wire := make([]wireAck, len(acks))
	for i, ack := range acks {
		wire[i].ID = ack.ID
		if ack.Result != nil {
			result, err := json.Marshal(ack.Result)
			if err != nil {
				return 0, fmt.Errorf("taskwire: encode the result of task %s: %w", ack.ID, err)
			}
			wire[i].Result = result
		}
	}
	var result struct {
		Acked int `json:"acked"`
	}
	err := c.call(ctx, "task/ack", map[string]any{"acks": wire}, &result, nil)
	return result.Acked, err
}
