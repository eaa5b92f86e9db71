package taskwire

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// The defaults of ReconnectOptions, the same as the TypeScript and Python clients'.
const (
	DefaultReconnectInitialDelay = 100 * time.Millisecond
	DefaultReconnectMaxDelay     = 5 * time.Second
)

// ReconnectOptions say how a Client reconnects when its connection drops. The zero value
// reconnects with the defaults: delays that double from 100 ms up to 5 s, each with jitter,
// for as long as it takes.
//
// Each delay is picked at random between half and all of min(InitialDelay·2^(n-1),
// MaxDelay) before attempt n, so that the workers of a restarted manager do not all come
// back at the same instant. A wrong key (ErrAuthenticationFailed), a peer that cannot prove
// it holds the key (ErrServerProof) or a manager that speaks no version of ours
// (ErrUnsupportedProtocolVersion) stops the reconnecting at once: retrying cannot help.
type ReconnectOptions struct {
	// Disabled turns reconnecting off: once the connection drops, every request fails
	// with ErrClosed and the client is done (a program dials again).
	Disabled bool
	// InitialDelay is the delay before the first attempt (default 100 ms).
	InitialDelay time.Duration
	// MaxDelay bounds the delay between attempts (default 5 s).
	MaxDelay time.Duration
	// MaxAttempts gives up after this many failed attempts; 0 retries until Close. With
	// several managers, an attempt tries each address once.
	MaxAttempts int
}

func (r ReconnectOptions) withDefaults() ReconnectOptions {
	if r.InitialDelay <= 0 {
		r.InitialDelay = DefaultReconnectInitialDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultReconnectMaxDelay
	}
	r.MaxDelay = max(r.MaxDelay, r.InitialDelay)
	return r
}

// delay is the wait before the given attempt (1 for the first).
func (r ReconnectOptions) delay(attempt int) time.Duration {
	step := r.InitialDelay
	for i := 1; i < attempt && step < r.MaxDelay; i++ {
		if step > r.MaxDelay/2 {
			step = r.MaxDelay // doubling would pass it (or overflow)
			break
		}
		step *= 2
	}
	step = min(step, r.MaxDelay)
	d := time.Duration(float64(step) * (0.5 + rand.Float64()/2))
	if d <= 0 || d > step { // float rounding at the top of the range
		d = step
	}
	return d
}

// ConnectionEventKind names a change in a Client's connection.
type ConnectionEventKind string

// The kinds of ConnectionEvent, named like the TypeScript client's events.
const (
	// Disconnected: the connection dropped. Err says why. The leases it held are gone:
	// the manager gives those tasks to other workers (Task.Ack then returns ErrLeaseLost).
	Disconnected ConnectionEventKind = "disconnected"
	// Reconnecting: attempt Attempt starts after Delay. Err is why the previous attempt
	// failed (nil before the first).
	Reconnecting ConnectionEventKind = "reconnecting"
	// Reconnected: a new connection is in use, to Addr, with session SessionID, and the
	// subscriptions are re-established.
	Reconnected ConnectionEventKind = "reconnected"
	// GaveUp: the client stopped reconnecting for good (a wrong key, an impostor, a
	// version mismatch, or MaxAttempts used up). Err is the error requests now return.
	GaveUp ConnectionEventKind = "gave-up"
)

// ConnectionEvent reports a change in a Client's connection to Options.OnConnectionEvent.
type ConnectionEvent struct {
	Kind ConnectionEventKind
	// Err is why the connection dropped (Disconnected), why the previous attempt failed
	// (Reconnecting), or the error that ended the client (GaveUp).
	Err error
	// Attempt counts the attempts since the drop, from 1 (Reconnecting).
	Attempt int
	// Delay is the wait before this attempt (Reconnecting).
	Delay time.Duration
	// SessionID is the new connection's session (Reconnected).
	SessionID string
	// Addr is the manager the new connection is to (Reconnected).
	Addr string
}

// emit reports a connection event to the program; the caller holds eventsMu.
func (c *Client) emit(event ConnectionEvent) {
	if c.onEvent != nil {
		c.onEvent(event)
	}
}

// connectionLost runs on the reader goroutine of a connection that closed. If it was the
// client's connection (and not closed by Close), the client reconnects or, with
// reconnecting off, ends.
func (c *Client) connectionLost(cn *conn) {
	c.mu.Lock()
	if cn != c.conn || c.err != nil {
		c.mu.Unlock()
		return // a connection that never was in use, or the client is closed
	}
	cause := cn.err()
	if c.state == StateStopping {
		// Told to stop: a connection the manager closed is the end, not something to repair.
		c.mu.Unlock()
		_ = c.Close()
		return
	}
	if c.reconnect.Disabled {
		subs := c.endLocked(cause)
		c.mu.Unlock()
		for _, sub := range subs {
			sub.end()
		}
		go func() {
			c.eventsMu.Lock()
			defer c.eventsMu.Unlock()
			c.emit(ConnectionEvent{Kind: Disconnected, Err: cause})
		}()
		return
	}
	c.mu.Unlock()
	go c.reconnectLoop(cause)
}

// reconnectLoop reconnects with back-off until it succeeds, the client is closed, or it
// gives up. Attempt n tries every address once, starting after the one that went away,
// after a back-off delay. With several managers the first attempt is made at once and
// skips the one that went away (the others are most likely up); the back-off starts with
// the second attempt.
func (c *Client) reconnectLoop(cause error) {
	c.eventsMu.Lock()
	defer c.eventsMu.Unlock()
	c.emit(ConnectionEvent{Kind: Disconnected, Err: cause})
	c.mu.Lock()
	lost := c.index
	c.mu.Unlock()
	failover := len(c.addrs) > 1
	var lastErr error
	for attempt := 1; ; attempt++ {
		step := attempt
		if failover {
			step = attempt - 1
		}
		var delay time.Duration
		if step > 0 {
			delay = c.reconnect.delay(step)
		}
		c.emit(ConnectionEvent{Kind: Reconnecting, Attempt: attempt, Delay: delay, Err: lastErr})
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-c.life.Done(): // Close
			timer.Stop()
			return
		}
		indices := c.rotation(lost + 1)
		if failover && attempt == 1 {
			indices = indices[:len(indices)-1] // the last of the rotation is the one that went away
		}
		cn, index, err := c.connectFirstOf(c.life, indices, fmt.Sprintf("cannot reconnect to any of %d managers", len(indices)))
		if err == nil {
			if err = c.resubscribeAndPublish(cn, index); err != nil {
				cn.close(err)
			}
		}
		if err == nil {
			c.emit(ConnectionEvent{Kind: Reconnected, SessionID: cn.sessionID, Addr: c.addrs[index]})
			return
		}
		if c.life.Err() != nil {
			return // closed meanwhile
		}
		if retryingCannotHelp(err) {
			c.giveUp(fmt.Errorf("taskwire: stopped reconnecting to %s: %w", c.where(), err))
			return
		}
		if c.reconnect.MaxAttempts > 0 && attempt >= c.reconnect.MaxAttempts {
			c.giveUp(fmt.Errorf("%w: gave up reconnecting to %s after %d attempts: %w", ErrClosed, c.where(), attempt, err))
			return
		}
		lastErr = err
	}
}

// retryingCannotHelp tells the errors of a handshake that would fail the same way again.
func retryingCannotHelp(err error) bool {
	return errors.Is(err, ErrAuthenticationFailed) || errors.Is(err, ErrServerProof) || errors.Is(err, ErrUnsupportedProtocolVersion)
}

// giveUp ends the client with err; the caller holds eventsMu.
func (c *Client) giveUp(err error) {
	c.mu.Lock()
	if c.err != nil { // closed meanwhile
		c.mu.Unlock()
		return
	}
	subs := c.endLocked(err)
	c.mu.Unlock()
	for _, sub := range subs {
		sub.end()
	}
	c.emit(ConnectionEvent{Kind: GaveUp, Err: err})
}

// resubscribeAndPublish re-establishes every subscription on cn, then makes it (connected
// to addrs[index]) the client's connection.
func (c *Client) resubscribeAndPublish(cn *conn, index int) error {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.mu.Lock()
	subs := make([]*subscription, 0, len(c.subs))
	for sub := range c.subs {
		subs = append(subs, sub)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.life, DefaultDialTimeout)
	defer cancel()
	for _, sub := range subs {
		if err := cn.subscribe(ctx, sub); err != nil {
			return fmt.Errorf("taskwire: re-subscribe after reconnecting: %w", err)
		}
	}
	return c.publish(cn, index)
}

// Connected reports whether the client has a connection in use right now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil && !c.conn.isClosed()
}

// WillReconnect reports whether a dropped connection will be (or is being) replaced:
// reconnecting is on and the client has not been closed nor given up. A worker loop uses it
// to carry on after a request failed with ErrClosed because the connection dropped.
func (c *Client) WillReconnect() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil && !c.reconnect.Disabled
}

// WaitConnected returns once the client has a connection in use (at once if it has), the
// error that ended the client, or, when ctx ends first, an error wrapping ctx.Err().
func (c *Client) WaitConnected(ctx context.Context) error {
	_, err := c.current(ctx)
	return err
}

// Done is closed when the client is closed for good: by Close, by giving up reconnecting,
// or by a drop with reconnecting off. Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is nil while the client is usable (connected or reconnecting), and afterwards the
// error its requests return: ErrClosed, or the error that stopped the reconnecting (such as
// ErrAuthenticationFailed).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
