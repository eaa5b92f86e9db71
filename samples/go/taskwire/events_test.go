package taskwire_test

import (
	"context"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// nextEvent returns the next event that passes keep, failing the test after five seconds.
func nextEvent(t *testing.T, events <-chan taskwire.Event, keep func(taskwire.Event) bool) taskwire.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case event, ok := <-events:
			if !ok {
				t.Fatal("the event channel closed")
			}
			if keep(event) {
				return event
			}
		case <-timeout:
			t.Fatal("no event in 5 s")
		}
	}
}

// closesSoon fails the test unless events is closed within five seconds.
func closesSoon(t *testing.T, events <-chan taskwire.Event) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("the event channel is still open")
		}
	}
}

func TestSubscribeFollowsATask(t *testing.T) {
	monitor := dial(t, taskwire.Options{Name: "go-test-monitor", Role: taskwire.RoleMonitor})
	worker := dial(t, taskwire.Options{Name: "go-test-worker"})
	name := queueName(t)
	events, cancel, err := monitor.Subscribe(testContext(t), taskwire.EventFilter{Queues: []string{name}, IncludePayload: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	q := worker.Queue(name)
	id := mustPut(t, q, "image_url_8", taskwire.WithReplyTo(name+".results"))
	if err := mustGet(t, q, taskwire.GetOptions{}).Ack(testContext(t), "image_url_8 ---> success"); err != nil {
		t.Fatal(err)
	}

	onQueue := func(e taskwire.Event) bool { return e.Queue == name } // client events always pass
	for _, kind := range []taskwire.EventKind{taskwire.EventPut, taskwire.EventGet, taskwire.EventAck} {
		event := nextEvent(t, events, onQueue)
		if event.Kind != kind || event.TaskID != id || event.Attempt != 1 || event.At.IsZero() {
			t.Fatalf("want a %s event of task %s, got %+v", kind, id, event)
		}
		if event.Client == nil || event.Client.SessionID != worker.SessionID() || event.Client.Name != "go-test-worker" {
			t.Errorf("%s event client %+v", kind, event.Client)
		}
		switch kind {
		case taskwire.EventAck:
			if string(event.Result) != `"image_url_8 ---> success"` {
				t.Errorf("ack event result %s", event.Result)
			}
		default:
			if string(event.Payload) != `"image_url_8"` {
				t.Errorf("%s event payload %s", kind, event.Payload)
			}
		}
	}
	cancel()
	closesSoon(t, events)
}

func TestSubscribeToClientEventsUntilTheContextEnds(t *testing.T) {
	monitor := dial(t, taskwire.Options{Role: taskwire.RoleMonitor})
	ctx, cancel := context.WithCancel(testContext(t))
	events, _, err := monitor.Subscribe(ctx, taskwire.EventFilter{Kinds: []taskwire.EventKind{taskwire.EventClientConnected}})
	if err != nil {
		t.Fatal(err)
	}
	newcomer := dial(t, taskwire.Options{Name: "go-test-newcomer"})
	event := nextEvent(t, events, func(e taskwire.Event) bool { return e.Client != nil && e.Client.SessionID == newcomer.SessionID() })
	if event.Kind != taskwire.EventClientConnected || event.Client.Name != "go-test-newcomer" {
		t.Fatalf("event %+v", event)
	}
	cancel()
	closesSoon(t, events)
}

func TestSubscriptionsEndWithTheConnection(t *testing.T) {
	monitor := dial(t, taskwire.Options{Role: taskwire.RoleMonitor})
	events, cancel, err := monitor.Subscribe(testContext(t), taskwire.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	monitor.Close()
	closesSoon(t, events)
	cancel() // harmless after the close
}
