package taskwire

import (
	"context"
	"errors"
	"fmt"
)

// The states an operator puts a session in (protocol 2026-12, spec §7.20), as Client.State,
// ClientInfo.State and Options.OnState report them.
const (
	// StateActive: the session takes tasks (the default, and every new session's).
	StateActive = "active"
	// StateQuiet: the manager hands the session no task; it finishes those it holds.
	StateQuiet = "quiet"
	// StateStopping: as quiet, and the client is asked to finish the tasks it holds, then
	// close and exit. The manager closes the connection itself once it holds nothing.
	StateStopping = "stopping"
)

// ControlResult is the manager's answer to QuietClient and StopClient.
type ControlResult struct {
	Session string `json:"session"` // the target session
	Manager string `json:"manager"` // the id of the manager it is on
	State   string `json:"state"`   // its state now (a quiet leaves a stopping session stopping)
	// Notified is false for a 2026-11 session, which cannot be told: the manager enforces
	// quiet on it all the same, and closes it once it holds nothing when it is stopping.
	Notified bool `json:"notified"`
}

// State is what an operator told this client's session: StateActive, StateQuiet or
// StateStopping. A reconnect is a new session, and makes it StateActive again.
func (c *Client) State() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// WaitState waits until the state is no longer from, and returns the new one. It returns
// ErrClosed once the client is closed, and ctx.Err() when ctx ends first.
func (c *Client) WaitState(ctx context.Context, from string) (string, error) {
	for {
		c.mu.Lock()
		state, err, changed := c.state, c.err, c.changed
		c.mu.Unlock()
		if state != from {
			return state, nil
		}
		if err != nil {
			return state, err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return state, ctx.Err()
		}
	}
}

// QuietClient tells a session (its SessionID in Clients, on any manager of the store) to
// take no new task (spec §7.20). ErrSessionNotFound when no such session is connected.
func (c *Client) QuietClient(ctx context.Context, session string) (*ControlResult, error) {
	var result ControlResult
	if err := c.call(ctx, "client/quiet", map[string]string{"session": session}, &result, nil); err != nil {
		return nil, err
	}
	return &result, nil
}

// StopClient tells a session to finish the tasks it holds, then close and exit (spec §7.20).
func (c *Client) StopClient(ctx context.Context, session string) (*ControlResult, error) {
	var result ControlResult
	if err := c.call(ctx, "client/stop", map[string]string{"session": session}, &result, nil); err != nil {
		return nil, err
	}
	return &result, nil
}

// stateReceived runs on the reader goroutine of cn for a session/state notification.
func (c *Client) stateReceived(cn *conn, state string) {
	if state != StateQuiet && state != StateStopping {
		return // a state this version does not know (spec §10.5)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn == c.conn {
		c.setStateLocked(state)
	}
}

// setStateLocked changes the state, wakes WaitState and tells Options.OnState; c.mu held.
func (c *Client) setStateLocked(state string) {
	if state == c.state {
		return
	}
	c.state = state
	c.signalLocked()
	if c.onState != nil {
		go c.onState(state)
	}
}

// Work runs handler for each task of the queue, one at a time: its result is the ack's
// result (routed to the task's ReplyTo queue), an error nacks the task with its text. Each
// ack also takes the next task, in one exchange (AckAndGetNext). opts are those of each
// get: with a Timeout, Work returns once the queue stays empty that long. It returns the
// number of tasks handled, and ctx.Err() when ctx ends.
//
// It obeys the operator (spec §7.20): told to go quiet, it acks the task in hand and takes
// no other (a reconnect, which is a new session, resumes it); told to stop, it acks the task
// in hand, closes the client (session/close) and returns with no error, so that the program
// can exit with 0.
func (q *Queue) Work(ctx context.Context, handler func(context.Context, *Task) (any, error), opts GetOptions) (int, error) {
	c := q.client
	handled := 0
	var task *Task
	for {
		if err := ctx.Err(); err != nil {
			return handled, err
		}
		if task == nil {
			switch c.State() {
			case StateStopping:
				_ = c.Close()
				return handled, nil
			case StateQuiet:
				if _, err := c.WaitState(ctx, StateQuiet); err != nil {
					if errors.Is(err, ErrClosed) {
						return handled, nil
					}
					return handled, err
				}
				continue
			}
			next, err := q.Get(ctx, opts)
			switch {
			case errors.Is(err, ErrEmpty):
				if c.State() == StateActive {
					return handled, nil // idle for opts.Timeout
				}
				continue
			case errors.Is(err, ErrClosed) && c.State() == StateStopping:
				return handled, nil
			case err != nil:
				return handled, err
			}
			task = next
		}
		result, failure := handler(ctx, task)
		handled++
		if failure != nil {
			_ = task.Nack(ctx, NackOptions{Error: failure.Error()})
			task = nil
			continue
		}
		if c.State() != StateActive {
			if err := task.Ack(ctx, result); err != nil && !errors.Is(err, ErrLeaseUnknown) {
				return handled, fmt.Errorf("taskwire: ack of task %s: %w", task.ID, err)
			}
			task = nil
			continue
		}
		next, err := task.AckAndGetNext(ctx, result, opts)
		switch {
		case err == nil:
			task = next
		case errors.Is(err, ErrEmpty):
			task = nil
			if c.State() == StateActive && opts.Timeout != 0 {
				return handled, nil
			}
		case errors.Is(err, ErrLeaseUnknown):
			task = nil // the manager delivers it again
		default:
			return handled, err
		}
	}
}
