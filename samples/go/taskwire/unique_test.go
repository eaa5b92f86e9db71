package taskwire_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// Unique tasks (spec §7.21) against the real manager.
func TestPutUniqueAnswersTheHolderOfAHeldKey(t *testing.T) {
	client := dial(t, taskwire.Options{})
	ctx := testContext(t)
	q := client.Queue(queueName(t))

	first, err := q.PutUnique(ctx, "https://example.com/", taskwire.Unique{Key: "https://example.com/"})
	if err != nil || first.Duplicate {
		t.Fatalf("first put: %+v, %v", first, err)
	}
	again, err := q.PutUnique(ctx, "https://example.com/", taskwire.Unique{Key: "https://example.com/"})
	if err != nil || again != (taskwire.UniquePut{ID: first.ID, Duplicate: true}) {
		t.Fatalf("second put: %+v, %v (want a duplicate of %s)", again, err, first.ID)
	}
	active, err := q.PutUnique(ctx, "b", taskwire.Unique{Key: "b", Scope: taskwire.UniqueActive, TTL: time.Minute})
	if err != nil || active.Duplicate {
		t.Fatalf("active put: %+v, %v", active, err)
	}
	// Leased: scope queued frees its key, scope active keeps it.
	mustGet(t, q, taskwire.GetOptions{})
	mustGet(t, q, taskwire.GetOptions{})
	if got, err := q.PutUnique(ctx, "a2", taskwire.Unique{Key: "https://example.com/"}); err != nil || got.Duplicate {
		t.Fatalf("after the lease, scope queued: %+v, %v", got, err)
	}
	if got, err := q.PutUnique(ctx, "b2", taskwire.Unique{Key: "b"}); err != nil || got != (taskwire.UniquePut{ID: active.ID, Duplicate: true}) {
		t.Fatalf("after the lease, scope active: %+v, %v", got, err)
	}
	// PutMany with Unique on a spec answers the holder's id too.
	ids, err := q.PutMany(ctx, []taskwire.TaskSpec{{Payload: "b3", Unique: &taskwire.Unique{Key: "b"}}})
	if err != nil || len(ids) != 1 || ids[0] != active.ID {
		t.Fatalf("PutMany: %v, %v", ids, err)
	}
}

func TestPutUniqueRefusesAKeyTooLong(t *testing.T) {
	client := dial(t, taskwire.Options{})
	_, err := client.Queue(queueName(t)).PutUnique(testContext(t), "a", taskwire.Unique{Key: strings.Repeat("k", 257)})
	var remote *taskwire.RemoteError
	if !errors.As(err, &remote) || !strings.Contains(err.Error(), `"tasks/0/unique/key" must be at most 256 characters long`) {
		t.Fatalf("err = %v", err)
	}
}
