package taskwire_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// The seed's worker: take tasks until the queue stays empty for 5 s, ack each with a
// result that the manager routes to the task's replyTo queue. Each ack also takes the next
// task, so that a task costs one exchange with the manager.
func Example_worker() {
	ctx := context.Background()
	client, err := taskwire.Dial(ctx, taskwire.Options{Addr: "127.0.0.1:7400", AuthkeyFile: "authkey"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	wait := taskwire.GetOptions{Timeout: 5 * time.Second}
	task, err := client.Queue("tasks").Get(ctx, wait)
	for err == nil {
		var url string
		if err := task.Decode(&url); err != nil {
			log.Fatal(err)
		}
		time.Sleep(time.Second) // "download"
		task, err = task.AckAndGetNext(ctx, url+" ---> success", wait)
	}
	if !errors.Is(err, taskwire.ErrEmpty) {
		log.Fatal(err)
	}
	// The queue stayed empty: done.
}

// A producer puts tasks in one round trip, then reads their results with AutoAck.
func ExampleQueue_PutMany() {
	ctx := context.Background()
	client, err := taskwire.Dial(ctx, taskwire.Options{Role: taskwire.RoleProducer})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	specs := []taskwire.TaskSpec{{Payload: "image_url_0"}, {Payload: "image_url_1", Priority: 5}}
	if _, err := client.Queue("tasks").PutMany(ctx, specs, taskwire.WithReplyTo("results")); err != nil {
		log.Fatal(err)
	}
	for range specs {
		reply, err := client.Queue("results").Get(ctx, taskwire.GetOptions{Timeout: 10 * time.Second, AutoAck: true})
		if err != nil {
			log.Fatal(err)
		}
		var routed struct {
			TaskID string `json:"taskId"`
			Result string `json:"result"`
		}
		if err := reply.Decode(&routed); err != nil {
			log.Fatal(err)
		}
		fmt.Println(routed.Result)
	}
}

// Errors the manager answers match the registry's sentinels.
func ExampleRemoteError() {
	ctx := context.Background()
	client, err := taskwire.Dial(ctx, taskwire.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	_, err = client.Queue("bounded").Put(ctx, "image_url_0", taskwire.WithTimeout(taskwire.NoWait))
	var remote *taskwire.RemoteError
	switch {
	case errors.Is(err, taskwire.ErrQueueFull) && errors.As(err, &remote):
		fmt.Printf("no room in %s (maxsize %d)\n", remote.Data.Queue, remote.Data.Maxsize)
	case err != nil:
		log.Fatal(err)
	}
}

// Follow what happens on a queue until ctx ends.
func ExampleClient_Subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := taskwire.Dial(ctx, taskwire.Options{Role: taskwire.RoleMonitor})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	events, _, err := client.Subscribe(ctx, taskwire.EventFilter{Queues: []string{"tasks"}, IncludePayload: true})
	if err != nil {
		log.Fatal(err)
	}
	for event := range events {
		fmt.Println(event.Kind, event.TaskID, string(event.Payload))
	}
}
