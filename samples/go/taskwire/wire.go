package taskwire

import (
	"encoding/json"
	"time"
)

// The envelopes of JSON-RPC 2.0 as the client writes and reads them (spec §3.1).

type outgoingRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int64  `json:"id"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

type outgoingNotification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

// incoming is any message from the manager: a response (id with result or error) or a
// notification (method with params).
type incoming struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *wireError      `json:"error"`
}

type wireError struct {
	Code    int        `json:"code"`
	Message string     `json:"message"`
	Data    *ErrorData `json:"data"`
}

// Params and results of the methods, named after the types of spec/protocol.json.

type clientDescription struct {
	Name     string            `json:"name"`
	Version  string            `json:"version,omitempty"`
	Language string            `json:"language,omitempty"`
	Host     string            `json:"host,omitempty"`
	PID      int               `json:"pid"`
	Role     Role              `json:"role,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

type helloParams struct {
	ProtocolVersions []string          `json:"protocolVersions"`
	Nonce            string            `json:"nonce"`
	Client           clientDescription `json:"client"`
}

type helloResult struct {
	ProtocolVersion string `json:"protocolVersion"`
	Nonce           string `json:"nonce"`
	ManagerID       string `json:"managerId"` // since 2026-12
}

type authenticateParams struct {
	Proof string `json:"proof"`
}

type authenticateResult struct {
	SessionID    string       `json:"sessionId"`
	ServerProof  string       `json:"serverProof"`
	Capabilities Capabilities `json:"capabilities"`
	Limits       Limits       `json:"limits"`
}

type emptyParams struct{}

type queueParams struct {
	Queue string `json:"queue"`
}

type wireTaskSpec struct {
	Payload     json.RawMessage `json:"payload"`
	Priority    int             `json:"priority,omitempty"`
	Delay       *float64        `json:"delay,omitempty"`
	TTR         *float64        `json:"ttr,omitempty"`
	ReplyTo     string          `json:"replyTo,omitempty"`
	MaxAttempts *int            `json:"maxAttempts,omitempty"`
	Unique      *wireUnique     `json:"unique,omitempty"`
	RateKey     string          `json:"rateKey,omitempty"`
}

type wireUnique struct {
	Key   string   `json:"key"`
	Scope string   `json:"scope,omitempty"`
	TTL   *float64 `json:"ttl,omitempty"`
}

type putResult struct {
	IDs        []string `json:"ids"`
	Duplicates []bool   `json:"duplicates,omitempty"`
}

type putParams struct {
	Queue   string         `json:"queue"`
	Tasks   []wireTaskSpec `json:"tasks"`
	Timeout *float64       `json:"timeout,omitempty"`
}

type getParams struct {
	Queue   string   `json:"queue"`
	Max     int      `json:"max"`
	Timeout *float64 `json:"timeout,omitempty"`
	TTR     *float64 `json:"ttr,omitempty"`
	AutoAck bool     `json:"autoAck,omitempty"`
}

type wireAck struct {
	ID     string          `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
}

type ackParams struct {
	Acks []wireAck `json:"acks"`
	// Next, when set, also takes the next tasks in the same exchange (spec §5.9.1).
	Next *getParams `json:"next,omitempty"`
}

type ackResult struct {
	Acked int `json:"acked"`
	// Tasks are those taken by Next, possibly none (timeout, cancellation).
	Tasks []*Task `json:"tasks"`
}

type wireNack struct {
	ID    string   `json:"id"`
	Error string   `json:"error,omitempty"`
	Delay *float64 `json:"delay,omitempty"`
	Retry *bool    `json:"retry,omitempty"`
}

// progressParams is a task/progress request (protocol 2026-12, spec §5.20).
type progressParams struct {
	ID      string          `json:"id"`
	Percent *float64        `json:"percent,omitempty"`
	Message string          `json:"message,omitempty"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

type touchParams struct {
	IDs []string `json:"ids"`
	TTR *float64 `json:"ttr,omitempty"`
}

type joinParams struct {
	Queue   string   `json:"queue"`
	Timeout *float64 `json:"timeout,omitempty"`
}

type peekParams struct {
	Queue string `json:"queue"`
	Max   int    `json:"max"`
}

type tasksResult struct {
	Tasks []*Task `json:"tasks"`
}

// seconds turns an optional Go duration into the protocol's optional seconds: zero means
// "not given", a negative duration (NoWait) means 0.
func seconds(d time.Duration) *float64 {
	if d == 0 {
		return nil
	}
	s := max(d.Seconds(), 0)
	return &s
}
