package taskwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	_, err = t.settle(ctx, "task/ack", ackParams{Acks: []wireAck{ack}}, nil, false)
	return err
}

// AckAndGetNext acks the task as Ack does and takes the next task from the task's queue
// in the same exchange, so that a worker's loop costs one round trip per task instead of
// two. opts are those of Get: how long to wait for the next task (zero: until one
// arrives), its lease length, AutoAck. The next task is leased on the connection that held
// this one, as Get's are.
//
// With a manager that announces Capabilities.AckNext it sends one task/ack with next
// (spec §5.9.1); with any other it sends the ack and then a get, which has the same effect
// in two exchanges.
//
// Its errors tell how far it got:
//   - Ack's errors (ErrLeaseUnknown, a *LeaseLostError, ...), the refusals of the next
//     half (ErrQueueNotFound, ErrLimitExceeded, ErrInvalidParams), and ctx.Err() when ctx
//     had ended before the call: nothing was applied (but a *LeaseLostError with InFlight
//     set means the ack may have been);
//   - ErrEmpty: the task was acked and no task came within opts.Timeout;
//   - when ctx ends while the manager waits for the next task, the ack stands: the manager
//     withdraws the wait and says so, and the error wraps ctx.Err() and names the acked
//     task. Should the next task have been delivered before the cancellation reached the
//     manager, it is returned instead, as Get does.
//
// Without AckNext, an error of the get after the ack also names the acked task (and
// wraps the get's error, such as ErrClosed).
func (t *Task) AckAndGetNext(ctx context.Context, result any, opts GetOptions) (*Task, error) {
	tasks, err := t.AckAndGetMany(ctx, result, 1, opts)
	if err != nil {
		return nil, err
	}
	return tasks[0], nil
}

// AckAndGetMany is AckAndGetNext taking up to n next tasks, as GetMany does.
func (t *Task) AckAndGetMany(ctx context.Context, result any, n int, opts GetOptions) ([]*Task, error) {
	ack, err := Ack{ID: t.ID, Result: result}.wire()
	if err != nil {
		return nil, err
	}
	if !t.managerTakesNext() {
		return t.ackThenGet(ctx, ack, n, opts)
	}
	next := opts.params(t.Queue, n)
	var answer ackResult
	cn, err := t.settle(ctx, "task/ack", ackParams{Acks: []wireAck{ack}, Next: &next}, &answer, true)
	if err != nil {
		return nil, err
	}
	if len(answer.Tasks) == 0 {
		if ctx.Err() != nil {
			// The manager answered the cancellation with the acks and no task (§5.9.1).
			return nil, t.ackedWithoutNext(ctx.Err())
		}
		return nil, ErrEmpty
	}
	for _, task := range answer.Tasks {
		task.client, task.conn = t.client, cn
	}
	return answer.Tasks, nil
}

// managerTakesNext tells whether the manager this task's ack goes to serves task/ack's next.
func (t *Task) managerTakesNext() bool {
	if t.conn != nil {
		return t.conn.capabilities.AckNext
	}
	return t.client.Capabilities().AckNext
}

// ackThenGet is AckAndGetMany for a manager without ackNext: the same in two exchanges.
func (t *Task) ackThenGet(ctx context.Context, ack wireAck, n int, opts GetOptions) ([]*Task, error) {
	if _, err := t.settle(ctx, "task/ack", ackParams{Acks: []wireAck{ack}}, nil, false); err != nil {
		return nil, err
	}
	if t.client.State() != StateActive {
		return nil, ErrEmpty // quieted or stopped (spec §7.20): the manager would hand this session nothing
	}
	tasks, err := t.client.Queue(t.Queue).GetMany(ctx, n, opts)
	switch {
	case errors.Is(err, ErrEmpty):
		return nil, ErrEmpty
	case err != nil:
		return nil, t.ackedWithoutNext(err)
	}
	return tasks, nil
}

// ackedWithoutNext is the error of an AckAndGetNext whose ack was applied and whose get
// of the next task ended with err.
func (t *Task) ackedWithoutNext(err error) error {
	return fmt.Errorf("taskwire: task %s was acked, but no next task was taken: %w", t.ID, err)
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
	_, err := t.settle(ctx, "task/nack", map[string]any{"nacks": []wireNack{nack}}, nil, false)
	return err
}

// Touch extends the lease to ttr from now (zero: the lease's own length) and returns the
// new end, which it also stores in LeaseUntil. Touch a long task well before its lease
// ends, for example when half of it has passed. Its errors are those of Ack.
func (t *Task) Touch(ctx context.Context, ttr time.Duration) (time.Time, error) {
	var result struct {
		LeaseUntil time.Time `json:"leaseUntil"`
	}
	_, err := t.settle(ctx, "task/touch", touchParams{IDs: []string{t.ID}, TTR: seconds(ttr)}, &result, false)
	if err != nil {
		return time.Time{}, err
	}
	t.LeaseUntil = result.LeaseUntil
	return result.LeaseUntil, nil
}

// Progress reports how far the work on the task got (protocol 2026-12, spec §5.20), for
// taskwire tail, taskwire workers and the sidebar:
//
//	task.Progress(ctx, taskwire.Progress{Percent: taskwire.Percent(40), Message: "fetching page 2"})
//
// The manager renews the lease as Touch does and returns its new end; it passes on at most a
// few reports a second per task (always the last one), so report as often as is convenient.
func (t *Task) Progress(ctx context.Context, report Progress) (time.Time, error) {
	if report.Percent == nil && report.Message == "" {
		return time.Time{}, errors.New("taskwire: a progress report needs a Percent or a Message")
	}
	params := progressParams{ID: t.ID, Percent: report.Percent, Message: report.Message}
	if report.Detail != nil {
		detail, err := json.Marshal(report.Detail)
		if err != nil {
			return time.Time{}, fmt.Errorf("taskwire: progress detail: %w", err)
		}
		params.Detail = detail
	}
	var result struct {
		LeaseUntil time.Time `json:"leaseUntil"`
	}
	if _, err := t.settle(ctx, "task/progress", params, &result, false); err != nil {
		return time.Time{}, err
	}
	t.LeaseUntil = result.LeaseUntil
	return result.LeaseUntil, nil
}

// settle sends a request about the task's lease on the connection that holds the lease,
// and reports a lease that went with its connection as a *LeaseLostError. It returns the
// connection, which holds the leases the answer grants. waits is set for a request that
// may wait on the manager after applying itself (an ack with next), so that a shutdown
// during the wait is not taken for a refusal.
func (t *Task) settle(ctx context.Context, method string, params, result any, waits bool) (*conn, error) {
	if t.conn == nil {
		return t.client.callOn(ctx, method, params, result, nil)
	}
	if cause := t.conn.err(); cause != nil {
		return nil, &LeaseLostError{IDs: []string{t.ID}, Err: cause}
	}
	err := t.conn.call(ctx, method, params, result, nil)
	switch {
	case errors.Is(err, ErrClosed):
		return nil, &LeaseLostError{IDs: []string{t.ID}, InFlight: true, Err: err}
	case errors.Is(err, ErrShuttingDown):
		// A manager that is shutting down has released every lease (spec §7.14); one that
		// was waiting for an ack's next task had applied the ack first (§5.9.1).
		return nil, &LeaseLostError{IDs: []string{t.ID}, InFlight: waits, Err: err}
	}
	return t.conn, err
}
