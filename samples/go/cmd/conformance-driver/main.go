// Command conformance-driver is the conformance driver of the Go client
// (`taskwire conformance client`).
//
// The kit plays a Taskwire server, correct or deliberately wrong, and runs this program
// against it:
//
//	go build -o /tmp/taskwire-go-driver ./cmd/conformance-driver
//	npx taskwire conformance client --cmd /tmp/taskwire-go-driver
//
// The contract (spec/conformance/README.md, "The driver contract"): the kit sets
// TASKWIRE_HOST, TASKWIRE_PORT, TASKWIRE_AUTHKEY_FILE and TASKWIRE_CONFORMANCE_OP (plus the
// case's TASKWIRE_CONFORMANCE_* variables); the driver performs that one operation with the
// library and prints one JSON line with its outcome, then exits 0. The library does not
// reconnect, so the reconnect operation (and RECONNECT=1) is reported unsupported and the
// kit skips that case.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// outcome is the one line the driver prints.
type outcome struct {
	Outcome string `json:"outcome"`
	Value   any    `json:"value,omitempty"`
	Error   string `json:"error,omitempty"`
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// timeFormat keeps the milliseconds the manager sent, zeros included, as §5.3's times have.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func main() {
	line, err := json.Marshal(drive(os.Getenv("TASKWIRE_CONFORMANCE_OP")))
	if err != nil {
		line = []byte(fmt.Sprintf(`{"outcome":"error","error":"other","message":%q}`, err.Error()))
	}
	fmt.Println(string(line))
}

func setting(name, fallback string) string {
	if value, ok := os.LookupEnv("TASKWIRE_CONFORMANCE_" + name); ok {
		return value
	}
	return fallback
}

func seconds(name string, fallback float64) (time.Duration, error) {
	value, err := strconv.ParseFloat(setting(name, strconv.FormatFloat(fallback, 'f', -1, 64)), 64)
	if err != nil || value < 0 {
		return 0, fmt.Errorf("TASKWIRE_CONFORMANCE_%s is not a number of seconds", name)
	}
	return time.Duration(value * float64(time.Second)), nil
}

func drive(op string) outcome {
	switch op {
	case "ping", "put", "get", "cancel-get", "reconnect", "work":
	default:
		return outcome{Outcome: "unsupported", Reason: fmt.Sprintf("unknown operation %q", op)}
	}
	value, err := operate(op)
	if err != nil {
		result := outcome{Outcome: "error", Error: errorClass(err), Message: err.Error()}
		var remote *taskwire.RemoteError
		if errors.As(err, &remote) {
			result.Code = remote.Code
		}
		return result
	}
	return outcome{Outcome: "ok", Value: value}
}

func operate(op string) (any, error) {
	connectTimeout, err := seconds("CONNECT_TIMEOUT", 10)
	if err != nil {
		return nil, err
	}
	dialCtx, cancelDial := context.WithTimeout(context.Background(), connectTimeout)
	defer cancelDial()
	reconnect := taskwire.ReconnectOptions{Disabled: true}
	if op == "reconnect" || setting("RECONNECT", "0") == "1" {
		reconnect = taskwire.ReconnectOptions{InitialDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, MaxAttempts: 20}
	}
	// Addr and key come from TASKWIRE_HOST, TASKWIRE_PORT and TASKWIRE_AUTHKEY_FILE.
	client, err := taskwire.Dial(dialCtx, taskwire.Options{Name: "conformance-driver", Reconnect: reconnect})
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ctx := context.Background()
	queue := client.Queue(setting("QUEUE", "conformance"))
	switch op {
	case "ping":
		now, err := client.Ping(ctx)
		return now.UTC().Format(timeFormat), err
	case "put":
		var payload any
		if err := json.Unmarshal([]byte(setting("PAYLOAD", `"conformance"`)), &payload); err != nil {
			return nil, fmt.Errorf("TASKWIRE_CONFORMANCE_PAYLOAD: %w", err)
		}
		return queue.Put(ctx, payload)
	case "get":
		timeout, err := seconds("TIMEOUT", 1)
		if err != nil {
			return nil, err
		}
		task, err := queue.Get(ctx, taskwire.GetOptions{Timeout: timeout})
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": task.ID, "payload": task.Payload, "attempt": task.Attempt}, nil
	case "reconnect":
		first, err := client.Ping(ctx)
		if err != nil {
			return nil, err
		}
		// The kit drops the connection after the first ping. A ping already on the dropped
		// connection fails with ErrClosed; the client's reconnect makes the retry go through
		// a new connection.
		second, err := client.Ping(ctx)
		if errors.Is(err, taskwire.ErrClosed) {
			second, err = client.Ping(ctx)
		}
		if err != nil {
			return nil, err
		}
		return []string{first.UTC().Format(timeFormat), second.UTC().Format(timeFormat)}, nil
	case "work":
		idle, err := seconds("TIMEOUT", 1)
		if err != nil {
			return nil, err
		}
		return work(ctx, queue, idle)
	default: // cancel-get
		after, err := seconds("CANCEL_AFTER", 0.3)
		if err != nil {
			return nil, err
		}
		// Cancelled through the library's own means, as a caller giving up would.
		cancelCtx, cancel := context.WithTimeout(ctx, after)
		defer cancel()
		if _, err := queue.Get(cancelCtx, taskwire.GetOptions{}); err != nil {
			return nil, err
		}
		return "not cancelled", nil
	}
}

// work is a worker's loop: each task's payload is its ack's result, and the loop ends once
// idle passes with no task. Each ack also takes the next task (AckAndGetNext: one exchange
// per task when the manager announces ackNext). It returns how many tasks it handled.
func work(ctx context.Context, queue *taskwire.Queue, idle time.Duration) (int, error) {
	handled := 0
	task, err := queue.Get(ctx, taskwire.GetOptions{Timeout: idle})
	for {
		if errors.Is(err, taskwire.ErrEmpty) {
			return handled, nil
		}
		if err != nil {
			return handled, err
		}
		next, ackErr := task.AckAndGetNext(ctx, task.Payload, taskwire.GetOptions{Timeout: idle})
		if ackErr == nil || errors.Is(ackErr, taskwire.ErrEmpty) {
			handled++
		}
		task, err = next, ackErr
	}
}

// errorClass maps the library's errors to the classes of the driver contract.
func errorClass(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, taskwire.ErrServerProof):
		return "server-proof"
	case errors.Is(err, taskwire.ErrAuthenticationFailed):
		return "authentication"
	case errors.Is(err, taskwire.ErrUnsupportedProtocolVersion):
		return "unsupported-version"
	// A get withdrawn because its context ended is the library's cancellation.
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, taskwire.ErrRequestCancelled):
		return "cancelled"
	case errors.Is(err, taskwire.ErrEmpty):
		return "empty"
	case errors.Is(err, taskwire.ErrQueueFull):
		return "full"
	case errors.Is(err, taskwire.ErrStoreUnavailable):
		return "store-unavailable"
	case errors.As(err, new(*taskwire.RemoteError)):
		return "remote"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, taskwire.ErrClosed), errors.As(err, new(*net.OpError)):
		return "connection"
	default:
		return "other"
	}
}
