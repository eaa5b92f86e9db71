// Command scheduler is the seed's server process on Taskwire: it puts ten tasks,
// image_url_0 to image_url_9, on the queue "tasks" with replyTo "results", then reads ten
// results from "results", waiting at most 10 s for each, and prints them.
//
//	go run ./cmd/scheduler                   # manager on this machine, its default key file
//	go run ./cmd/scheduler -addr 10.0.0.5:8001 -authkey-file ./authkey
//
// Unlike the seed it does not shut the manager down: the manager outlives its producers.
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

// taskCount is the seed's number of tasks.
const taskCount = 10

type config struct {
	addr        string
	authkeyFile string
	timeout     time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "", "the manager's host:port, or several to fail over between: h1:7400,h2:7400 (default: $TASKWIRE_HOST:$TASKWIRE_PORT, else 127.0.0.1:7400)")
	flag.StringVar(&cfg.authkeyFile, "authkey-file", "", "file holding the key (default: $TASKWIRE_AUTHKEY, $TASKWIRE_AUTHKEY_FILE, else ~/.taskwire/authkey)")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "how long to wait for each result")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "scheduler: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	client, err := taskwire.Dial(ctx, taskwire.Options{Addr: cfg.addr, AuthkeyFile: cfg.authkeyFile, Name: "go-scheduler", Role: taskwire.RoleProducer})
	if err != nil {
		return err
	}
	defer client.Close()

	// One round trip for all ten tasks, where the seed made one call per task.
	specs := make([]taskwire.TaskSpec, taskCount)
	for i := range specs {
		specs[i].Payload = fmt.Sprintf("image_url_%d", i)
	}
	ids, err := client.Queue("tasks").PutMany(ctx, specs, taskwire.WithReplyTo("results"))
	if err != nil {
		return err
	}
	for i, id := range ids {
		fmt.Printf("put task %s: %s\n", id, specs[i].Payload)
	}

	// AutoAck: a result is read once and is done; nothing to acknowledge.
	results := client.Queue("results")
	for received := 0; received < taskCount; received++ {
		reply, err := results.Get(ctx, taskwire.GetOptions{Timeout: cfg.timeout, AutoAck: true})
		if errors.Is(err, taskwire.ErrEmpty) {
			return fmt.Errorf("no result in %v (%d of %d received): is a worker running?", cfg.timeout, received, taskCount)
		} else if err != nil {
			return err
		}
		var routed struct {
			TaskID string          `json:"taskId"`
			Result json.RawMessage `json:"result"`
		}
		if err := reply.Decode(&routed); err != nil {
			return fmt.Errorf("result %s: %w", reply.ID, err)
		}
		fmt.Printf("result of task %s: %s\n", routed.TaskID, text(routed.Result))
	}
	return nil
}

// text shows a JSON string as its text and any other JSON value as JSON.
func text(value json.RawMessage) string {
	var s string
	if json.Unmarshal(value, &s) == nil {
		return s
	}
	return string(value)
}
