package taskwire

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Task is a task delivered by Get or shown by Peek. Its methods are meant for the one
// goroutine that works on it.
type Task struct {
	// ID is the task's id, assigned by the manager; it has no meaning of its own.
	ID string `json:"id"`
	// Queue is the queue it was delivered from.
	Queue string `json:"queue"`
	// Payload is the task's data as JSON; see Decode. For a result routed by an ack it is
	// {"taskId": ..., "result": ...}.
	Payload json.RawMessage `json:"payload"`
	// Attempt is 1 on the first delivery, plus one for each lease that ended without ack.
	Attempt int `json:"attempt"`
	// Priority is as put: higher is delivered first.
	Priority int `json:"priority"`
	// EnqueuedAt is when the task was put; retries do not change it.
	EnqueuedAt time.Time `json:"enqueuedAt"`
	// LeaseUntil is when the lease ends unless touched; zero when nothing is leased
	// (AutoAck, Peek).
	LeaseUntil time.Time `json:"leaseUntil"`
	// ReplyTo is the queue that receives the result of an Ack.
	ReplyTo string `json:"replyTo"`
	// LastError is the error of the task's last nack.
	LastError string `json:"lastError"`
	// DeadLetteredFrom is, on a task in a dead-letter queue, the queue it came from.
	DeadLetteredFrom string `json:"deadLetteredFrom"`

	client *Client
	conn   *conn // the connection that leased it; nil for a peeked task
}

// Decode decodes the payload into v, as json.Unmarshal does.
func (t *Task) Decode(v any) error { return json.Unmarshal(t.Payload, v) }

// Ack completes the task. A non-nil result is encoded with encoding/json and, if the task
// has a ReplyTo queue, put there as {"taskId": ..., "result": ...}. ErrLeaseUnknown means
// the lease had already ended (expired, or acked before): the task is, or was, redelivered.
// A *LeaseLostError (ErrLeaseLost, which also matches ErrLeaseUnknown) means the
// connection that leased the task has closed, taking the lease with it.
func (t *Task) Ack(ctx context.Context, result any) error {
	ack, err := Ack{ID: t.ID, Result: result}.wire()
	if err != nil {
		return err
	}
	return t.settle(ctx, "task/ack", map[string]any{"acks": []wireAck{ack}}, nil)
}

// Nack gives the task back for a retry, after opts.Delay or the manager's back-off, or to
// the dead-letter queue once it has used its attempts or when opts.Permanent is set. Its
// errors are those of Ack.
func (t *Task) Nack(ctx context.Context, opts NackOptions) error {
	nack := wireNack{ID: t.ID, Error: opts.Error, Delay: seconds(opts.Delay)}
	if opts.Permanent {
		noRetry := false
		nack.Retry = &noRetry
	}
	return t.settle(ctx, "task/nack", map[string]any{"nacks": []wireNack{nack}}, nil)
}

// Touch extends the lease to ttr from now (zero: the lease's own length) and returns the
// new end, which it also stores in LeaseUntil. Touch a long task well before its lease
// ends, for example when half of it has passed. Its errors are those of Ack.
func (t *Task) Touch(ctx context.Context, ttr time.Duration) (time.Time, error) {
	var result struct {
		LeaseUntil time.Time `json:"leaseUntil"`
	}
	err := t.settle(ctx, "task/touch", touchParams{IDs: []string{t.ID}, TTR: seconds(ttr)}, &result)
	if err != nil {
		return time.Time{}, err
	}
	t.LeaseUntil = result.LeaseUntil
	return result.LeaseUntil, nil
}

// settle sends a request about the task's lease on the connection that holds the lease,
// and reports a lease that went with its connection as a *LeaseLostError.
func (t *Task) settle(ctx context.Context, method string, params, result any) error {
	if t.conn == nil {
		return t.client.call(ctx, method, params, result, nil)
	}
	if cause := t.conn.err(); cause != nil {
		return &LeaseLostError{IDs: []string{t.ID}, Err: cause}
	}
	err := t.conn.call(ctx, method, params, result, nil)
	switch {
	case errors.Is(err, ErrClosed):
		return &LeaseLostError{IDs: []string{t.ID}, InFlight: true, Err: err}
	case errors.Is(err, ErrShuttingDown):
		// A manager that is shutting down has released every lease (spec §7.14).
		return &LeaseLostError{IDs: []string{t.ID}, Err: err}
	}
	return err
}
