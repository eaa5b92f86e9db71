package taskwire_test

import (
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// RateKey against a real manager (spec §7.22): a key over its keyRate never holds up another
// key's task, and Stats shows the limits and the tasks waiting for budget.
func TestRateKeyServesTheNextKeyWithBudget(t *testing.T) {
	worker := dial(t, taskwire.Options{Name: "go-rate-worker"})
	name := queueName(t)
	// The Go client has no declare of its own: the generic Call sends queue/declare.
	declare := map[string]any{"queue": name, "keyRate": map[string]any{"max": 1, "period": 600}, "keyConcurrency": 2}
	if err := worker.Call(testContext(t), "queue/declare", declare, nil); err != nil {
		t.Fatal(err)
	}
	q := worker.Queue(name)
	mustPut(t, q, "a1", taskwire.WithRateKey("a.example"))
	if _, err := q.PutMany(testContext(t), []taskwire.TaskSpec{{Payload: "a2"}, {Payload: "b1", RateKey: "b.example"}}, taskwire.WithRateKey("a.example")); err != nil {
		t.Fatal(err)
	}
	first := mustGet(t, q, taskwire.GetOptions{Timeout: 2 * time.Second})
	second := mustGet(t, q, taskwire.GetOptions{Timeout: 2 * time.Second})
	if string(first.Payload) != `"a1"` || string(second.Payload) != `"b1"` {
		t.Errorf("got %s then %s; want a1, then b1 (a.example is over its rate)", first.Payload, second.Payload)
	}
	stats, err := q.Stats(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if stats.KeyRate == nil || stats.KeyRate.Max != 1 || stats.KeyRate.Period != 600 || stats.KeyConcurrency != 2 || stats.Throttled != 1 || stats.Rate != nil {
		t.Errorf("stats %+v (keyRate %+v)", stats, stats.KeyRate)
	}
}
