package taskwire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Local errors: nothing was answered by a manager.
var (
	// ErrEmpty is returned by Get and GetMany when their timeout passed with no task ready,
	// like Python's queue.Empty.
	ErrEmpty = errors.New("taskwire: queue empty")
	// ErrClosed is returned (or wrapped) by requests made after Close or after the
	// connection dropped. A request in flight when the connection dropped may or may not
	// have been applied.
	ErrClosed = errors.New("taskwire: connection closed")
	// ErrServerProof is returned (wrapped) by Dial when the peer failed to prove that it
	// holds the key: it is not the manager you meant to reach.
	ErrServerProof = errors.New("taskwire: the manager failed to prove it knows the authkey")
	// ErrLeaseLost is matched by a *LeaseLostError: Ack, Nack or Touch of a task whose lease
	// ended with the connection that took it.
	ErrLeaseLost = errors.New("taskwire: lease lost with its connection")
)

// LeaseLostError is returned by Task.Ack, Nack and Touch when the connection that leased
// the task has closed (it dropped, the manager shut down, or the client was closed). A
// session's leases end with it: the manager gave the task back to its queue (attempt plus
// one) and delivers it again, to this client after it reconnects or to another worker.
// Nothing is sent on a later connection, where the ack could only fail or, should the task
// have come back to this client, settle a lease this call never held.
//
// errors.Is(err, ErrLeaseLost) and errors.Is(err, ErrLeaseUnknown) hold for it (the manager
// would answer ErrLeaseUnknown), and so do the errors it wraps: ErrClosed, or
// ErrShuttingDown when the manager refused the request as it stopped.
type LeaseLostError struct {
	// IDs are the tasks whose lease was lost.
	IDs []string
	// InFlight is set when the request was sent and the connection closed before its
	// answer came: the manager may have applied it just before it released the lease.
	InFlight bool
	// Err is why the connection ended.
	Err error
}

func (e *LeaseLostError) Error() string {
	when := "the connection that leased it had closed"
	if e.InFlight {
		when = "the connection that leased it closed before the manager answered (it may have been applied)"
	}
	return fmt.Sprintf("taskwire: lease of task %s lost: %s, and the task is delivered again (%v)", strings.Join(e.IDs, ", "), when, e.Err)
}

// Unwrap returns why the connection ended.
func (e *LeaseLostError) Unwrap() error { return e.Err }

// Is matches ErrLeaseLost and ErrLeaseUnknown.
func (e *LeaseLostError) Is(target error) bool {
	return target == ErrLeaseLost || target == ErrLeaseUnknown
}

// The codes of the protocol's error registry (spec §8.2).
const (
	CodeParseError                 = -32700
	CodeInvalidRequest             = -32600
	CodeMethodNotFound             = -32601
	CodeInvalidParams              = -32602
	CodeInternalError              = -32603
	CodeAuthenticationFailed       = -32001
	CodeNotAuthenticated           = -32002
	CodeUnsupportedProtocolVersion = -32003
	CodeFrameTooLarge              = -32004
	CodeShuttingDown               = -32005
	CodeRequestCancelled           = -32800
	CodeQueueNotFound              = 1001
	CodeQueueFull                  = 1002
	CodeLeaseUnknown               = 1003
	CodePayloadTooLarge            = 1004
	CodeLimitExceeded              = 1005
	CodeStoreUnavailable           = 1006 // since protocol 2026-12
	CodeSessionNotFound            = 1007 // since protocol 2026-12
	CodeScheduleNotFound           = 1010 // since protocol 2026-12
)

// Sentinels for the codes of the error registry: errors.Is(err, ErrQueueFull) is true
// when err is (or wraps) a *RemoteError with that code.
var (
	ErrParse                      error = &codeError{CodeParseError, "parse error"}
	ErrInvalidRequest             error = &codeError{CodeInvalidRequest, "invalid request"}
	ErrMethodNotFound             error = &codeError{CodeMethodNotFound, "method not found"}
	ErrInvalidParams              error = &codeError{CodeInvalidParams, "invalid params"}
	ErrInternal                   error = &codeError{CodeInternalError, "internal error"}
	ErrAuthenticationFailed       error = &codeError{CodeAuthenticationFailed, "authentication failed"}
	ErrNotAuthenticated           error = &codeError{CodeNotAuthenticated, "not authenticated"}
	ErrUnsupportedProtocolVersion error = &codeError{CodeUnsupportedProtocolVersion, "unsupported protocol version"}
	ErrFrameTooLarge              error = &codeError{CodeFrameTooLarge, "frame too large"}
	ErrShuttingDown               error = &codeError{CodeShuttingDown, "shutting down"}
	ErrRequestCancelled           error = &codeError{CodeRequestCancelled, "request cancelled"}
	ErrQueueNotFound              error = &codeError{CodeQueueNotFound, "queue not found"}
	ErrQueueFull                  error = &codeError{CodeQueueFull, "queue full"}
	ErrLeaseUnknown               error = &codeError{CodeLeaseUnknown, "unknown or expired lease"}
	ErrPayloadTooLarge            error = &codeError{CodePayloadTooLarge, "payload too large"}
	ErrLimitExceeded              error = &codeError{CodeLimitExceeded, "limit exceeded"}
	// ErrStoreUnavailable: the manager could not reach the store that holds its queues
	// (protocol 2026-12, spec §7.18). A failure of the request, not of the connection: the
	// request changed nothing and may succeed once the store is back (Data.RetryAfter, when
	// set, is the manager's hint in seconds). A 2026-11 manager reports the same failure as
	// ErrInternal, "internal error: store unavailable".
	ErrStoreUnavailable error = &codeError{CodeStoreUnavailable, "store unavailable"}
	// ErrSessionNotFound: Client.QuietClient or Client.StopClient named a session that no
	// manager has connected now (protocol 2026-12, spec §7.20); Data.Session is the id.
	ErrSessionNotFound error = &codeError{CodeSessionNotFound, "session not found"}

	// ErrScheduleNotFound: DeleteSchedule of a name no schedule has (protocol 2026-12, 1010).
	ErrScheduleNotFound error = &codeError{CodeScheduleNotFound, "schedule not found"}
)

// codeError is the type of the sentinels; unexported so that only the package makes them.
type codeError struct {
	code int
	text string
}

func (e *codeError) Error() string { return "taskwire: " + e.text }

// RemoteError is an error answered by the manager.
type RemoteError struct {
	// Code is the registry's code; act on it (or on Data.Reason), never on Message.
	Code int
	// Message is the registry's message, optionally followed by a detail for people.
	Message string
	// Data holds the error's data member, nil when there is none.
	Data *ErrorData
}

// ErrorData is the data member of an error response. Members a version of the protocol
// adds later are ignored.
type ErrorData struct {
	// Reason is the stable reason of an application error (1000–1999), e.g. "queue_full".
	Reason string `json:"reason,omitempty"`
	// Field is the JSON Pointer of the offending param (-32602).
	Field string `json:"field,omitempty"`
	// Limit is the limit's name (1005, a JSON string) or size in bytes (-32004 and 1004,
	// a JSON number), as sent.
	Limit json.RawMessage `json:"limit,omitempty"`
	// Max is the value of the limit named by Limit (1005).
	Max int `json:"max,omitempty"`
	// Supported lists the protocol versions the manager speaks (-32003).
	Supported []string `json:"supported,omitempty"`
	// IDs are the task ids this session does not hold (1003).
	IDs []string `json:"ids,omitempty"`
	// Queue names the queue concerned (1001, 1002).
	Queue string `json:"queue,omitempty"`
	// Maxsize is the queue's maxsize (1002).
	Maxsize int `json:"maxsize,omitempty"`
	// RetryAfter is, in seconds, when to try again: after failed authentications (1005), or
	// when the manager expects its store back (1006); 0 when not given.
	RetryAfter float64 `json:"retryAfter,omitempty"`
	// Session is the session id that was not found (1007).
	Session string `json:"session,omitempty"`
}

// Error returns the manager's message and the code.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("taskwire: %s (error %d)", e.Message, e.Code)
}

// Is reports whether target is the sentinel of e's code, such as ErrQueueFull.
func (e *RemoteError) Is(target error) bool {
	sentinel, ok := target.(*codeError)
	return ok && sentinel.code == e.Code
}
