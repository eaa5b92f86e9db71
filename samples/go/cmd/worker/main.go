// Command worker is the seed's task process on Taskwire: it takes tasks from the queue
// "tasks", "downloads" each one (a sleep), and acks it with "<url> ---> success", which the
// manager routes to the task's replyTo queue. Each ack also takes the next task, so that a
// task costs one exchange with the manager. It exits once the queue has stayed empty for
// the timeout. Start as many as you like: the tasks are shared between them.
//
//	go run ./cmd/worker                      # manager on this machine, its default key file
//	go run ./cmd/worker -addr 10.0.0.5:8001 -authkey-file ./authkey
//
// Ctrl+C withdraws a waiting get; a task in hand goes back to the queue when the
// connection closes, and another worker takes it (with attempt 2).
//
// An operator can quiet it (taskwire workers quiet SESSION: it finishes the task in hand and
// takes no other) or stop it (taskwire workers stop SESSION: it finishes the task in hand,
// then exits with 0), protocol 2026-12.
//
// When the manager restarts (or the network drops the connection), the worker reconnects
// with back-off and carries on. The task it had in hand went back to the queue with the
// old connection: its ack reports the lost lease, and the task comes again (attempt 2),
// to this worker or another. A wrong key after a restart ends the worker with exit code 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

type config struct {
	addr        string
	authkeyFile string
	sleep       time.Duration
	timeout     time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "", "the manager's host:port, or several to fail over between: h1:7400,h2:7400 (default: $TASKWIRE_HOST:$TASKWIRE_PORT, else 127.0.0.1:7400)")
	flag.StringVar(&cfg.authkeyFile, "authkey-file", "", "file holding the key (default: $TASKWIRE_AUTHKEY, $TASKWIRE_AUTHKEY_FILE, else ~/.taskwire/authkey)")
	// The seed sleeps 1 s per "download"; keep its pace so that several workers visibly share the work.
	flag.DurationVar(&cfg.sleep, "sleep", time.Second, "how long one \"download\" takes")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "exit once the queue stays empty this long")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg)
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Printf("worker %d interrupted; the manager gives any task it held back to the queue\n", os.Getpid())
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "worker: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	client, err := taskwire.Dial(ctx, taskwire.Options{
		Addr: cfg.addr, AuthkeyFile: cfg.authkeyFile, Name: "go-worker", Role: taskwire.RoleWorker,
		OnConnectionEvent: report, // reconnecting is on by default
	})
	if err != nil {
		return err
	}
	defer client.Close()
	pid := os.Getpid()
	fmt.Printf("worker %d connected to %s; waiting for tasks\n", pid, client.Addr())

	tasks := client.Queue("tasks")
	wait := taskwire.GetOptions{Timeout: cfg.timeout}
	// task is the task to run next: taken by the ack of the previous one (one exchange per
	// task), or by a get when there is none in hand.
	var task *taskwire.Task
	for done := 0; ; {
		if task == nil {
			switch client.State() {
			case taskwire.StateStopping:
				fmt.Printf("told to stop: worker %d exits after %d tasks\n", pid, done)
				return nil
			case taskwire.StateQuiet:
				fmt.Printf("told to go quiet: worker %d takes no new task\n", pid)
				if _, err := client.WaitState(ctx, taskwire.StateQuiet); err != nil {
					return err
				}
				continue
			}
			task, err = tasks.Get(ctx, wait)
			switch {
			case errors.Is(err, taskwire.ErrEmpty) && client.State() != taskwire.StateActive:
				continue // answered empty because an operator quieted this worker
			case errors.Is(err, taskwire.ErrEmpty):
				fmt.Printf("task queue is empty: worker %d exits after %d tasks\n", pid, done)
				return nil
			case lostConnection(err) && client.WillReconnect():
				continue // the next get waits for the reconnect
			case err != nil:
				return err
			}
		}
		url := text(task.Payload)
		fmt.Printf("run task %s: %s (attempt %d)\n", task.ID, url, task.Attempt)
		if err := download(ctx, cfg.sleep); err != nil {
			return err
		}
		if client.State() != taskwire.StateActive {
			// Quieted or stopped meanwhile: ack this task, take no other.
			if err := task.Ack(ctx, url+" ---> success"); err != nil && !errors.Is(err, taskwire.ErrLeaseUnknown) {
				return err
			}
			done++
			task = nil
			continue
		}
		// Ack the task and take the next one in the same exchange.
		next, err := task.AckAndGetNext(ctx, url+" ---> success", wait)
		switch {
		case errors.Is(err, taskwire.ErrLeaseLost):
			fmt.Printf("task %s went back to the queue with the lost connection; it will be run again\n", task.ID)
		case errors.Is(err, taskwire.ErrEmpty) && client.State() != taskwire.StateActive:
			done++ // acked; no next task for a quiet worker
		case errors.Is(err, taskwire.ErrEmpty):
			fmt.Printf("task queue is empty: worker %d exits after %d tasks\n", pid, done+1)
			return nil
		case lostConnection(err) && client.WillReconnect():
			done++ // acked; the connection dropped before the next task came
		case err != nil:
			return err
		default:
			done++
		}
		task = next
	}
}

// lostConnection tells the errors of a request the connection's end interrupted: the
// connection dropped, or the manager is shutting down.
func lostConnection(err error) bool {
	return errors.Is(err, taskwire.ErrClosed) || errors.Is(err, taskwire.ErrShuttingDown)
}

// report prints what happens to the connection.
func report(event taskwire.ConnectionEvent) {
	switch event.Kind {
	case taskwire.Disconnected:
		fmt.Printf("lost the connection to the manager (%v); reconnecting\n", event.Err)
	case taskwire.Reconnected:
		fmt.Printf("reconnected to the manager (session %s); waiting for tasks\n", event.SessionID)
	case taskwire.GaveUp:
		fmt.Printf("stopped reconnecting: %v\n", event.Err)
	}
}

// download stands for the real work.
func download(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// text shows a JSON string as its text and any other JSON value as JSON.
func text(value json.RawMessage) string {
	var s string
	if json.Unmarshal(value, &s) == nil {
		return s
	}
	return string(value)
}
