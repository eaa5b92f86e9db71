// Command controlledworker is a worker for the tests of quiet and stop (spec §7.20): it runs
// Queue.Work on $WORKER_QUEUE, and each task's handler waits until the file its payload names
// ({"release": PATH}) exists, so that a test decides when the task in hand is finished. It
// prints "SESSION <id>" once connected, "TOOK <task>", "DONE <task>", "STATE <state>" for each
// change the operator makes, and "EXIT <handled>" when Work returns; it exits 0 then.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

func main() {
	ctx := context.Background()
	client, err := taskwire.Dial(ctx, taskwire.Options{
		Name: "controlled-go-worker", Role: taskwire.RoleWorker,
		Reconnect: taskwire.ReconnectOptions{Disabled: true},
		OnState:   func(state string) { fmt.Printf("STATE %s\n", state) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlledworker:", err)
		os.Exit(1)
	}
	fmt.Printf("SESSION %s\n", client.SessionID())
	handled, err := client.Queue(os.Getenv("WORKER_QUEUE")).Work(ctx, func(ctx context.Context, task *taskwire.Task) (any, error) {
		fmt.Printf("TOOK %s\n", task.ID)
		var payload struct {
			Release string `json:"release"`
		}
		if err := task.Decode(&payload); err != nil {
			return nil, err
		}
		for {
			if _, err := os.Stat(payload.Release); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Printf("DONE %s\n", task.ID)
		return "done", nil
	}, taskwire.GetOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlledworker:", err)
		os.Exit(1)
	}
	fmt.Printf("EXIT %d\n", handled)
}
