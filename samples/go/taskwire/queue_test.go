package taskwire_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

func TestAckRoutesTheResultToReplyTo(t *testing.T) {
	client := dial(t, taskwire.Options{})
	ctx := testContext(t)
	tasks := client.Queue(queueName(t))
	results := client.Queue(queueName(t) + ".results")

	id := mustPut(t, tasks, "image_url_0", taskwire.WithReplyTo(results.Name()))
	task := mustGet(t, tasks, taskwire.GetOptions{})
	var url string
	if err := task.Decode(&url); err != nil {
		t.Fatal(err)
	}
	if task.ID != id || url != "image_url_0" || task.Attempt != 1 || task.ReplyTo != results.Name() || task.LeaseUntil.IsZero() {
		t.Fatalf("task %+v", task)
	}
	if err := task.Ack(ctx, url+" ---> success"); err != nil {
		t.Fatal(err)
	}

	reply := mustGet(t, results, taskwire.GetOptions{AutoAck: true})
	var routed struct {
		TaskID string `json:"taskId"`
		Result string `json:"result"`
	}
	if err := reply.Decode(&routed); err != nil {
		t.Fatal(err)
	}
	if routed.TaskID != id || routed.Result != "image_url_0 ---> success" || !reply.LeaseUntil.IsZero() {
		t.Fatalf("routed result %+v in %+v", routed, reply)
	}
	if s := stats(t, tasks); s.Ready+s.Leased+s.Delayed != 0 || s.Totals.Acked != 1 {
		t.Errorf("stats after the ack %+v", s)
	}
}

func TestGetTimesOutWithErrEmpty(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	start := time.Now()
	_, err := q.Get(testContext(t), taskwire.GetOptions{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("want ErrEmpty, got %v", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("returned after %v, before the timeout", waited)
	}
	if _, err := q.GetMany(testContext(t), 10, taskwire.GetOptions{Timeout: taskwire.NoWait}); !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("NoWait: want ErrEmpty, got %v", err)
	}
}

func TestCancellingABlockedGetWithdrawsIt(t *testing.T) {
	client := dial(t, taskwire.Options{})
	q := client.Queue(queueName(t))

	ctx, cancel := context.WithCancel(testContext(t))
	got := make(chan error, 1)
	go func() {
		task, err := q.Get(ctx, taskwire.GetOptions{}) // no timeout: waits until cancelled
		if task != nil {
			err = fmt.Errorf("got task %s from an empty queue", task.ID)
		}
		got <- err
	}()
	eventually(t, "the get waits on the manager", func() bool { return stats(t, q).WaitingGetters == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	// The manager answered the cancellation before Get returned, so the waiter is gone...
	if n := stats(t, q).WaitingGetters; n != 0 {
		t.Fatalf("%d waiting getters after the cancellation", n)
	}
	// ...and cannot swallow the next task.
	id := mustPut(t, q, "after the cancellation")
	if task := mustGet(t, q, taskwire.GetOptions{}); task.ID != id || task.Attempt != 1 {
		t.Fatalf("got %+v, want task %s on its first attempt", task, id)
	}

	// A deadline works the same way.
	short, cancelShort := context.WithTimeout(testContext(t), 100*time.Millisecond)
	defer cancelShort()
	if _, err := q.Get(short, taskwire.GetOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded, got %v", err)
	}
	if n := stats(t, q).WaitingGetters; n != 0 {
		t.Fatalf("%d waiting getters after the deadline", n)
	}
}

func TestNackWithDelay(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	ctx := testContext(t)
	id := mustPut(t, q, "flaky")
	first := mustGet(t, q, taskwire.GetOptions{})
	if err := first.Nack(ctx, taskwire.NackOptions{Error: "HTTP 503", Delay: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	nacked := time.Now()
	if s := stats(t, q); s.Delayed != 1 || s.Ready != 0 || s.Totals.Nacked != 1 {
		t.Fatalf("stats after the nack %+v", s)
	}
	if _, err := q.Get(ctx, taskwire.GetOptions{Timeout: taskwire.NoWait}); !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("the delayed task was delivered at once: %v", err)
	}
	second := mustGet(t, q, taskwire.GetOptions{})
	if waited := time.Since(nacked); waited < 400*time.Millisecond {
		t.Errorf("redelivered after %v, before the delay", waited)
	}
	if second.ID != id || second.Attempt != 2 || second.LastError != "HTTP 503" {
		t.Fatalf("redelivery %+v", second)
	}

	// NoWait as the delay: ready again at once.
	if err := second.Nack(ctx, taskwire.NackOptions{Delay: taskwire.NoWait}); err != nil {
		t.Fatal(err)
	}
	third, err := q.Get(ctx, taskwire.GetOptions{Timeout: taskwire.NoWait})
	if err != nil || third.Attempt != 3 {
		t.Fatalf("want attempt 3 at once, got %+v, %v", third, err)
	}
	if err := third.Ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

func TestTouchExtendsTheLease(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	ctx := testContext(t)
	mustPut(t, q, "long job")
	task := mustGet(t, q, taskwire.GetOptions{TTR: 2 * time.Second})
	if until := time.Until(task.LeaseUntil); until > 3*time.Second || until < 0 {
		t.Fatalf("lease ends in %v, want about 2 s", until)
	}
	until, err := task.Touch(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(until); left < 50*time.Second || !task.LeaseUntil.Equal(until) {
		t.Fatalf("touched lease ends in %v (task says %v)", left, task.LeaseUntil)
	}
	if err := task.Ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Touch(ctx, 0); !errors.Is(err, taskwire.ErrLeaseUnknown) {
		t.Fatalf("touch after ack: want ErrLeaseUnknown, got %v", err)
	}
}

func TestJoinWaitsUntilTheQueueIsDone(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	ctx := testContext(t)
	if done, err := q.Join(ctx, taskwire.NoWait); err != nil || !done {
		t.Fatalf("join of an empty queue: %v, %v", done, err)
	}
	mustPut(t, q, "work")
	if done, err := q.Join(ctx, 100*time.Millisecond); err != nil || done {
		t.Fatalf("join with a task queued: %v, %v", done, err)
	}
	joined := make(chan error, 1)
	go func() {
		done, err := q.Join(ctx, 10*time.Second)
		if err == nil && !done {
			err = errors.New("join timed out")
		}
		joined <- err
	}()
	task := mustGet(t, q, taskwire.GetOptions{})
	select {
	case err := <-joined:
		t.Fatalf("join returned while the task is leased: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := task.Ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-joined; err != nil {
		t.Fatal(err)
	}

	// A join without timeout is withdrawn by its context, like a get.
	mustPut(t, q, "never acked")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := q.Join(short, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded, got %v", err)
	}
}

func TestPeekShowsTheNextTasksInOrder(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	mustPut(t, q, "low")
	mustPut(t, q, "high", taskwire.WithPriority(5))
	mustPut(t, q, "mid", taskwire.WithPriority(1))
	peeked, err := q.Peek(testContext(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, task := range peeked {
		var p string
		task.Decode(&p)
		payloads = append(payloads, p)
		if !task.LeaseUntil.IsZero() || task.Attempt != 1 {
			t.Errorf("peeked task %+v", task)
		}
	}
	if !slices.Equal(payloads, []string{"high", "mid"}) {
		t.Fatalf("peeked %v, want [high mid]", payloads)
	}
	if s := stats(t, q); s.Ready != 3 || s.Leased != 0 {
		t.Fatalf("peek changed the queue: %+v", s)
	}
}

func TestPurgeRemovesReadyAndDelayedTasks(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	ctx := testContext(t)
	if _, err := q.PutMany(ctx, []taskwire.TaskSpec{{Payload: 1}, {Payload: 2}, {Payload: 3}, {Payload: 4, Delay: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	held := mustGet(t, q, taskwire.GetOptions{})
	removed, err := q.Purge(ctx)
	if err != nil || removed != 3 {
		t.Fatalf("purge removed %d (%v), want 3: 2 ready and 1 delayed", removed, err)
	}
	if s := stats(t, q); s.Ready != 0 || s.Delayed != 0 || s.Leased != 1 {
		t.Fatalf("stats after the purge %+v", s)
	}
	if err := held.Ack(ctx, nil); err != nil {
		t.Fatalf("the leased task stays with its holder: %v", err)
	}
}

func TestPauseHoldsDeliveriesUntilResume(t *testing.T) {
	client := dial(t, taskwire.Options{})
	q := client.Queue(queueName(t))
	ctx := testContext(t)
	if s, err := q.Pause(ctx); err != nil || !s.Paused {
		t.Fatalf("pause: %+v, %v", s, err)
	}
	id := mustPut(t, q, "held")
	if _, err := q.Get(ctx, taskwire.GetOptions{Timeout: 300 * time.Millisecond}); !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("a get on a paused queue: want ErrEmpty, got %v", err)
	}
	if s := stats(t, q); s.Ready != 1 || !s.Paused {
		t.Fatalf("stats while paused %+v", s)
	}
	got := make(chan *taskwire.Task, 1)
	go func() {
		task, err := q.Get(ctx, taskwire.GetOptions{Timeout: 20 * time.Second})
		if err != nil {
			t.Errorf("the blocked get: %v", err)
		}
		got <- task
	}()
	eventually(t, "the get waits on the paused queue", func() bool { return stats(t, q).WaitingGetters == 1 })
	if s, err := q.Resume(ctx); err != nil || s.Paused {
		t.Fatalf("resume: %+v, %v", s, err)
	}
	if task := <-got; task == nil || task.ID != id {
		t.Fatalf("after the resume the blocked get got %+v, want task %s", task, id)
	}
}

func TestStatsAndQueues(t *testing.T) {
	client := dial(t, taskwire.Options{})
	q := client.Queue(queueName(t))
	mustPut(t, q, "a")
	mustPut(t, q, "b")
	if err := mustGet(t, q, taskwire.GetOptions{}).Ack(testContext(t), nil); err != nil {
		t.Fatal(err)
	}
	s := stats(t, q)
	if s.Queue != q.Name() || s.Ready != 1 || s.Leased != 0 || s.Totals.Put != 2 || s.Totals.Acked != 1 || s.Maxsize != 0 {
		t.Errorf("stats %+v", s)
	}
	// The reference manager's defaults for a queue created on first use.
	if s.TTR.Duration() != time.Minute || s.MaxAttempts != 5 || s.DeadLetter == nil || *s.DeadLetter != q.Name()+".dead" {
		t.Errorf("options ttr=%v maxAttempts=%d deadLetter=%v", s.TTR, s.MaxAttempts, s.DeadLetter)
	}
	queues, err := client.Queues(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(queues, func(qs taskwire.QueueStats) bool { return qs.Queue == q.Name() && qs.Ready == 1 }) {
		t.Errorf("queue/list lacks %s", q.Name())
	}
}

func TestPutManySplitsAtTheBatchLimit(t *testing.T) {
	client := dial(t, taskwire.Options{})
	q := client.Queue(queueName(t))
	ctx := testContext(t)
	specs := make([]taskwire.TaskSpec, 250) // the manager's maxBatch is 100
	for i := range specs {
		specs[i].Payload = i
	}
	ids, err := q.PutMany(ctx, specs, taskwire.WithReplyTo(q.Name()+".results"), taskwire.WithPriority(2))
	if err != nil || len(ids) != 250 {
		t.Fatalf("PutMany: %d ids, %v", len(ids), err)
	}
	if s := stats(t, q); s.Ready != 250 {
		t.Fatalf("%d ready, want 250", s.Ready)
	}
	batch, err := q.GetMany(ctx, 100, taskwire.GetOptions{Timeout: 5 * time.Second})
	if err != nil || len(batch) != 100 {
		t.Fatalf("GetMany: %d tasks, %v", len(batch), err)
	}
	if batch[0].ID != ids[0] || batch[0].Priority != 2 || batch[0].ReplyTo != q.Name()+".results" {
		t.Errorf("first task %+v: the options did not apply", batch[0])
	}
	acks := make([]taskwire.Ack, len(batch))
	for i, task := range batch {
		acks[i] = taskwire.Ack{ID: task.ID, Result: "done"}
	}
	if n, err := client.AckMany(ctx, acks...); err != nil || n != 100 {
		t.Fatalf("AckMany: %d, %v", n, err)
	}
	if s := stats(t, client.Queue(q.Name()+".results")); s.Ready != 100 {
		t.Errorf("%d results routed, want 100", s.Ready)
	}
}

func TestLeaseIsRedeliveredAfterClose(t *testing.T) {
	first := dial(t, taskwire.Options{Name: "go-test-dies"})
	second := dial(t, taskwire.Options{Name: "go-test-survives"})
	id := mustPut(t, first.Queue(queueName(t)), "image_url_7")
	held := mustGet(t, first.Queue(queueName(t)), taskwire.GetOptions{})

	first.Close()
	task := mustGet(t, second.Queue(queueName(t)), taskwire.GetOptions{})
	if task.ID != id || task.Attempt != 2 {
		t.Fatalf("got %+v, want task %s on attempt 2", task, id)
	}
	if err := held.Ack(testContext(t), nil); !errors.Is(err, taskwire.ErrClosed) {
		t.Errorf("ack on a closed client: want ErrClosed, got %v", err)
	}
	if err := task.Ack(testContext(t), nil); err != nil {
		t.Fatal(err)
	}
}

func TestCloseSaysTheClientStoppedAndItsTaskGoesFirst(t *testing.T) {
	monitor := dial(t, taskwire.Options{Role: taskwire.RoleMonitor})
	name := queueName(t)
	events, _, err := monitor.Subscribe(testContext(t), taskwire.EventFilter{Queues: []string{name}, Kinds: []taskwire.EventKind{taskwire.EventReleased}})
	if err != nil {
		t.Fatal(err)
	}
	stopping := dial(t, taskwire.Options{Name: "go-test-stops"})
	first := mustPut(t, monitor.Queue(name), "first")
	mustPut(t, monitor.Queue(name), "second")
	mustGet(t, stopping.Queue(name), taskwire.GetOptions{})

	stopping.Close()
	event := nextEvent(t, events, func(e taskwire.Event) bool { return true })
	if event.Kind != taskwire.EventReleased || event.TaskID != first || event.Attempt != 1 || event.Error != "client stopped" {
		t.Fatalf("want a released event of %s with error \"client stopped\", got %+v", first, event)
	}
	// Released to the head: taken again before the task that waited.
	if task := mustGet(t, monitor.Queue(name), taskwire.GetOptions{}); task.ID != first || task.Attempt != 2 {
		t.Fatalf("got %+v, want task %s on attempt 2", task, first)
	}
	if s := stats(t, monitor.Queue(name)); s.Totals.Released != 1 {
		t.Errorf("totals %+v, want 1 released", s.Totals)
	}
}

func TestCloseFailsABlockedGet(t *testing.T) {
	client := dial(t, taskwire.Options{})
	q := client.Queue(queueName(t))
	ctx := testContext(t)
	got := make(chan error, 1)
	go func() {
		_, err := q.Get(ctx, taskwire.GetOptions{})
		got <- err
	}()
	eventually(t, "the get waits on the manager", func() bool { return stats(t, q).WaitingGetters == 1 })
	client.Close()
	if err := <-got; !errors.Is(err, taskwire.ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
}

func TestCallReachesUnwrappedMethods(t *testing.T) {
	client := dial(t, taskwire.Options{})
	ctx := testContext(t)
	var declared struct {
		Created bool `json:"created"`
	}
	if err := client.Call(ctx, "queue/declare", map[string]any{"queue": queueName(t), "maxsize": 5}, &declared); err != nil || !declared.Created {
		t.Fatalf("queue/declare: %+v, %v", declared, err)
	}
	if s := stats(t, client.Queue(queueName(t))); s.Maxsize != 5 {
		t.Errorf("maxsize %d after declare", s.Maxsize)
	}
	if err := client.Call(ctx, "queue/nonexistent", nil, nil); !errors.Is(err, taskwire.ErrMethodNotFound) {
		t.Errorf("want ErrMethodNotFound, got %v", err)
	}
}

func TestNackPermanentDeadLettersAtOnce(t *testing.T) {
	name := queueName(t)
	client := dial(t, taskwire.Options{})
	q := client.Queue(name)
	ctx := testContext(t)
	id := mustPut(t, q, "http://127.0.0.1/missing.png")
	task := mustGet(t, q, taskwire.GetOptions{})
	if err := task.Nack(ctx, taskwire.NackOptions{Error: "HTTP 404", Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, q); s.Ready != 0 || s.Delayed != 0 || s.Dead != 1 || s.Totals.DeadLettered != 1 {
		t.Fatalf("stats after a permanent nack %+v", s)
	}
	dead := mustGet(t, client.Queue(name+".dead"), taskwire.GetOptions{})
	if dead.ID != id || dead.Attempt != 1 || dead.LastError != "HTTP 404" || dead.DeadLetteredFrom != name {
		t.Fatalf("dead letter %+v", dead)
	}
}
