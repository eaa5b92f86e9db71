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
//	wait := taskwire.GetOptions{Timeout: 5 * time.Second}
//	task, err := client.Queue("tasks").Get(ctx, wait)
//	for err == nil {
//		var url string
//		if err := task.Decode(&url); err != nil {
//			return err
//		}
//		// Ack, and take the next task in the same exchange.
//		task, err = task.AckAndGetNext(ctx, url+" ---> success", wait)
//	}
//	if errors.Is(err, taskwire.ErrEmpty) {
//		return nil // the queue stayed empty: done
//	}
//	return err
//
// Task.AckAndGetNext makes a worker's loop cost one round trip per task: the ack also takes
// the next task (task/ack with next, spec §5.9.1) when the manager announces
// Capabilities.AckNext, and is an ack followed by a get otherwise. Task.Ack and Queue.Get
// remain for a loop that needs them apart.
//
// Every method takes a context. Cancelling the context of a blocked Get, Put or Join
// withdraws the request on the manager ($/cancelRequest) and returns ctx.Err(); for an
// AckAndGetNext it withdraws the wait for the next task, and the ack stands. An Ack whose
// context ends once sent still waits for the manager's answer, and returns nil if the ack
// was applied. Cancelling other requests stops the wait for their answer, though the
// manager may still apply them.
//
// Errors the manager answers are *RemoteError values; match them with errors.Is against
// ErrQueueFull, ErrLeaseUnknown and the other sentinels of the error registry, or use
// errors.As for the code and data. Local conditions are ErrEmpty, ErrClosed, ErrLeaseLost
// (*LeaseLostError), ErrServerProof and ErrNoAuthkey.
//
// A Client is safe for concurrent use by several goroutines; a Task is meant for the one
// goroutine that works on it.
//
// A Client reconnects by itself when its connection drops (Options.Reconnect): after a
// back-off of 100 ms doubling up to 5 s, with jitter, it dials again, runs a new handshake
// and makes its subscriptions again on the new connection, whose session is a new one.
// Calls made meanwhile wait for the new connection (or for their context); a call in
// flight when the connection dropped fails with ErrClosed (or ErrShuttingDown from a
// manager that is stopping) and may or may not have been applied. The leases of the old
// session are gone: the manager gives those tasks to their queue again (attempt plus one),
// and Ack, Nack or Touch of such a task returns a *LeaseLostError. A wrong key, a peer
// that cannot prove the key or a version mismatch stops the reconnecting for good: calls
// then return that error. A worker loop carries on through a drop like this:
//
//	if task == nil {
//		task, err = tasks.Get(ctx, taskwire.GetOptions{})
//		if (errors.Is(err, taskwire.ErrClosed) || errors.Is(err, taskwire.ErrShuttingDown)) && client.WillReconnect() {
//			continue // the next Get waits for the reconnect
//		}
//		...
//	}
//	...
//	task, err = task.AckAndGetNext(ctx, result, taskwire.GetOptions{})
//	if errors.Is(err, taskwire.ErrLeaseLost) {
//		continue // the task went back to its queue with the old connection; task is nil
//	}
package taskwire
