// Package cmd_test runs the seed's pair, cmd/scheduler and cmd/worker, as the programs
// they are: built with go build and run against a real manager.
package cmd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"taskwire.dev/samples/go/internal/managertest"
	"taskwire.dev/samples/go/taskwire"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// programs builds cmd/worker and cmd/scheduler once for all tests and returns their folder.
func programs(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "taskwire-go-cmd-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-o", binDir+string(filepath.Separator), "./cmd/worker", "./cmd/scheduler")
		build.Dir = ".." // the module root, from samples/go/cmd
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// startManager starts a manager of the test's own, stopped when the test ends.
func startManager(t *testing.T) *managertest.Manager {
	t.Helper()
	manager, err := managertest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := manager.Stop(); err != nil {
			t.Error(err)
		}
	})
	return manager
}

// program is a command started by a test, with its output collected.
type program struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
}

// start runs a built program with args and, added to the environment without TASKWIRE_*
// variables, env. The test's context kills it if it hangs.
func start(ctx context.Context, t *testing.T, name string, env []string, args ...string) *program {
	t.Helper()
	p := &program{cmd: exec.CommandContext(ctx, filepath.Join(programs(t), name), args...)}
	p.cmd.Env = append(managertest.WithoutTaskwireEnv(os.Environ()), env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait waits for the program and fails the test unless it exited with the wanted code.
func (p *program) wait(t *testing.T, want int) {
	t.Helper()
	got := 0
	if err := p.cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%s: %v", filepath.Base(p.cmd.Path), err)
		}
		got = exit.ExitCode()
	}
	if got != want {
		t.Fatalf("%s exited with code %d, want %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(p.cmd.Path), got, want, &p.stdout, &p.stderr)
	}
}

// dial connects a test client to the manager.
func dial(ctx context.Context, t *testing.T, manager *managertest.Manager) *taskwire.Client {
	t.Helper()
	client, err := taskwire.Dial(ctx, taskwire.Options{Addr: manager.Addr, AuthkeyFile: manager.AuthkeyFile, Name: "go-cmd-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// waitForGetters waits until n gets wait on the queue: the workers are ready.
func waitForGetters(ctx context.Context, t *testing.T, q *taskwire.Queue, n int) {
	t.Helper()
	for {
		stats, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stats.WaitingGetters == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d workers waiting on %s", stats.WaitingGetters, n, q.Name())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var runLine = regexp.MustCompile(`(?m)^run task \S+: (image_url_\d) \(attempt 1\)$`)

func TestSchedulerAndTwoWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	programs(t)
	manager := startManager(t)
	client := dial(ctx, t, manager)

	// One worker configured with flags, the other with the environment.
	host, port, _ := net.SplitHostPort(manager.Addr)
	workers := []*program{
		start(ctx, t, "worker", nil, "-addr", manager.Addr, "-authkey-file", manager.AuthkeyFile, "-sleep", "100ms", "-timeout", "2s"),
		start(ctx, t, "worker", []string{"TASKWIRE_HOST=" + host, "TASKWIRE_PORT=" + port, "TASKWIRE_AUTHKEY_FILE=" + manager.AuthkeyFile}, "-sleep", "100ms", "-timeout", "2s"),
	}
	waitForGetters(ctx, t, client.Queue("tasks"), len(workers))

	scheduler := start(ctx, t, "scheduler", nil, "-addr", manager.Addr, "-authkey-file", manager.AuthkeyFile)
	scheduler.wait(t, 0)
	for i := range 10 {
		if want := fmt.Sprintf("image_url_%d ---> success\n", i); !strings.Contains(scheduler.stdout.String(), want) {
			t.Errorf("the scheduler did not print %q:\n%s", want, &scheduler.stdout)
		}
	}

	taken := map[string]int{}
	for i, worker := range workers {
		worker.wait(t, 0)
		runs := runLine.FindAllStringSubmatch(worker.stdout.String(), -1)
		if len(runs) == 0 {
			t.Errorf("worker %d took no task:\n%s", i, &worker.stdout)
		}
		for _, run := range runs {
			taken[run[1]]++
		}
		if !strings.Contains(worker.stdout.String(), "task queue is empty") {
			t.Errorf("worker %d did not report the empty queue:\n%s", i, &worker.stdout)
		}
	}
	if len(taken) != 10 {
		t.Errorf("the workers took %d distinct tasks, want 10: %v", len(taken), taken)
	}
	for url, n := range taken {
		if n != 1 {
			t.Errorf("%s was run %d times", url, n)
		}
	}
}

// The worker's loop acks each task and takes the next in one exchange: a proxy between
// the worker and the manager sees the handshake, one get, and then one task/ack per task.
func TestWorkerTakesTheNextTaskWithEachAck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	programs(t)
	manager := startManager(t)
	proxy, err := managertest.StartProxy(manager.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	client := dial(ctx, t, manager)
	tasks, results := client.Queue("tasks"), client.Queue("results")
	const n = 5
	ids := map[string]bool{}
	for i := range n {
		id, err := tasks.Put(ctx, fmt.Sprintf("image_url_%d", i), taskwire.WithReplyTo("results"))
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}

	worker := start(ctx, t, "worker", nil, "-addr", proxy.Addr, "-authkey-file", manager.AuthkeyFile, "-sleep", "0s", "-timeout", "1s")
	worker.wait(t, 0)
	if want := fmt.Sprintf("exits after %d tasks", n); !strings.Contains(worker.stdout.String(), want) {
		t.Errorf("the worker did not print %q:\n%s", want, &worker.stdout)
	}
	want := []string{"session/hello", "session/authenticate", "queue/get"}
	for range n {
		want = append(want, "task/ack")
	}
	want = append(want, "session/close") // Close says the worker stops (protocol 2026-12)
	// The worker may exit before the proxy has relayed its last frame: give the relay a moment.
	sent := proxy.Methods()
	for deadline := time.Now().Add(5 * time.Second); len(sent) < len(want) && time.Now().Before(deadline); sent = proxy.Methods() {
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Join(sent, " ") != strings.Join(want, " ") {
		t.Errorf("the worker sent %v, want %v", sent, want)
	}
	for range n {
		result, err := results.Get(ctx, taskwire.GetOptions{Timeout: 5 * time.Second, AutoAck: true})
		if err != nil {
			t.Fatal(err)
		}
		var routed struct {
			TaskID string `json:"taskId"`
		}
		if err := result.Decode(&routed); err != nil || !ids[routed.TaskID] {
			t.Fatalf("result %s (%v) is not of a task put", result.Payload, err)
		}
		delete(ids, routed.TaskID)
	}
}

// A worker stopped in the middle of a task gives it back: the next one takes it again.
func TestInterruptedWorkerGivesItsTaskBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	programs(t)
	manager := startManager(t)
	tasks := dial(ctx, t, manager).Queue("tasks")

	worker := start(ctx, t, "worker", nil, "-addr", manager.Addr, "-authkey-file", manager.AuthkeyFile, "-sleep", "1h")
	waitForGetters(ctx, t, tasks, 1)
	id, err := tasks.Put(ctx, "image_url_0")
	if err != nil {
		t.Fatal(err)
	}
	observer := dial(ctx, t, manager)
	for held(ctx, t, observer) != 1 {
		time.Sleep(20 * time.Millisecond)
	}
	if err := worker.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	worker.wait(t, 130)

	task, err := tasks.Get(ctx, taskwire.GetOptions{Timeout: 5 * time.Second})
	if err != nil || task.ID != id || task.Attempt != 2 {
		t.Fatalf("want task %s on attempt 2, got %+v, %v", id, task, err)
	}
}

// held is the number of tasks go-worker sessions hold.
func held(ctx context.Context, t *testing.T, client *taskwire.Client) int {
	t.Helper()
	clients, err := client.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range clients {
		if c.Name == "go-worker" {
			n += c.Leased
		}
	}
	return n
}

func TestWorkerWithTheWrongKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	programs(t)
	manager := startManager(t)
	wrongKey := filepath.Join(t.TempDir(), "authkey")
	if err := os.WriteFile(wrongKey, []byte("not the key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	worker := start(ctx, t, "worker", nil, "-addr", manager.Addr, "-authkey-file", wrongKey)
	worker.wait(t, 1)
	if !strings.Contains(worker.stderr.String(), "authentication failed") {
		t.Errorf("stderr: %s", &worker.stderr)
	}
}

// The manager restarts (on the same port and data dir) while the worker program has a task
// in hand: the worker reconnects, reports the lost lease, runs the task again (attempt 2)
// and goes on with new tasks.
func TestWorkerCarriesOnWhenTheManagerRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	programs(t)
	manager, err := managertest.Start(t.TempDir(), "--data-dir", filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := manager.Stop(); err != nil {
			t.Error(err)
		}
	})
	client, err := taskwire.Dial(ctx, taskwire.Options{Addr: manager.Addr, AuthkeyFile: manager.AuthkeyFile, Name: "go-cmd-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	tasks, results := client.Queue("tasks"), client.Queue("results")

	// Each "download" takes 3 s: time enough to restart the manager during the first.
	worker := start(ctx, t, "worker", nil, "-addr", manager.Addr, "-authkey-file", manager.AuthkeyFile, "-sleep", "3s", "-timeout", "1m")
	waitForGetters(ctx, t, tasks, 1)
	first, err := tasks.Put(ctx, "image_url_0", taskwire.WithReplyTo("results"))
	if err != nil {
		t.Fatal(err)
	}
	for held(ctx, t, client) != 1 {
		time.Sleep(20 * time.Millisecond)
	}
	if err := manager.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := manager.StartAgain(); err != nil {
		t.Fatal(err)
	}
	second, err := tasks.Put(ctx, "image_url_1", taskwire.WithReplyTo("results")) // waits for the test client's own reconnect
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 2 {
		result, err := results.Get(ctx, taskwire.GetOptions{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("waiting for results: %v\nworker stdout:\n%s\nstderr:\n%s", err, &worker.stdout, &worker.stderr)
		}
		var routed struct {
			TaskID string `json:"taskId"`
			Result string `json:"result"`
		}
		if err := result.Decode(&routed); err != nil {
			t.Fatal(err)
		}
		got[routed.TaskID+" "+routed.Result] = true
		if err := result.Ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !got[first+" image_url_0 ---> success"] || !got[second+" image_url_1 ---> success"] {
		t.Errorf("results %v", got)
	}

	if err := worker.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	worker.wait(t, 130)
	out := worker.stdout.String()
	for _, want := range []string{
		"lost the connection to the manager",
		"reconnected to the manager",
		fmt.Sprintf("task %s went back to the queue with the lost connection; it will be run again", first),
		fmt.Sprintf("run task %s: image_url_0 (attempt 2)", first),
		fmt.Sprintf("run task %s: image_url_1 (attempt 1)", second),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the worker did not print %q:\n%s", want, out)
		}
	}
}
