package taskwire_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

func TestQueueFull(t *testing.T) {
	client := dial(t, taskwire.Options{})
	ctx := testContext(t)
	bounded := client.Queue("bounded") // maxsize=1, declared by the manager's --queue
	t.Cleanup(func() { bounded.Purge(context.Background()) })

	if _, err := bounded.Put(ctx, "fits", taskwire.WithTimeout(taskwire.NoWait)); err != nil {
		t.Fatal(err)
	}
	_, err := bounded.Put(ctx, "does not fit", taskwire.WithTimeout(taskwire.NoWait))
	if !errors.Is(err, taskwire.ErrQueueFull) {
		t.Fatalf("want ErrQueueFull, got %v", err)
	}
	re := remote(t, err)
	if re.Code != taskwire.CodeQueueFull || re.Data == nil || re.Data.Reason != "queue_full" || re.Data.Queue != "bounded" || re.Data.Maxsize != 1 {
		t.Errorf("error %+v, data %+v", re, re.Data)
	}

	// With a timeout, the put waits for room and then gives up.
	start := time.Now()
	if _, err := bounded.Put(ctx, "waits", taskwire.WithTimeout(200*time.Millisecond)); !errors.Is(err, taskwire.ErrQueueFull) {
		t.Fatalf("want ErrQueueFull after the timeout, got %v", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", waited)
	}

	// A blocked put is withdrawn by its context, like a get.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := bounded.Put(short, "waits for ever"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded, got %v", err)
	}
	if s := stats(t, bounded); s.WaitingPutters != 0 || s.Ready != 1 {
		t.Fatalf("after the withdrawn put: %+v", s)
	}
}

func TestAckingTwiceIsLeaseUnknown(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	ctx := testContext(t)
	id := mustPut(t, q, "once")
	task := mustGet(t, q, taskwire.GetOptions{})
	if err := task.Ack(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	err := task.Ack(ctx, "done again")
	if !errors.Is(err, taskwire.ErrLeaseUnknown) {
		t.Fatalf("want ErrLeaseUnknown, got %v", err)
	}
	if re := remote(t, err); re.Data == nil || re.Data.Reason != "lease_unknown" || !slices.Equal(re.Data.IDs, []string{id}) {
		t.Errorf("error data %+v", re.Data)
	}
	if err := task.Nack(ctx, taskwire.NackOptions{}); !errors.Is(err, taskwire.ErrLeaseUnknown) {
		t.Errorf("nack after ack: want ErrLeaseUnknown, got %v", err)
	}
}

func TestInvalidParams(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	_, err := q.Put(testContext(t), "x", taskwire.WithPriority(2_000_000)) // the bound is ±1,000,000
	if !errors.Is(err, taskwire.ErrInvalidParams) {
		t.Fatalf("want ErrInvalidParams, got %v", err)
	}
	if re := remote(t, err); re.Data == nil || re.Data.Field != "/tasks/0/priority" {
		t.Errorf("error data %+v", re.Data)
	}
	if errors.Is(err, taskwire.ErrQueueFull) {
		t.Error("an invalid-params error matches ErrQueueFull")
	}
	if s := stats(t, q); s.Totals.Put != 0 {
		t.Errorf("a refused put enqueued %d tasks", s.Totals.Put)
	}
}

func TestPayloadTooLarge(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	_, err := q.Put(testContext(t), strings.Repeat("x", 70_000)) // the manager's limit is 65536
	if !errors.Is(err, taskwire.ErrPayloadTooLarge) {
		t.Fatalf("want ErrPayloadTooLarge, got %v", err)
	}
	if re := remote(t, err); re.Data == nil || string(re.Data.Limit) != "65536" {
		t.Errorf("error data %+v", re.Data)
	}
}

func TestBatchAboveTheLimit(t *testing.T) {
	q := dial(t, taskwire.Options{}).Queue(queueName(t))
	_, err := q.GetMany(testContext(t), 101, taskwire.GetOptions{Timeout: taskwire.NoWait}) // maxBatch is 100
	if !errors.Is(err, taskwire.ErrLimitExceeded) {
		t.Fatalf("want ErrLimitExceeded, got %v", err)
	}
	if re := remote(t, err); re.Data == nil || string(re.Data.Limit) != `"maxBatch"` || re.Data.Max != 100 {
		t.Errorf("error data %+v", re.Data)
	}
}

// A manager stopped by its operator answers blocked requests with -32005 and closes; a
// client that does not reconnect is then closed (reconnect_test.go has one that does).
func TestManagerShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a manager of its own")
	}
	own := startManager(t)
	client, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: own.Addr, AuthkeyFile: own.AuthkeyFile, Reconnect: taskwire.ReconnectOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	q := client.Queue("tasks")
	ctx := testContext(t)
	got := make(chan error, 1)
	go func() {
		_, err := q.Get(ctx, taskwire.GetOptions{})
		got <- err
	}()
	eventually(t, "the get waits on the manager", func() bool { return stats(t, q).WaitingGetters == 1 })
	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, taskwire.ErrShuttingDown) {
		t.Fatalf("want ErrShuttingDown, got %v", err)
	}
	if _, err := client.Ping(ctx); !errors.Is(err, taskwire.ErrClosed) {
		t.Fatalf("after the shutdown: want ErrClosed, got %v", err)
	}
}
