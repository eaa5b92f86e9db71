package taskwire_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"taskwire.dev/samples/go/internal/managertest"
	"taskwire.dev/samples/go/taskwire"
)

// manager is the real manager the tests of this package share. Each test uses queues of
// its own, named after the test.
var manager *managertest.Manager

// sharedManagerArgs give the tests a bounded queue and small limits to run into.
var sharedManagerArgs = []string{"--queue", "bounded:maxsize=1", "--max-payload-bytes", "65536", "--max-batch", "100"}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "taskwire-go-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	manager, err = managertest.Start(dir, sharedManagerArgs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the manager for the tests:", err)
		return 1
	}
	code := m.Run()
	if err := manager.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// testContext bounds every test, so that a hang fails instead of stalling CI.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects to the shared manager; fields left empty in opts get the manager's
// address and key. The client is closed when the test ends.
func dial(t *testing.T, opts taskwire.Options) *taskwire.Client {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = manager.Addr
	}
	if opts.Authkey == nil && opts.AuthkeyFile == "" {
		opts.AuthkeyFile = manager.AuthkeyFile
	}
	if opts.Name == "" {
		opts.Name = "go-test"
	}
	client, err := taskwire.Dial(testContext(t), opts)
	if err != nil {
		t.Fatalf("Dial: %v\nmanager log:\n%s", err, manager.Log())
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// queueNames holds each running test's queue name.
var (
	queueNames   sync.Map // *testing.T → string
	queueCounter atomic.Int64
)

// queueName is a queue no other test uses, not even the same test run again with -count.
func queueName(t *testing.T) string {
	if name, ok := queueNames.Load(t); ok {
		return name.(string)
	}
	name := fmt.Sprintf("go-test.%s.%d", strings.NewReplacer(" ", "_", "#", "-").Replace(t.Name()), queueCounter.Add(1))
	queueNames.Store(t, name)
	t.Cleanup(func() { queueNames.Delete(t) })
	return name
}

// remote returns err's *RemoteError, failing the test when there is none.
func remote(t *testing.T, err error) *taskwire.RemoteError {
	t.Helper()
	var re *taskwire.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("want a *RemoteError, got %T: %v", err, err)
	}
	return re
}

// eventually polls check until it returns true, for conditions the manager reaches on its
// own schedule (a waiter registered, a process connected).
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stats returns a queue's statistics, failing the test on an error.
func stats(t *testing.T, q *taskwire.Queue) *taskwire.QueueStats {
	t.Helper()
	s, err := q.Stats(testContext(t))
	if err != nil {
		t.Fatalf("Stats(%s): %v", q.Name(), err)
	}
	return s
}

// mustGet takes one task within five seconds, failing the test otherwise.
func mustGet(t *testing.T, q *taskwire.Queue, opts taskwire.GetOptions) *taskwire.Task {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	task, err := q.Get(testContext(t), opts)
	if err != nil {
		t.Fatalf("Get(%s): %v", q.Name(), err)
	}
	return task
}

// mustPut puts one task, failing the test on an error.
func mustPut(t *testing.T, q *taskwire.Queue, payload any, opts ...taskwire.PutOption) string {
	t.Helper()
	id, err := q.Put(testContext(t), payload, opts...)
	if err != nil {
		t.Fatalf("Put(%s): %v", q.Name(), err)
	}
	return id
}

// startManager starts a manager of the test's own, stopped when the test ends.
func startManager(t *testing.T, args ...string) *managertest.Manager {
	t.Helper()
	own, err := managertest.Start(t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := own.Stop(); err != nil {
			t.Error(err)
		}
	})
	return own
}
