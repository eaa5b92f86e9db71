package taskwire_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// Task.Progress against a real manager (spec §5.20): the report renews the lease, reaches a
// subscriber as a progress event and shows on the holder's registry entry until the ack.
func TestProgressReachesEventsAndTheRegistry(t *testing.T) {
	monitor := dial(t, taskwire.Options{Name: "go-progress-monitor", Role: taskwire.RoleMonitor})
	worker := dial(t, taskwire.Options{Name: "go-progress-worker"})
	name := queueName(t)
	events, cancel, err := monitor.Subscribe(testContext(t), taskwire.EventFilter{Queues: []string{name}, Kinds: []taskwire.EventKind{taskwire.EventProgress}})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	q := worker.Queue(name)
	mustPut(t, q, "https://example.com/")
	task := mustGet(t, q, taskwire.GetOptions{TTR: 30 * time.Second})
	first := task.LeaseUntil
	time.Sleep(20 * time.Millisecond)

	until, err := task.Progress(testContext(t), taskwire.Progress{Percent: taskwire.Percent(40), Message: "fetching page 2", Detail: map[string]int{"page": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !until.After(first) || !task.LeaseUntil.Equal(until) {
		t.Errorf("the lease was not renewed: %v, then %v (task says %v)", first, until, task.LeaseUntil)
	}
	event := nextEvent(t, events, func(e taskwire.Event) bool { return e.Kind == taskwire.EventProgress })
	if event.TaskID != task.ID || event.Percent == nil || *event.Percent != 40 || event.Message != "fetching page 2" || string(event.Detail) != `{"page":2}` {
		t.Errorf("unexpected progress event %+v (detail %s)", event, event.Detail)
	}
	if event.Client == nil || event.Client.Name != "go-progress-worker" {
		t.Errorf("the event names %+v, not the worker", event.Client)
	}

	if _, err := task.Progress(testContext(t), taskwire.Progress{Message: "parsing"}); err != nil {
		t.Fatal(err)
	}
	held := heldBy(t, monitor, "go-progress-worker")
	if len(held) != 1 || held[0].ID != task.ID || held[0].Queue != name || held[0].Progress == nil || held[0].Progress.Message != "parsing" || held[0].Progress.Percent != nil {
		raw, _ := json.Marshal(held)
		t.Fatalf("held tasks %s", raw)
	}
	if err := task.Ack(testContext(t), nil); err != nil {
		t.Fatal(err)
	}
	if held := heldBy(t, monitor, "go-progress-worker"); len(held) != 0 {
		t.Errorf("still held after the ack: %+v", held)
	}
}

func TestProgressErrors(t *testing.T) {
	worker := dial(t, taskwire.Options{Name: "go-progress-errors"})
	q := worker.Queue(queueName(t))
	mustPut(t, q, "x")
	task := mustGet(t, q, taskwire.GetOptions{})
	if _, err := task.Progress(testContext(t), taskwire.Progress{}); err == nil || err.Error() != "taskwire: a progress report needs a Percent or a Message" {
		t.Errorf("an empty report: %v", err)
	}
	_, err := task.Progress(testContext(t), taskwire.Progress{Percent: taskwire.Percent(150)})
	if re := remote(t, err); re.Code != -32602 || re.Message != `invalid params: "percent" must be <= 100` {
		t.Errorf("percent 150: %v", re)
	}
	if err := task.Ack(testContext(t), nil); err != nil {
		t.Fatal(err)
	}
	_, err = task.Progress(testContext(t), taskwire.Progress{Percent: taskwire.Percent(100)})
	if !errors.Is(err, taskwire.ErrLeaseUnknown) {
		t.Errorf("progress after the ack: %v, want ErrLeaseUnknown", err)
	}
}

func heldBy(t *testing.T, monitor *taskwire.Client, name string) []taskwire.HeldTask {
	t.Helper()
	clients, err := monitor.Clients(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if c.Name == name {
			return c.Tasks
		}
	}
	t.Fatalf("%s is not in the registry", name)
	return nil
}
