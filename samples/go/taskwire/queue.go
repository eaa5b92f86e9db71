package taskwire

import (
	"context"
	"fmt"
	"time"
)

// Queue is a handle on a named queue of the manager.
type Queue struct {
	name   string
	client *Client
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// PutOption sets a field of the tasks of Put and PutMany, or the timeout of the request.
type PutOption func(*putSettings)

type putSettings struct {
	defaults TaskSpec
	timeout  time.Duration
}

// WithReplyTo names the queue that receives {taskId, result} when the task is acked with a
// result.
func WithReplyTo(queue string) PutOption { return func(s *putSettings) { s.defaults.ReplyTo = queue } }

// WithPriority sets the priority: higher is delivered first.
func WithPriority(priority int) PutOption {
	return func(s *putSettings) { s.defaults.Priority = priority }
}

// WithDelay holds the task back this long before it becomes ready.
func WithDelay(d time.Duration) PutOption { return func(s *putSettings) { s.defaults.Delay = d } }

// WithTTR sets the lease length for whoever takes the task.
func WithTTR(d time.Duration) PutOption { return func(s *putSettings) { s.defaults.TTR = d } }

// WithMaxAttempts bounds the deliveries of the task (UnlimitedAttempts: no bound).
func WithMaxAttempts(n int) PutOption { return func(s *putSettings) { s.defaults.MaxAttempts = n } }

// WithRateKey sets the tasks' rate key, for the queue's per-key limits (protocol 2026-12).
func WithRateKey(key string) PutOption { return func(s *putSettings) { s.defaults.RateKey = key } }

// WithTimeout bounds the wait for room in a bounded queue, after which the put fails with
// ErrQueueFull; NoWait fails at once. Default: as long as it takes (or until ctx is done).
func WithTimeout(d time.Duration) PutOption { return func(s *putSettings) { s.timeout = d } }

// Put enqueues one task and returns its id. The payload is encoded with encoding/json.
func (q *Queue) Put(ctx context.Context, payload any, opts ...PutOption) (string, error) {
	ids, err := q.PutMany(ctx, []TaskSpec{{Payload: payload}}, opts...)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// PutMany enqueues tasks and returns their ids, in order. Options fill in the fields a
// spec leaves zero. A list longer than the manager's batch limit is sent in several
// requests, each all-or-nothing: on an error, the ids returned are those put so far.
func (q *Queue) PutMany(ctx context.Context, tasks []TaskSpec, opts ...PutOption) ([]string, error) {
	var settings putSettings
	for _, opt := range opts {
		opt(&settings)
	}
	wire := make([]wireTaskSpec, len(tasks))
	for i, spec := range tasks {
		w, err := settings.wireSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("taskwire: task %d: %w", i, err)
		}
		wire[i] = w
	}
	batch := max(q.client.Limits().MaxBatch, 1)
	ids := make([]string, 0, len(tasks))
	for start := 0; start < len(wire); start += batch {
		params := putParams{Queue: q.name, Tasks: wire[start:min(start+batch, len(wire))], Timeout: seconds(settings.timeout)}
		var result struct {
			IDs []string `json:"ids"`
		}
		if err := q.client.call(ctx, "queue/put", params, &result, nil); err != nil {
			return ids, err
		}
		ids = append(ids, result.IDs...)
	}
	return ids, nil
}

// wireSpec applies the options' defaults to spec and encodes it.
func (s *putSettings) wireSpec(spec TaskSpec) (wireTaskSpec, error) {
	d := s.defaults
	if spec.Priority == 0 {
		spec.Priority = d.Priority
	}
	if spec.Delay == 0 {
		spec.Delay = d.Delay
	}
	if spec.TTR == 0 {
		spec.TTR = d.TTR
	}
	if spec.ReplyTo == "" {
		spec.ReplyTo = d.ReplyTo
	}
	if spec.MaxAttempts == 0 {
		spec.MaxAttempts = d.MaxAttempts
	}
	if spec.RateKey == "" {
		spec.RateKey = d.RateKey
	}
	payload, err := marshal(spec.Payload)
	if err != nil {
		return wireTaskSpec{}, fmt.Errorf("encode the payload: %w", err)
	}
	w := wireTaskSpec{Payload: payload, Priority: spec.Priority, Delay: seconds(spec.Delay), TTR: seconds(spec.TTR), ReplyTo: spec.ReplyTo, RateKey: spec.RateKey}
	if spec.MaxAttempts != 0 {
		attempts := max(spec.MaxAttempts, 0) // UnlimitedAttempts is 0 on the wire
		w.MaxAttempts = &attempts
	}
	if spec.Unique != nil {
		w.Unique = &wireUnique{Key: spec.Unique.Key, Scope: spec.Unique.Scope, TTL: seconds(spec.Unique.TTL)}
	}
	return w, nil
}

// PutUnique enqueues one task unless a task of the queue holds unique.Key (spec §7.21): then
// it adds nothing and answers the holder's id with Duplicate true. Needs protocol 2026-12.
func (q *Queue) PutUnique(ctx context.Context, payload any, unique Unique, opts ...PutOption) (UniquePut, error) {
	var settings putSettings
	for _, opt := range opts {
		opt(&settings)
	}
	w, err := settings.wireSpec(TaskSpec{Payload: payload, Unique: &unique})
	if err != nil {
		return UniquePut{}, fmt.Errorf("taskwire: %w", err)
	}
	var result putResult
	params := putParams{Queue: q.name, Tasks: []wireTaskSpec{w}, Timeout: seconds(settings.timeout)}
	if err := q.client.call(ctx, "queue/put", params, &result, nil); err != nil {
		return UniquePut{}, err
	}
	if len(result.IDs) != 1 {
		return UniquePut{}, fmt.Errorf("taskwire: the manager answered %d ids for one task", len(result.IDs))
	}
	return UniquePut{ID: result.IDs[0], Duplicate: len(result.Duplicates) == 1 && result.Duplicates[0]}, nil
}

// Get takes one task, leased to this client until it is acked, nacked or its lease ends
// (unless opts.AutoAck). It returns ErrEmpty when opts.Timeout passes with no task ready.
// Cancelling ctx withdraws the request on the manager and returns ctx.Err(); should the
// manager have delivered a task before the cancellation reached it, Get returns the task
// instead, so that no task is left leased to nobody.
func (q *Queue) Get(ctx context.Context, opts GetOptions) (*Task, error) {
	tasks, err := q.GetMany(ctx, 1, opts)
	if err != nil {
		return nil, err
	}
	return tasks[0], nil
}

// GetMany takes up to n tasks, as many as are ready as soon as one is (it does not wait
// to fill n). It returns ErrEmpty when opts.Timeout passes with no task ready, and
// handles ctx like Get.
func (q *Queue) GetMany(ctx context.Context, n int, opts GetOptions) ([]*Task, error) {
	var result tasksResult
	cn, err := q.client.callOn(ctx, "queue/get", opts.params(q.name, n), &result, nil)
	if err != nil {
		return nil, err
	}
	if len(result.Tasks) == 0 {
		return nil, ErrEmpty
	}
	for _, task := range result.Tasks {
		task.client, task.conn = q.client, cn
	}
	return result.Tasks, nil
}

// params are the params of a get of up to n tasks from queue with these options, as
// queue/get and task/ack's next take them.
func (opts GetOptions) params(queue string, n int) getParams {
	return getParams{Queue: queue, Max: n, Timeout: seconds(opts.Timeout), TTR: seconds(opts.TTR), AutoAck: opts.AutoAck}
}

// Join waits until the queue has nothing ready, delayed or leased (Python's Queue.join,
// with Ack as task_done). It returns false when timeout passed first; zero waits as long
// as it takes (or until ctx is done), NoWait answers at once.
func (q *Queue) Join(ctx context.Context, timeout time.Duration) (bool, error) {
	var result struct {
		Done bool `json:"done"`
	}
	err := q.client.call(ctx, "queue/join", joinParams{Queue: q.name, Timeout: seconds(timeout)}, &result, nil)
	return result.Done, err
}

// Stats returns the queue's depths, options and counters.
func (q *Queue) Stats(ctx context.Context) (*QueueStats, error) {
	var stats QueueStats
	if err := q.client.call(ctx, "queue/stats", queueParams{Queue: q.name}, &stats, nil); err != nil {
		return nil, err
	}
	return &stats, nil
}

// Pause pauses the queue (protocol 2026-12, spec §7.19): puts are still accepted, gets deliver
// nothing until Resume (a Get with a timeout returns ErrEmpty when it passes); tasks already
// taken run on. It creates the queue if it does not exist yet, and returns its stats.
func (q *Queue) Pause(ctx context.Context) (*QueueStats, error) {
	return q.setPaused(ctx, "queue/pause")
}

// Resume resumes a paused queue: the gets waiting on it, on any manager of a shared store, are
// served. It returns the queue's stats.
func (q *Queue) Resume(ctx context.Context) (*QueueStats, error) {
	return q.setPaused(ctx, "queue/resume")
}

func (q *Queue) setPaused(ctx context.Context, method string) (*QueueStats, error) {
	var stats QueueStats
	if err := q.client.call(ctx, method, queueParams{Queue: q.name}, &stats, nil); err != nil {
		return nil, err
	}
	return &stats, nil
}

// Peek returns up to n of the next ready tasks in delivery order, without leasing or
// removing anything; anyone may take them right after.
func (q *Queue) Peek(ctx context.Context, n int) ([]*Task, error) {
	var result tasksResult
	if err := q.client.call(ctx, "queue/peek", peekParams{Queue: q.name, Max: n}, &result, nil); err != nil {
		return nil, err
	}
	for _, task := range result.Tasks {
		task.client = q.client
	}
	return result.Tasks, nil
}

// Purge removes every ready and delayed task and returns how many it removed. Leased
// tasks stay with their holders.
func (q *Queue) Purge(ctx context.Context) (int, error) {
	var result struct {
		Removed int `json:"removed"`
	}
	err := q.client.call(ctx, "queue/purge", queueParams{Queue: q.name}, &result, nil)
	return result.Removed, err
}
