package taskwire_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// Quiet and stop (protocol 2026-12, spec §7.20) against the real manager: Options.OnState and
// State, Queue.Work obeying (quiet: no other task taken; stopping: the task in hand acked, the
// client closed, Work returns nil), and ErrSessionNotFound.

func TestWorkObeysQuietThenStop(t *testing.T) {
	ctx := testContext(t)
	var mu sync.Mutex
	var states []string
	worker := dial(t, taskwire.Options{Name: "go-work", OnState: func(state string) {
		mu.Lock()
		states = append(states, state)
		mu.Unlock()
	}})
	operator := dial(t, taskwire.Options{Name: "go-operator", Role: taskwire.RoleMonitor})
	name := queueName(t)
	tasks := operator.Queue(name)
	for _, payload := range []string{"first", "second"} {
		if _, err := tasks.Put(ctx, payload); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	type outcome struct {
		handled int
		err     error
	}
	done := make(chan outcome, 1)
	go func() {
		handled, err := worker.Queue(name).Work(ctx, func(ctx context.Context, task *taskwire.Task) (any, error) {
			started <- struct{}{}
			<-release
			return "done", nil
		}, taskwire.GetOptions{})
		done <- outcome{handled, err}
	}()
	<-started
	result, err := operator.QuietClient(ctx, worker.SessionID())
	if err != nil || result.State != taskwire.StateQuiet || !result.Notified {
		t.Fatalf("QuietClient: %+v, %v", result, err)
	}
	if state, err := worker.WaitState(ctx, taskwire.StateActive); state != taskwire.StateQuiet || err != nil {
		t.Fatalf("WaitState: %q, %v", state, err)
	}
	close(release)
	waitFor(t, "the first ack", func() bool { s, _ := tasks.Stats(ctx); return s != nil && s.Totals.Acked == 1 })
	time.Sleep(300 * time.Millisecond)
	if s, _ := tasks.Stats(ctx); s.Ready != 1 {
		t.Fatalf("quiet: the second task was taken: %+v", s)
	}
	if _, err := operator.StopClient(ctx, worker.SessionID()); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-done:
		if o.err != nil || o.handled != 1 {
			t.Fatalf("Work returned %d, %v; want 1, nil", o.handled, o.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Work did not return after stop")
	}
	if _, err := worker.Ping(ctx); !errors.Is(err, taskwire.ErrClosed) {
		t.Fatalf("after stop the client is closed; Ping: %v", err)
	}
	waitFor(t, "both states reported", func() bool { mu.Lock(); defer mu.Unlock(); return len(states) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if states[0] != taskwire.StateQuiet || states[1] != taskwire.StateStopping {
		t.Fatalf("OnState saw %v", states)
	}
}

func TestQuietOfAnUnknownSession(t *testing.T) {
	client := dial(t, taskwire.Options{})
	_, err := client.QuietClient(testContext(t), "s-gone")
	var remote *taskwire.RemoteError
	if !errors.Is(err, taskwire.ErrSessionNotFound) || !errors.As(err, &remote) || remote.Data.Session != "s-gone" {
		t.Fatalf("want ErrSessionNotFound with data.session, got %v", err)
	}
}

func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
