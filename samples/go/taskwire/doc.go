// Package taskwire is a Go client for Taskwire managers: named task queues on the network,
// spoken as JSON-RPC 2.0 over TCP with one JSON message per line (spec/protocol.md).
//
// Dial connects and runs the mutual handshake: the client proves it holds the shared key,
// then checks that the manager proves it too. A Queue puts and takes tasks; a Task taken
// without AutoAck is leased to this client until it is acked, nacked or the lease ends, and
// a result given to Ack goes to the task's replyTo queue.
//
//	client, err := taskwire.Dial(ctx, taskwire.Options{Addr: "127.0.0.1:7400"})
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	tasks := client.Queue("tasks")
//	for {
//		task, err := tasks.Get(ctx, taskwire.GetOptions{Timeout: 5 * time.Second})
//		if errors.Is(err, taskwire.ErrEmpty) {
//			return nil // the queue stayed empty: done
//		} else if err != nil {
//			return err
//		}
//		var url string
//		if err := task.Decode(&url); err != nil {
//			return err
//		}
//		if err := task.Ack(ctx, url+" ---> success"); err != nil {
//			return err
//		}
//	}
//
// Every method takes a context. Cancelling the context of a blocked Get, Put or Join
// withdraws the request on the manager ($/cancelRequest) and returns ctx.Err(); cancelling
// other requests stops the wait for their answer, though the manager may still apply them.
//
// Errors the manager answers are *RemoteError values; match them with errors.Is against
// ErrQueueFull, ErrLeaseUnknown and the other sentinels of the error registry, or use
// errors.As for the code and data. Local conditions are ErrEmpty, ErrClosed,
// ErrServerProof and ErrNoAuthkey.
//
// A Client is safe for concurrent use by several goroutines; a Task is meant for the one
// goroutine that works on it. A Client does not reconnect: when its connection drops,
// requests fail with ErrClosed, the manager releases the tasks it held, and a program that
// wants to carry on dials again.
package taskwire
