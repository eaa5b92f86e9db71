package taskwire_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"taskwire.dev/samples/go/internal/managertest"
	"taskwire.dev/samples/go/taskwire"
)

// The tests of this file: Task.AckAndGetNext against the reference manager, which announces
// ackNext (spec §5.9.1), counting the frames the client sends through a proxy; and its
// fallback, an ack then a get, against a fake manager that does not announce it.

// dialThroughProxy connects to the shared manager through a proxy that records the
// methods of the frames the client sends.
func dialThroughProxy(t *testing.T) (*taskwire.Client, *managertest.Proxy) {
	t.Helper()
	proxy, err := managertest.StartProxy(manager.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	client := dial(t, taskwire.Options{Addr: proxy.Addr})
	return client, proxy
}

// routedResults reads the results routed to a results queue, by task id.
func routedResults(t *testing.T, results *taskwire.Queue, n int) map[string]string {
	t.Helper()
	got := map[string]string{}
	for range n {
		var routed struct {
			TaskID string `json:"taskId"`
			Result string `json:"result"`
		}
		if err := mustGet(t, results, taskwire.GetOptions{AutoAck: true}).Decode(&routed); err != nil {
			t.Fatal(err)
		}
		got[routed.TaskID] = routed.Result
	}
	return got
}

func TestAckAndGetNextIsOneExchange(t *testing.T) {
	client, proxy := dialThroughProxy(t)
	if !client.Capabilities().AckNext {
		t.Fatalf("the reference manager does not announce ackNext: %+v", client.Capabilities())
	}
	ctx := testContext(t)
	q := client.Queue(queueName(t))
	results := client.Queue(queueName(t) + ".results")
	first := mustPut(t, q, "image_url_0", taskwire.WithReplyTo(results.Name()))
	second := mustPut(t, q, "image_url_1", taskwire.WithReplyTo(results.Name()))
	task := mustGet(t, q, taskwire.GetOptions{})
	if task.ID != first {
		t.Fatalf("got %s, want %s", task.ID, first)
	}

	proxy.Reset()
	next, err := task.AckAndGetNext(ctx, "image_url_0 ---> success", taskwire.GetOptions{Timeout: 5 * time.Second, TTR: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var payload string
	if err := next.Decode(&payload); err != nil {
		t.Fatal(err)
	}
	if next.ID != second || payload != "image_url_1" || next.Attempt != 1 || next.Queue != q.Name() || next.ReplyTo != results.Name() {
		t.Fatalf("next task %+v", next)
	}
	if left := time.Until(next.LeaseUntil); left < 20*time.Second || left > 31*time.Second {
		t.Errorf("the next task's lease ends in %v, want about the 30 s asked for", left)
	}
	if sent := proxy.Methods(); !slices.Equal(sent, []string{"task/ack"}) {
		t.Fatalf("the client sent %v, want one task/ack", sent)
	}
	if s := stats(t, q); s.Ready != 0 || s.Leased != 1 || s.Totals.Acked != 1 {
		t.Fatalf("stats after the first ack %+v", s)
	}

	// The next task is leased to this client like a got one: it acks (with next) the same way.
	proxy.Reset()
	if _, err := next.AckAndGetNext(ctx, "image_url_1 ---> success", taskwire.GetOptions{Timeout: taskwire.NoWait}); !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("with nothing ready and timeout 0: want ErrEmpty, got %v", err)
	}
	if sent := proxy.Methods(); !slices.Equal(sent, []string{"task/ack"}) {
		t.Fatalf("the client sent %v, want one task/ack", sent)
	}
	if s := stats(t, q); s.Ready != 0 || s.Leased != 0 || s.Totals.Acked != 2 {
		t.Fatalf("stats after the second ack %+v", s)
	}
	want := map[string]string{first: "image_url_0 ---> success", second: "image_url_1 ---> success"}
	if got := routedResults(t, results, 2); !maps.Equal(got, want) {
		t.Fatalf("routed results %v, want %v", got, want)
	}
}

// A worker's loop written with AckAndGetNext: one get to start, then one exchange per task.
func TestWorkerLoopCostsOneExchangePerTask(t *testing.T) {
	client, proxy := dialThroughProxy(t)
	ctx := testContext(t)
	q := client.Queue(queueName(t))
	const n = 20
	specs := make([]taskwire.TaskSpec, n)
	for i := range specs {
		specs[i].Payload = i
	}
	if _, err := q.PutMany(ctx, specs); err != nil {
		t.Fatal(err)
	}

	proxy.Reset()
	var done []int
	task, err := q.Get(ctx, taskwire.GetOptions{Timeout: 5 * time.Second})
	for err == nil {
		var i int
		if err := task.Decode(&i); err != nil {
			t.Fatal(err)
		}
		done = append(done, i)
		task, err = task.AckAndGetNext(ctx, i*i, taskwire.GetOptions{Timeout: taskwire.NoWait})
	}
	if !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("the loop ended with %v, want ErrEmpty", err)
	}
	if len(done) != n || !slices.IsSorted(done) {
		t.Fatalf("the loop did %v, want 0 to %d in order", done, n-1)
	}
	want := []string{"queue/get"}
	for range n {
		want = append(want, "task/ack")
	}
	if sent := proxy.Methods(); !slices.Equal(sent, want) {
		t.Fatalf("the loop sent %d frames %v, want one get and %d acks", len(sent), sent, n)
	}
	if s := stats(t, q); s.Ready != 0 || s.Leased != 0 || s.Totals.Acked != n {
		t.Fatalf("stats after the loop %+v", s)
	}
}

// The ack is applied before the wait for the next task: the wait ends with a task put
// meanwhile, or with ErrEmpty at the timeout.
func TestAckAndGetNextWaitsForTheNextTask(t *testing.T) {
	client := dial(t, taskwire.Options{})
	producer := dial(t, taskwire.Options{Name: "go-test-producer", Role: taskwire.RoleProducer})
	ctx := testContext(t)
	q := client.Queue(queueName(t))
	mustPut(t, q, "first")
	task := mustGet(t, q, taskwire.GetOptions{})

	got := make(chan *taskwire.Task, 1)
	failed := make(chan error, 1)
	go func() {
		next, err := task.AckAndGetNext(ctx, nil, taskwire.GetOptions{Timeout: 20 * time.Second})
		if err != nil {
			failed <- err
			return
		}
		got <- next
	}()
	eventually(t, "the ack is applied and the wait for the next task has begun", func() bool {
		s := stats(t, q)
		return s.Totals.Acked == 1 && s.Leased == 0 && s.WaitingGetters == 1
	})
	id := mustPut(t, producer.Queue(q.Name()), "second")
	select {
	case next := <-got:
		if next.ID != id || next.Attempt != 1 {
			t.Fatalf("next task %+v, want %s", next, id)
		}
		task = next
	case err := <-failed:
		t.Fatal(err)
	}

	start := time.Now()
	if _, err := task.AckAndGetNext(ctx, nil, taskwire.GetOptions{Timeout: 200 * time.Millisecond}); !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("want ErrEmpty at the timeout, got %v", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("returned after %v, before the timeout", waited)
	}
	if s := stats(t, q); s.Totals.Acked != 2 || s.Leased != 0 || s.WaitingGetters != 0 {
		t.Fatalf("stats after the timeout %+v", s)
	}
}

// Cancelling the wait for the next task leaves the ack applied, and the manager says so;
// a context that ended before the call sends nothing.
func TestCancelledAckAndGetNextKeepsTheAck(t *testing.T) {
	client := dial(t, taskwire.Options{})
	q := client.Queue(queueName(t))
	id := mustPut(t, q, "work")
	task := mustGet(t, q, taskwire.GetOptions{})

	ended, cancelEnded := context.WithCancel(testContext(t))
	cancelEnded()
	if _, err := task.AckAndGetNext(ended, nil, taskwire.GetOptions{}); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "acked") {
		t.Fatalf("with a context already ended: want context.Canceled and no ack, got %v", err)
	}
	if s := stats(t, q); s.Leased != 1 || s.Totals.Acked != 0 {
		t.Fatalf("a context already ended sent the ack: %+v", s)
	}

	ctx, cancel := context.WithCancel(testContext(t))
	returned := make(chan error, 1)
	go func() {
		next, err := task.AckAndGetNext(ctx, "done", taskwire.GetOptions{}) // no timeout: waits until cancelled
		if next != nil {
			err = fmt.Errorf("got task %s from an empty queue", next.ID)
		}
		returned <- err
	}()
	eventually(t, "the wait for the next task has begun", func() bool { return stats(t, q).WaitingGetters == 1 })
	cancel()
	err := <-returned
	if !errors.Is(err, context.Canceled) || errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("want an error wrapping context.Canceled (not ErrEmpty), got %v", err)
	}
	if want := "task " + id + " was acked"; !strings.Contains(err.Error(), want) {
		t.Errorf("the error %q does not say %q", err, want)
	}
	if s := stats(t, q); s.Totals.Acked != 1 || s.Leased != 0 || s.WaitingGetters != 0 {
		t.Fatalf("stats after the cancellation %+v: want the ack applied and no waiter", s)
	}
	// The withdrawn wait cannot swallow the next task.
	next := mustPut(t, q, "after the cancellation")
	if got := mustGet(t, q, taskwire.GetOptions{}); got.ID != next || got.Attempt != 1 {
		t.Fatalf("got %+v, want task %s on its first attempt", got, next)
	}
}

// The manager checks the request whole before it applies anything: an ack it refuses
// takes nothing, and a next it refuses leaves the task unacked.
func TestAckAndGetNextRefusedAppliesNothing(t *testing.T) {
	client := dial(t, taskwire.Options{})
	ctx := testContext(t)
	q := client.Queue(queueName(t))
	mustPut(t, q, "a")
	mustPut(t, q, "b")
	task := mustGet(t, q, taskwire.GetOptions{})

	// 101 tasks: above the shared manager's --max-batch 100.
	_, err := task.AckAndGetMany(ctx, nil, 101, taskwire.GetOptions{Timeout: taskwire.NoWait})
	if !errors.Is(err, taskwire.ErrLimitExceeded) || strings.Contains(err.Error(), "acked") {
		t.Fatalf("next with max 101: want ErrLimitExceeded, got %v", err)
	}
	if s := stats(t, q); s.Leased != 1 || s.Ready != 1 || s.Totals.Acked != 0 {
		t.Fatalf("a refused next applied something: %+v", s)
	}

	if err := task.Ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = task.AckAndGetNext(ctx, nil, taskwire.GetOptions{Timeout: taskwire.NoWait})
	if re := remote(t, err); re.Code != taskwire.CodeLeaseUnknown || !slices.Equal(re.Data.IDs, []string{task.ID}) {
		t.Fatalf("acking an acked task again: %+v", re)
	}
	if s := stats(t, q); s.Ready != 1 || s.Leased != 0 {
		t.Fatalf("a refused ack took the next task: %+v", s)
	}

	batch, err := task.AckAndGetMany(ctx, nil, 5, taskwire.GetOptions{Timeout: taskwire.NoWait})
	if err == nil || batch != nil {
		t.Fatalf("AckAndGetMany of an acked task: %v, %v", batch, err)
	}
}

// A task whose connection closed reports its lost lease, as Ack does, and sends nothing.
func TestAckAndGetNextAfterCloseReportsTheLostLease(t *testing.T) {
	client := dial(t, taskwire.Options{})
	q := client.Queue(queueName(t))
	mustPut(t, q, "work")
	task := mustGet(t, q, taskwire.GetOptions{})
	client.Close()
	_, err := task.AckAndGetNext(testContext(t), nil, taskwire.GetOptions{})
	var lost *taskwire.LeaseLostError
	if !errors.As(err, &lost) || lost.InFlight || !errors.Is(err, taskwire.ErrClosed) || !slices.Equal(lost.IDs, []string{task.ID}) {
		t.Fatalf("want a *LeaseLostError for %s, got %v", task.ID, err)
	}
}

// A manager that does not announce ackNext gets the ack, then a get: the same effect in
// two exchanges, with nothing it does not know (no next member).
func TestAckAndGetNextFallsBackToAckThenGet(t *testing.T) {
	task := func(id string) map[string]any {
		return map[string]any{"id": id, "queue": "tasks", "payload": "image_url_" + id, "attempt": 1, "priority": 0, "enqueuedAt": "2026-11-03T09:14:08.101Z", "leaseUntil": "2026-11-03T09:15:08.101Z"}
	}
	// expect reads a request and checks its params against want, as JSON.
	expect := func(p *fakePeer, method, want string) (message, error) {
		req, err := p.read(method)
		if err != nil {
			return req, err
		}
		var got, wanted any
		if err := json.Unmarshal(req.Params, &got); err != nil {
			return req, err
		}
		if err := json.Unmarshal([]byte(want), &wanted); err != nil {
			return req, err
		}
		if fmt.Sprint(got) != fmt.Sprint(wanted) {
			return req, fmt.Errorf("%s params %s, want %s", method, req.Params, want)
		}
		return req, nil
	}
	addr := fakeManager(t, func(p *fakePeer) error {
		if err := p.handshake(fakeKey); err != nil { // capabilities without ackNext
			return err
		}
		steps := []struct {
			method, params string
			result         any
		}{
			{"queue/get", `{"queue":"tasks","max":1,"timeout":5}`, map[string]any{"tasks": []any{task("t-1")}}},
			{"task/ack", `{"acks":[{"id":"t-1","result":"image_url_t-1 ---> success"}]}`, map[string]any{"acked": 1}},
			{"queue/get", `{"queue":"tasks","max":1,"timeout":5}`, map[string]any{"tasks": []any{task("t-2")}}},
			{"task/ack", `{"acks":[{"id":"t-2"}]}`, map[string]any{"acked": 1}},
			{"queue/get", `{"queue":"tasks","max":1,"timeout":0}`, map[string]any{"tasks": []any{}}},
			{"queue/get", `{"queue":"tasks","max":1,"timeout":5}`, map[string]any{"tasks": []any{task("t-3")}}},
			{"task/ack", `{"acks":[{"id":"t-3"}]}`, map[string]any{"acked": 1}},
		}
		for _, step := range steps {
			req, err := expect(p, step.method, step.params)
			if err != nil {
				return err
			}
			if err := p.reply(req, step.result); err != nil {
				return err
			}
		}
		// The last get fails on the manager, after the ack was applied.
		req, err := expect(p, "queue/get", `{"queue":"tasks","max":1,"timeout":5}`)
		if err != nil {
			return err
		}
		return p.send(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": 1001, "message": "queue not found", "data": map[string]any{"reason": "queue_not_found", "queue": "tasks"}}})
	})
	client, err := dialFake(t, addr)
	if err != nil {
		t.Fatal(err)
	}
	if client.Capabilities().AckNext {
		t.Fatal("the fake manager announces no ackNext")
	}
	ctx := testContext(t)
	wait := taskwire.GetOptions{Timeout: 5 * time.Second}
	first, err := client.Queue("tasks").Get(ctx, wait)
	if err != nil {
		t.Fatal(err)
	}
	second, err := first.AckAndGetNext(ctx, "image_url_t-1 ---> success", wait)
	if err != nil || second.ID != "t-2" {
		t.Fatalf("want t-2, got %+v, %v", second, err)
	}
	if _, err := second.AckAndGetNext(ctx, nil, taskwire.GetOptions{Timeout: taskwire.NoWait}); !errors.Is(err, taskwire.ErrEmpty) {
		t.Fatalf("want ErrEmpty, got %v", err)
	}
	third, err := client.Queue("tasks").Get(ctx, wait)
	if err != nil {
		t.Fatal(err)
	}
	_, err = third.AckAndGetNext(ctx, nil, wait)
	if !errors.Is(err, taskwire.ErrQueueNotFound) || !strings.Contains(err.Error(), "task t-3 was acked, but no next task was taken") {
		t.Fatalf("a get refused after the ack: want ErrQueueNotFound naming the acked task, got %v", err)
	}
}

// A manager that stops while an ack waits for its next task has applied the ack (and, with
// --data-dir, kept it): the error says the request may have been applied, and after the
// restart the task is not delivered again.
func TestAckAndGetNextWaitingWhenTheManagerStops(t *testing.T) {
	own := startManager(t, "--data-dir", filepath.Join(t.TempDir(), "data"))
	client := dialOwn(t, own, taskwire.Options{Name: "go-test-acknext-stop", Reconnect: fastReconnect})
	ctx := restartContext(t)
	q, results := client.Queue("jobs"), client.Queue("results")
	id := mustPut(t, q, "image_url_0", taskwire.WithReplyTo(results.Name()))
	task := mustGet(t, q, taskwire.GetOptions{})

	returned := make(chan error, 1)
	go func() {
		_, err := task.AckAndGetNext(ctx, "image_url_0 ---> success", taskwire.GetOptions{})
		returned <- err
	}()
	eventually(t, "the wait for the next task has begun", func() bool { return stats(t, q).WaitingGetters == 1 })
	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	err := <-returned
	var lost *taskwire.LeaseLostError
	if !errors.As(err, &lost) || !lost.InFlight || !(errors.Is(err, taskwire.ErrShuttingDown) || errors.Is(err, taskwire.ErrClosed)) {
		t.Fatalf("want a *LeaseLostError that may have been applied, got %v", err)
	}

	if err := own.StartAgain(); err != nil {
		t.Fatal(err)
	}
	if err := client.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, q); s.Ready != 0 || s.Leased != 0 || s.Delayed != 0 {
		t.Fatalf("the acked task is back after the restart: %+v", s)
	}
	if got := routedResults(t, results, 1); got[id] != "image_url_0 ---> success" {
		t.Fatalf("routed results after the restart %v", got)
	}
}
