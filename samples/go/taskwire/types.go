package taskwire

import (
	"encoding/json"
	"time"
)

// NoWait, as a timeout, asks the manager to answer at once from the current state instead
// of waiting; as a nack's Delay, it makes the task ready again at once. (A zero duration
// means "not given" and leaves the choice to the manager.)
const NoWait time.Duration = -1

// UnlimitedAttempts, as TaskSpec.MaxAttempts, lets a task be retried without limit. (Zero
// means "not given": the queue's maxAttempts applies.)
const UnlimitedAttempts = -1

// Seconds is a duration as the protocol writes it: a JSON number of seconds.
type Seconds float64

// Duration converts s to a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// Limits are the limits the manager announced in the handshake (spec §9.1).
type Limits struct {
	MaxFrameBytes    int `json:"maxFrameBytes"`    // the largest frame the manager reads
	MaxPayloadBytes  int `json:"maxPayloadBytes"`  // the largest payload or result, as compact JSON
	MaxBatch         int `json:"maxBatch"`         // the most tasks, acks, nacks or ids in one request
	MaxSubscriptions int `json:"maxSubscriptions"` // the most subscriptions one session holds
	// MaxQueuedBytes is the manager's budget for queued payloads, as compact JSON bytes; 0 when
	// the manager has none or does not say.
	MaxQueuedBytes int64 `json:"maxQueuedBytes,omitempty"`
}

// Capabilities are what the manager announced it supports in the handshake.
type Capabilities struct {
	Events           bool     `json:"events"`           // Subscribe is served
	Framings         []string `json:"framings"`         // "ndjson" (what this package speaks), "content-length"
	AutoCreateQueues bool     `json:"autoCreateQueues"` // queues are created on first use
	// AckNext: task/ack takes next, an ack that also takes the next tasks in the same
	// exchange (spec §5.9.1), which Task.AckAndGetNext uses. False when not announced.
	AckNext bool `json:"ackNext"`
}

// QueueTotals are a queue's counters since the manager started.
type QueueTotals struct {
	Put          int64 `json:"put"`          // tasks that entered: puts, routed results, dead letters
	Acked        int64 `json:"acked"`        // tasks acked, or delivered with AutoAck
	Nacked       int64 `json:"nacked"`       // tasks nacked
	Expired      int64 `json:"expired"`      // leases that ended by expiry or release
	Released     int64 `json:"released"`     // of Expired, the releases (protocol 2026-12; 0 before)
	DeadLettered int64 `json:"deadLettered"` // tasks that ran out of attempts
}

// QueueStats describe a queue: its tasks in each state, its options and its counters.
type QueueStats struct {
	Queue          string `json:"queue"`          // the queue's name
	Ready          int    `json:"ready"`          // tasks ready for delivery
	Leased         int    `json:"leased"`         // tasks delivered and not yet finished
	Delayed        int    `json:"delayed"`        // tasks held back by a delay or a back-off
	Dead           int    `json:"dead"`           // tasks waiting in the queue's dead-letter queue
	Maxsize        int    `json:"maxsize"`        // the bound on ready+delayed+leased; 0: none
	WaitingGetters int    `json:"waitingGetters"` // blocked gets
	WaitingPutters int    `json:"waitingPutters"` // blocked puts
	// TTR is the queue's default lease length.
	TTR Seconds `json:"ttr"`
	// MaxAttempts is 0 for unlimited attempts.
	MaxAttempts int `json:"maxAttempts"`
	// DeadLetter is nil when dead tasks are dropped.
	DeadLetter *string `json:"deadLetter"`
	// Paused is true while the queue is paused (protocol 2026-12, spec §7.19; false before).
	Paused bool `json:"paused"`
	// Totals are the queue's counters since the manager started.
	Totals QueueTotals `json:"totals"`
	// Rate, KeyRate and KeyConcurrency are the queue's limits, when it has them (protocol
	// 2026-12, spec §7.22); Throttled counts its ready tasks waiting for budget.
	Rate           *RateLimit `json:"rate,omitempty"`
	KeyRate        *RateLimit `json:"keyRate,omitempty"`
	KeyConcurrency int        `json:"keyConcurrency,omitempty"`
	Throttled      int        `json:"throttled,omitempty"`
}

// RateLimit is at most Max deliveries per Period seconds, Burst of them at once (spec §7.22).
type RateLimit struct {
	Max    int     `json:"max"`
	Period float64 `json:"period"`
	Burst  int     `json:"burst,omitempty"`
}

// ClientInfo is one session in the manager's worker registry.
type ClientInfo struct {
	SessionID string `json:"sessionId"` // the session's id
	// Manager is the id of the manager the session is on (protocol 2026-12, spec §7.18).
	Manager string `json:"manager"`
	// Name, Role, Version, Language, Host, PID and Labels are as the client described
	// itself; optional ones are zero when it did not give them.
	Name        string            `json:"name"`
	Role        Role              `json:"role"`
	Version     string            `json:"version"`
	Language    string            `json:"language"`
	Host        string            `json:"host"`
	PID         int               `json:"pid"`
	Labels      map[string]string `json:"labels"`
	Address     string            `json:"address"`     // the peer's address as the manager sees it
	ConnectedAt time.Time         `json:"connectedAt"` // when the session was established
	LastSeenAt  time.Time         `json:"lastSeenAt"`  // when the manager last heard from it
	Leased      int               `json:"leased"`      // tasks the session holds now
	Acked       int               `json:"acked"`       // tasks the session acked
	Nacked      int               `json:"nacked"`      // tasks the session nacked
	// Tasks are the tasks the session holds, each with its last progress report
	// (protocol 2026-12, spec §5.15; nil from a 2026-11 manager).
	Tasks []HeldTask `json:"tasks"`
	// State is what an operator told the session (protocol 2026-12, spec §7.20):
	// StateActive, StateQuiet or StateStopping.
	State string `json:"state"`
}

// HeldTask is a task a session holds, on its ClientInfo (protocol 2026-12).
type HeldTask struct {
	ID         string        `json:"id"`
	Queue      string        `json:"queue"`
	LeaseUntil time.Time     `json:"leaseUntil"`
	Progress   *TaskProgress `json:"progress"` // nil until the holder reports
}

// TaskProgress is the last progress reported for a held task (spec §5.20).
type TaskProgress struct {
	Percent *float64        `json:"percent"` // nil when the report had none
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail"`
	At      time.Time       `json:"at"` // when the manager received it
}

// Progress is a progress report for Task.Progress: a Percent from 0 to 100 (use
// taskwire.Percent) and/or a short Message (at most 200 characters), and optionally a
// Detail, any value encoding/json can encode, at most 4096 bytes of JSON.
type Progress struct {
	Percent *float64
	Message string
	Detail  any
}

// Percent is a percentage for Progress.Percent.
func Percent(value float64) *float64 { return &value }

// TaskSpec describes a task to put. Zero fields are not sent, so the queue's settings
// apply to them.
type TaskSpec struct {
	// Payload is encoded with encoding/json; a json.RawMessage is sent as it is, and nil
	// is the JSON null, a valid payload.
	Payload any
	// Priority: higher is delivered first.
	Priority int
	// Delay holds the task back before it becomes ready.
	Delay time.Duration
	// TTR is the lease length for whoever takes the task.
	TTR time.Duration
	// ReplyTo names the queue that receives {taskId, result} when the task is acked with
	// a result.
	ReplyTo string
	// MaxAttempts bounds the deliveries before the task is dead-lettered; 0 leaves the
	// queue's setting, UnlimitedAttempts removes the bound.
	MaxAttempts int
	// Unique, when not nil, is the task's uniqueness key (protocol 2026-12, spec §7.21): a
	// put whose key is held adds no task and answers the holder's id.
	Unique *Unique
	// RateKey is the task's rate key (e.g. the host of a URL it fetches): the queue's
	// keyRate and keyConcurrency apply to the tasks of each key (protocol 2026-12, spec §7.22).
	RateKey string
}

// Unique is a task's uniqueness key (spec §7.21). The key is held in its queue while the
// task is in the scope, and no longer than TTL after the put when TTL is set.
type Unique struct {
	// Key is 1 to 256 characters, unique per queue.
	Key string
	// Scope is UniqueQueued (the default when empty: held while the task is ready or
	// delayed) or UniqueActive (also while it is leased).
	Scope string
	// TTL, when not zero, ends the hold that long after the put.
	TTL time.Duration
}

// The scopes of a uniqueness key.
const (
	UniqueQueued = "queued"
	UniqueActive = "active"
)

// UniquePut is what Queue.PutUnique answers: the task's id and whether its key was held (then
// ID is the holder's, and no task was added).
type UniquePut struct {
	ID        string
	Duplicate bool
}

// Ack completes one task in a batch (Client.AckMany).
type Ack struct {
	// ID is the task's id.
	ID string
	// Result, when not nil, is encoded with encoding/json and routed to the task's
	// replyTo queue. Use json.RawMessage("null") to send a JSON null result.
	Result any
}

// NackOptions say why a task failed and when to retry it.
type NackOptions struct {
	// Error is kept as the task's LastError.
	Error string
	// Delay before the retry. Zero: the manager's exponential back-off; NoWait: at once.
	Delay time.Duration
	// Permanent sends the task to the dead-letter queue at once (`retry: false` on the
	// wire): for failures no retry can fix, such as a broken link.
	Permanent bool
}

// GetOptions tune Get and GetMany.
type GetOptions struct {
	// Timeout is how long the manager waits for a ready task before the call returns
	// ErrEmpty. Zero: until a task arrives or ctx is done; NoWait: answer at once.
	Timeout time.Duration
	// TTR is the lease length, overriding the task's and the queue's.
	TTR time.Duration
	// AutoAck removes tasks on delivery instead of leasing them (at-most-once); meant for
	// reading results.
	AutoAck bool
}

// EventKind says what an Event observed.
type EventKind string

// The event kinds of the protocol. Later versions may add kinds; ignore those you do not
// know. EventReleased (protocol 2026-12) is a lease given back because its holder stopped
// (Error "client stopped") or disconnected, or its manager shut down or is gone; sessions
// of 2026-11 see those as EventExpired.
const (
	EventPut                EventKind = "put"
	EventGet                EventKind = "get"
	EventAck                EventKind = "ack"
	EventNack               EventKind = "nack"
	EventExpired            EventKind = "expired"
	EventReleased           EventKind = "released"
	EventDead               EventKind = "dead"
	EventPurge              EventKind = "purge"
	EventPaused             EventKind = "paused"  // protocol 2026-12: a queue was paused (Queue.Pause)
	EventResumed            EventKind = "resumed" // protocol 2026-12: a paused queue was resumed
	EventClientConnected    EventKind = "client-connected"
	EventClientDisconnected EventKind = "client-disconnected"
	// EventProgress (protocol 2026-12) is a progress report of a task's holder (spec §5.20),
	// at most a few a second per task; Percent, Message and Detail say what it reported.
	EventProgress EventKind = "progress"
	// EventScheduled (protocol 2026-12) is a schedule's tick (spec §5.25): Schedule names it,
	// TaskID is the task it put, or Error says why it put none.
	EventScheduled EventKind = "scheduled"
	// EventScheduleSet and EventScheduleDeleted (protocol 2026-12) report a schedule/set (a
	// schedule created or replaced) and a schedule/delete; Schedule names it, Client who asked.
	EventScheduleSet     EventKind = "schedule-set"
	EventScheduleDeleted EventKind = "schedule-deleted"
)

// Event is one observation of the manager (spec §6.1). Members that do not apply to the
// kind are zero.
type Event struct {
	Subscription string    `json:"subscription"` // the subscription's id on the manager
	Kind         EventKind `json:"kind"`         // what happened
	Queue        string    `json:"queue"`        // the queue concerned
	TaskID       string    `json:"taskId"`       // the task concerned
	Attempt      int       `json:"attempt"`      // the task's attempt at the time
	// Payload is present on put, get and dead events of a subscription with
	// IncludePayload.
	Payload json.RawMessage `json:"payload"`
	// Result is the ack's result on ack events.
	Result json.RawMessage `json:"result"`
	// Error is the nack's error, why a lease expired or was released, or a dead task's
	// last error.
	Error string `json:"error"`
	// Count is the number of tasks a purge removed.
	Count int `json:"count"`
	// Client is the session that caused the event, or that connected or disconnected.
	Client *EventClient `json:"client"`
	// Manager is the id of the manager Client's session is on (protocol 2026-12, spec §7.18).
	Manager string `json:"manager"`
	// Percent, Message and Detail are what a progress report said (EventProgress); Percent
	// is nil when the report had none.
	Percent *float64        `json:"percent"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail"`
	// Schedule is the schedule that ticked, on EventScheduled; the one set or deleted, on
	// EventScheduleSet and EventScheduleDeleted.
	Schedule string `json:"schedule"`
	// At is when it happened.
	At time.Time `json:"at"`
}

// EventClient identifies the session behind an Event.
type EventClient struct {
	SessionID string `json:"sessionId"` // the session's id
	Name      string `json:"name"`      // the name the client gave
	Role      Role   `json:"role"`      // the role the client gave
	Address   string `json:"address"`   // the peer's address as the manager sees it
}

// EventFilter selects the events of a subscription.
type EventFilter struct {
	// Queues limits events to these queues (client events always pass). Nil: every
	// queue; an empty, non-nil slice: no queue.
	Queues []string
	// Kinds limits events to these kinds. Nil: every kind; empty, non-nil: none.
	Kinds []EventKind
	// IncludePayload carries task payloads on put, get and dead events.
	IncludePayload bool
	// Buffer is the capacity of the event channel (default 256). Events that arrive
	// while it is full are dropped, as the manager itself may drop events for a slow
	// subscriber: events are observations, not a delivery mechanism.
	Buffer int
}

// params is the filter as events/subscribe takes it; nil and empty lists differ there.
func (f EventFilter) params() map[string]any {
	params := map[string]any{}
	if f.Queues != nil {
		params["queues"] = f.Queues
	}
	if f.Kinds != nil {
		params["kinds"] = f.Kinds
	}
	if f.IncludePayload {
		params["includePayload"] = true
	}
	return params
}
