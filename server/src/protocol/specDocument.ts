// Generated from spec/protocol.json by server/scripts/generateProtocol.mjs. Do not edit.
// The protocol document itself, for validating messages against its schemas at run time.

/** The parts of spec/protocol.json that validation reads. */
export interface ProtocolSpec {
  $id: string;
  protocolVersions: string[];
  methods: unknown[];
  errors: unknown[];
  $defs: Record<string, unknown>;
  /** The rest of the document ($schema, title, ...), which validation does not read. */
  [member: string]: unknown;
}

export const PROTOCOL_SPEC: ProtocolSpec = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://taskwire.dev/spec/protocol.json",
  "title": "Taskwire protocol",
  "description": "The machine-readable source of truth of the Taskwire protocol: the method table and every type, as JSON Schema 2020-12. spec/protocol.md is the normative prose.",
  "protocolVersions": [
    "2026-11",
    "2026-12"
  ],
  "methods": [
    {
      "method": "session/hello",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "First message of every connection: offers protocol versions and a client nonce; the server answers with the chosen version and its own nonce.",
      "params": {
        "$ref": "#/$defs/HelloParams"
      },
      "result": {
        "$ref": "#/$defs/HelloResult"
      },
      "errors": [
        -32602,
        -32003,
        -32005
      ]
    },
    {
      "method": "session/authenticate",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Proves knowledge of the authkey; the server answers with its own proof, the session id, capabilities and limits.",
      "params": {
        "$ref": "#/$defs/AuthenticateParams"
      },
      "result": {
        "$ref": "#/$defs/AuthenticateResult"
      },
      "errors": [
        -32001,
        -32002
      ]
    },
    {
      "method": "session/ping",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Liveness check; answers the server's clock.",
      "params": {
        "$ref": "#/$defs/EmptyParams"
      },
      "result": {
        "$ref": "#/$defs/PingResult"
      },
      "errors": [
        -32602
      ]
    },
    {
      "method": "queue/declare",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Creates a queue with options, or updates the options of an existing one.",
      "params": {
        "$ref": "#/$defs/DeclareParams"
      },
      "result": {
        "$ref": "#/$defs/DeclareResult"
      },
      "errors": [
        -32602
      ]
    },
    {
      "method": "queue/list",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Statistics of every queue.",
      "params": {
        "$ref": "#/$defs/EmptyParams"
      },
      "result": {
        "$ref": "#/$defs/ListResult"
      },
      "errors": [
        -32602
      ]
    },
    {
      "method": "queue/stats",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Statistics of one queue.",
      "params": {
        "$ref": "#/$defs/QueueParams"
      },
      "result": {
        "$ref": "#/$defs/QueueStats"
      },
      "errors": [
        -32602,
        1001
      ]
    },
    {
      "method": "queue/put",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Enqueues one or more tasks, all or none; blocks while the queue has no room for all of them, up to timeout.",
      "params": {
        "$ref": "#/$defs/PutParams"
      },
      "result": {
        "$ref": "#/$defs/PutResult"
      },
      "errors": [
        -32602,
        -32800,
        1001,
        1002,
        1004,
        1005
      ],
      "blocking": true
    },
    {
      "method": "queue/get",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Leases up to max ready tasks to this session; blocks until one is ready, up to timeout.",
      "params": {
        "$ref": "#/$defs/GetParams"
      },
      "result": {
        "$ref": "#/$defs/GetResult"
      },
      "errors": [
        -32602,
        -32800,
        1001,
        1005
      ],
      "blocking": true
    },
    {
      "method": "task/ack",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Completes leased tasks, optionally with results that are routed to each task's replyTo queue; with next, also takes the next tasks in the same exchange.",
      "params": {
        "$ref": "#/$defs/AckParams"
      },
      "result": {
        "$ref": "#/$defs/AckResult"
      },
      "errors": [
        -32602,
        1001,
        1003,
        1004,
        1005
      ],
      "blocking": true
    },
    {
      "method": "task/nack",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Gives leased tasks back for a retry (after delay, or an exponential back-off), or to the dead-letter queue once maxAttempts is reached or when retry is false.",
      "params": {
        "$ref": "#/$defs/NackParams"
      },
      "result": {
        "$ref": "#/$defs/NackResult"
      },
      "errors": [
        -32602,
        1003,
        1005
      ]
    },
    {
      "method": "task/touch",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Extends the leases of tasks this session holds by ttr seconds from now.",
      "params": {
        "$ref": "#/$defs/TouchParams"
      },
      "result": {
        "$ref": "#/$defs/TouchResult"
      },
      "errors": [
        -32602,
        1003,
        1005
      ]
    },
    {
      "method": "queue/join",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Waits until the queue has nothing ready, delayed or leased (Python's Queue.join), up to timeout.",
      "params": {
        "$ref": "#/$defs/JoinParams"
      },
      "result": {
        "$ref": "#/$defs/JoinResult"
      },
      "errors": [
        -32602,
        -32800,
        1001
      ],
      "blocking": true
    },
    {
      "method": "queue/peek",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "The next ready tasks in delivery order, without leasing or removing anything.",
      "params": {
        "$ref": "#/$defs/PeekParams"
      },
      "result": {
        "$ref": "#/$defs/PeekResult"
      },
      "errors": [
        -32602,
        1001,
        1005
      ]
    },
    {
      "method": "queue/purge",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Removes every ready and delayed task; leased tasks stay with their holders.",
      "params": {
        "$ref": "#/$defs/QueueParams"
      },
      "result": {
        "$ref": "#/$defs/PurgeResult"
      },
      "errors": [
        -32602,
        1001
      ]
    },
    {
      "method": "manager/clients",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "The worker registry: every authenticated connection, what it holds and what it has done.",
      "params": {
        "$ref": "#/$defs/EmptyParams"
      },
      "result": {
        "$ref": "#/$defs/ClientsResult"
      },
      "errors": [
        -32602
      ]
    },
    {
      "method": "events/subscribe",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Starts a stream of events/event notifications, filtered by queue and kind.",
      "params": {
        "$ref": "#/$defs/SubscribeParams"
      },
      "result": {
        "$ref": "#/$defs/SubscribeResult"
      },
      "errors": [
        -32602,
        1005
      ]
    },
    {
      "method": "events/unsubscribe",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Ends a subscription of this session.",
      "params": {
        "$ref": "#/$defs/UnsubscribeParams"
      },
      "result": {
        "$ref": "#/$defs/EmptyResult"
      },
      "errors": [
        -32602
      ]
    },
    {
      "method": "manager/shutdown",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Shuts the manager down gracefully: answers, releases every lease, closes every connection, stops listening.",
      "params": {
        "$ref": "#/$defs/EmptyParams"
      },
      "result": {
        "$ref": "#/$defs/EmptyResult"
      },
      "errors": [
        -32602,
        -32005
      ]
    },
    {
      "method": "manager/stats",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Manager-wide counters (connections, authentication failures, traffic, events, leases, memory) and each queue's depth and put and ack rates over the last minute.",
      "params": {
        "$ref": "#/$defs/EmptyParams"
      },
      "result": {
        "$ref": "#/$defs/ManagerStats"
      },
      "errors": [
        -32602
      ]
    },
    {
      "method": "task/progress",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: the holder of a lease reports how far it got (a percentage and/or a short message, optionally a JSON detail); the report renews the lease like task/touch and goes out as a progress event, at most one per task per interval.",
      "params": {
        "$ref": "#/$defs/ProgressParams"
      },
      "result": {
        "$ref": "#/$defs/TouchResult"
      },
      "errors": [
        -32602,
        1003
      ]
    },
    {
      "method": "queue/pause",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: pauses a queue: puts are still accepted, gets deliver nothing until queue/resume; leases already out run on (§7.19). Creates the queue like any method naming one (§7.12). Answers the queue's stats.",
      "params": {
        "$ref": "#/$defs/QueueParams"
      },
      "result": {
        "$ref": "#/$defs/QueueStats"
      },
      "errors": [
        -32602,
        1001
      ]
    },
    {
      "method": "queue/resume",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: resumes a paused queue: its ready tasks are delivered again, first to the gets that waited (§7.19). Answers the queue's stats.",
      "params": {
        "$ref": "#/$defs/QueueParams"
      },
      "result": {
        "$ref": "#/$defs/QueueStats"
      },
      "errors": [
        -32602,
        1001
      ]
    },
    {
      "method": "client/quiet",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: tells one session to go quiet: the manager hands it no task from then on (its gets answer empty), while its leases run on and its acks work; the session is sent session/state.",
      "params": {
        "$ref": "#/$defs/ControlParams"
      },
      "result": {
        "$ref": "#/$defs/ControlResult"
      },
      "errors": [
        -32602,
        1007
      ]
    },
    {
      "method": "client/stop",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: tells one session to stop: quiet, and the client finishes the tasks it holds, closes (session/close) and exits; the manager closes the connection itself once the session holds nothing and a grace period passed.",
      "params": {
        "$ref": "#/$defs/ControlParams"
      },
      "result": {
        "$ref": "#/$defs/ControlResult"
      },
      "errors": [
        -32602,
        1007
      ]
    },
    {
      "method": "schedule/set",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: creates or replaces a schedule by name: the task spec to put on a queue at each tick of a cron expression (in a time zone) or a fixed interval.",
      "params": {
        "$ref": "#/$defs/ScheduleSetParams"
      },
      "result": {
        "$ref": "#/$defs/ScheduleSetResult"
      },
      "errors": [
        -32602,
        1001
      ]
    },
    {
      "method": "schedule/list",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: the schedules (of one queue, or all), by name, each with its next run time and its last run.",
      "params": {
        "$ref": "#/$defs/ScheduleListParams"
      },
      "result": {
        "$ref": "#/$defs/ScheduleListResult"
      },
      "errors": [
        -32602
      ]
    },
    {
      "method": "schedule/delete",
      "kind": "request",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: deletes a schedule by name; tasks it already put stay queued.",
      "params": {
        "$ref": "#/$defs/ScheduleDeleteParams"
      },
      "result": {
        "$ref": "#/$defs/EmptyResult"
      },
      "errors": [
        -32602,
        1010
      ]
    },
    {
      "method": "events/event",
      "kind": "notification",
      "direction": "serverToClient",
      "since": "2026-11",
      "summary": "One observation for a subscription of this session.",
      "params": {
        "$ref": "#/$defs/Event"
      }
    },
    {
      "method": "$/cancelRequest",
      "kind": "notification",
      "direction": "clientToServer",
      "since": "2026-11",
      "summary": "Cancels a blocked queue/get, queue/put or queue/join of this session, which then answers -32800.",
      "params": {
        "$ref": "#/$defs/CancelParams"
      }
    },
    {
      "method": "session/close",
      "kind": "notification",
      "direction": "clientToServer",
      "since": "2026-12",
      "summary": "Since 2026-12: the client is stopping; the server releases the session's leases with reason \"client stopped\" (not \"client disconnected\") and closes the connection.",
      "params": {
        "$ref": "#/$defs/EmptyParams"
      }
    },
    {
      "method": "session/state",
      "kind": "notification",
      "direction": "serverToClient",
      "since": "2026-12",
      "summary": "Since 2026-12: the manager tells a session the state an operator put it in (client/quiet, client/stop): quiet (take no new task) or stopping (finish the tasks held, then close and exit).",
      "params": {
        "$ref": "#/$defs/SessionStateParams"
      }
    }
  ],
  "errors": [
    {
      "code": -32700,
      "name": "ParseError",
      "message": "parse error",
      "since": "2026-11",
      "description": "The frame is not valid JSON (or not UTF-8). NDJSON: the connection survives. Content-Length: the connection is closed."
    },
    {
      "code": -32600,
      "name": "InvalidRequest",
      "message": "invalid request",
      "since": "2026-11",
      "description": "Not a JSON-RPC 2.0 request object; batches (arrays) are refused with this code."
    },
    {
      "code": -32601,
      "name": "MethodNotFound",
      "message": "method not found",
      "since": "2026-11",
      "description": "No such method."
    },
    {
      "code": -32602,
      "name": "InvalidParams",
      "message": "invalid params",
      "since": "2026-11",
      "description": "The params violate the method's schema; the message names the field and data.field holds its JSON Pointer."
    },
    {
      "code": -32603,
      "name": "InternalError",
      "message": "internal error",
      "since": "2026-11",
      "description": "An unexpected server failure. The message may carry a short detail (e.g. internal error: store unavailable) but never a stack trace; no data."
    },
    {
      "code": -32001,
      "name": "AuthenticationFailed",
      "message": "authentication failed",
      "since": "2026-11",
      "description": "Bad or malformed proof. Sent after a short delay with no detail; the connection is then closed."
    },
    {
      "code": -32002,
      "name": "NotAuthenticated",
      "message": "not authenticated",
      "since": "2026-11",
      "description": "A method other than session/hello and session/authenticate before a successful authenticate, or authenticate before hello; the connection is then closed."
    },
    {
      "code": -32003,
      "name": "UnsupportedProtocolVersion",
      "message": "unsupported protocol version",
      "since": "2026-11",
      "description": "No version in common; data.supported lists the server's. The connection is then closed."
    },
    {
      "code": -32004,
      "name": "FrameTooLarge",
      "message": "frame too large",
      "since": "2026-11",
      "description": "A frame exceeds the server's frame limit; data.limit holds it. The connection is then closed."
    },
    {
      "code": -32005,
      "name": "ShuttingDown",
      "message": "shutting down",
      "since": "2026-11",
      "description": "The manager is shutting down and accepts no new work."
    },
    {
      "code": -32800,
      "name": "RequestCancelled",
      "message": "request cancelled",
      "since": "2026-11",
      "description": "A blocked request was cancelled by $/cancelRequest."
    },
    {
      "code": 1001,
      "name": "QueueNotFound",
      "message": "queue not found",
      "reason": "queue_not_found",
      "since": "2026-11",
      "description": "The queue does not exist and the server does not create queues on first use."
    },
    {
      "code": 1002,
      "name": "QueueFull",
      "message": "queue full",
      "reason": "queue_full",
      "since": "2026-11",
      "description": "The queue had no room for all the tasks before the timeout (timeout 0: at once), or the tasks can never fit: within the queue's maxsize and maxBytes and the manager's maxQueuedBytes. data.limit names the bound (maxsize, maxBytes or maxQueuedBytes) and data.max holds its value."
    },
    {
      "code": 1003,
      "name": "LeaseUnknown",
      "message": "unknown or expired lease",
      "reason": "lease_unknown",
      "since": "2026-11",
      "description": "ack, nack or touch of a task this session does not hold (never leased, expired, released, or held by another session); data.ids lists them. Nothing in the request is applied."
    },
    {
      "code": 1004,
      "name": "PayloadTooLarge",
      "message": "payload too large",
      "reason": "payload_too_large",
      "since": "2026-11",
      "description": "A task payload or result exceeds the server's payload limit; data.limit holds it."
    },
    {
      "code": 1005,
      "name": "LimitExceeded",
      "message": "limit exceeded",
      "reason": "limit_exceeded",
      "since": "2026-11",
      "description": "A server limit (connections, subscriptions, batch size) is exceeded; data.limit names it and data.max holds its value."
    },
    {
      "code": 1006,
      "name": "StoreUnavailable",
      "message": "store unavailable",
      "reason": "store_unavailable",
      "since": "2026-12",
      "description": "The manager could not reach the store that holds the queues (a shared store such as Redis that is down or unreachable, §7.18): the request failed and changed nothing, unless §7.18 says otherwise; the session stays open and later requests may succeed. data.retryAfter, when present, is a hint in seconds. Only sessions that negotiated 2026-12 or later receive it; a 2026-11 session gets -32603 for the same failure."
    },
    {
      "code": 1007,
      "name": "SessionNotFound",
      "message": "session not found",
      "reason": "session_not_found",
      "since": "2026-12",
      "description": "client/quiet or client/stop named a session that no manager of the store has connected now (it never existed, or it ended: a client that reconnects has a new session id). data.session holds the id."
    },
    {
      "code": 1010,
      "name": "ScheduleNotFound",
      "message": "schedule not found",
      "reason": "schedule_not_found",
      "since": "2026-12",
      "description": "schedule/delete of a name no schedule has; data.schedule holds the name."
    }
  ],
  "$defs": {
    "QueueName": {
      "description": "A queue name: 1 to 195 characters of letters, digits and . _ - : /",
      "type": "string",
      "pattern": "^[A-Za-z0-9._:/-]{1,195}$"
    },
    "TaskId": {
      "description": "A task id assigned by the server, unique for the manager's lifetime.",
      "type": "string",
      "minLength": 1,
      "maxLength": 200
    },
    "Seconds": {
      "description": "A duration in seconds (fractions allowed).",
      "type": "number",
      "minimum": 0,
      "maximum": 31536000
    },
    "Timestamp": {
      "description": "An ISO-8601 UTC timestamp.",
      "type": "string",
      "format": "date-time"
    },
    "JsonValue": {
      "description": "Any JSON value."
    },
    "EmptyParams": {
      "description": "No parameters: an empty object (or params omitted).",
      "type": "object",
      "additionalProperties": false
    },
    "EmptyResult": {
      "type": "object",
      "additionalProperties": false
    },
    "ClientDescription": {
      "description": "Who is connecting; shown in the worker registry.",
      "type": "object",
      "properties": {
        "name": {
          "type": "string",
          "minLength": 1,
          "maxLength": 200
        },
        "version": {
          "type": "string",
          "maxLength": 100
        },
        "language": {
          "type": "string",
          "maxLength": 100
        },
        "host": {
          "type": "string",
          "maxLength": 255
        },
        "pid": {
          "type": "integer",
          "minimum": 0
        },
        "role": {
          "$ref": "#/$defs/ClientRole"
        },
        "labels": {
          "type": "object",
          "maxProperties": 64,
          "additionalProperties": {
            "type": "string",
            "maxLength": 1000
          }
        }
      },
      "required": [
        "name"
      ],
      "additionalProperties": false
    },
    "ClientRole": {
      "description": "Labels the connection in the worker registry only.",
      "enum": [
        "worker",
        "producer",
        "monitor"
      ]
    },
    "HelloParams": {
      "type": "object",
      "properties": {
        "protocolVersions": {
          "description": "The versions the client speaks.",
          "type": "array",
          "items": {
            "type": "string",
            "maxLength": 100
          },
          "minItems": 1,
          "maxItems": 32
        },
        "nonce": {
          "description": "32 bytes from a cryptographic RNG, base64.",
          "type": "string",
          "minLength": 40,
          "maxLength": 100
        },
        "client": {
          "$ref": "#/$defs/ClientDescription"
        }
      },
      "required": [
        "protocolVersions",
        "nonce",
        "client"
      ],
      "additionalProperties": false
    },
    "HelloResult": {
      "type": "object",
      "properties": {
        "protocolVersion": {
          "description": "The newest version both sides know.",
          "type": "string"
        },
        "nonce": {
          "description": "The server's fresh 32 bytes, base64.",
          "type": "string"
        },
        "server": {
          "type": "object",
          "properties": {
            "name": {
              "type": "string"
            },
            "version": {
              "type": "string"
            }
          },
          "required": [
            "name",
            "version"
          ],
          "additionalProperties": false
        },
        "managerId": {
          "description": "Since 2026-12: the id of the manager process that answers (§7.18), unique among the managers that serve the same store, the same in every session of that process; sent in every session that negotiated 2026-12 or later, absent in 2026-11.",
          "type": "string",
          "minLength": 1,
          "maxLength": 100
        }
      },
      "required": [
        "protocolVersion",
        "nonce",
        "server"
      ],
      "additionalProperties": false
    },
    "AuthenticateParams": {
      "type": "object",
      "properties": {
        "proof": {
          "description": "Lowercase hex HMAC-SHA256(authkey, \"taskwire-client\\n\" + serverNonce + \"\\n\" + clientNonce + \"\\n\" + protocolVersion).",
          "type": "string"
        }
      },
      "required": [
        "proof"
      ],
      "additionalProperties": false
    },
    "Capabilities": {
      "type": "object",
      "properties": {
        "events": {
          "description": "events/subscribe is served.",
          "type": "boolean"
        },
        "framings": {
          "description": "The framings the server accepts.",
          "type": "array",
          "items": {
            "enum": [
              "ndjson",
              "content-length"
            ]
          }
        },
        "autoCreateQueues": {
          "description": "Queues are created on first use.",
          "type": "boolean"
        },
        "ackNext": {
          "description": "task/ack takes next: an ack that also takes the next tasks (§5.9.1). Optional; absent means false.",
          "type": "boolean"
        }
      },
      "required": [
        "events",
        "framings",
        "autoCreateQueues"
      ],
      "additionalProperties": false
    },
    "Limits": {
      "type": "object",
      "properties": {
        "maxFrameBytes": {
          "description": "The largest frame the server reads.",
          "type": "integer",
          "minimum": 1
        },
        "maxPayloadBytes": {
          "description": "The largest payload or result: its JSON text as sent, without insignificant whitespace, in UTF-8 (§7.17).",
          "type": "integer",
          "minimum": 1
        },
        "maxBatch": {
          "description": "The most tasks, acks, nacks or ids in one request, and the largest get max.",
          "type": "integer",
          "minimum": 1
        },
        "maxSubscriptions": {
          "description": "The most subscriptions one session may hold.",
          "type": "integer",
          "minimum": 1
        },
        "maxQueuedBytes": {
          "description": "The manager's budget for the payload bytes (their JSON text as sent, §7.17) of all its queued tasks: ready, delayed, leased and dead-lettered; 0 means unlimited. Optional.",
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "maxFrameBytes",
        "maxPayloadBytes",
        "maxBatch",
        "maxSubscriptions"
      ],
      "additionalProperties": false
    },
    "AuthenticateResult": {
      "type": "object",
      "properties": {
        "sessionId": {
          "type": "string"
        },
        "serverProof": {
          "description": "Lowercase hex HMAC-SHA256(authkey, \"taskwire-server\\n\" + serverNonce + \"\\n\" + clientNonce + \"\\n\" + protocolVersion).",
          "type": "string"
        },
        "capabilities": {
          "$ref": "#/$defs/Capabilities"
        },
        "limits": {
          "$ref": "#/$defs/Limits"
        }
      },
      "required": [
        "sessionId",
        "serverProof",
        "capabilities",
        "limits"
      ],
      "additionalProperties": false
    },
    "PingResult": {
      "type": "object",
      "properties": {
        "time": {
          "$ref": "#/$defs/Timestamp"
        }
      },
      "required": [
        "time"
      ],
      "additionalProperties": false
    },
    "DeclareParams": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "maxsize": {
          "description": "Bound on ready + delayed + leased; 0 means unbounded.",
          "type": "integer",
          "minimum": 0
        },
        "maxBytes": {
          "description": "Bound on the payload bytes (their JSON text as sent, §7.17) of ready + delayed + leased tasks; 0 means unbounded.",
          "type": "integer",
          "minimum": 0
        },
        "ttr": {
          "description": "Default lease length (time to run) in seconds.",
          "$ref": "#/$defs/Seconds",
          "exclusiveMinimum": 0,
          "type": "number"
        },
        "maxAttempts": {
          "description": "Deliveries before a task is dead-lettered; 0 means unlimited.",
          "type": "integer",
          "minimum": 0
        },
        "deadLetter": {
          "description": "The dead-letter queue's name; null keeps dead tasks nowhere (they are dropped with a dead event). Default <queue>.dead.",
          "oneOf": [
            {
              "$ref": "#/$defs/QueueName"
            },
            {
              "type": "null"
            }
          ]
        },
        "rate": {
          "description": "Since 2026-12: a limit on all deliveries of the queue, shared by every worker (and every manager on one shared store), §7.22; null removes it. Default none.",
          "oneOf": [
            {
              "$ref": "#/$defs/RateLimit"
            },
            {
              "type": "null"
            }
          ]
        },
        "keyRate": {
          "description": "Since 2026-12: a limit on the deliveries of each rate key (TaskSpec.rateKey), §7.22; tasks without a rateKey are only held to rate. null removes it. Default none.",
          "oneOf": [
            {
              "$ref": "#/$defs/RateLimit"
            },
            {
              "type": "null"
            }
          ]
        },
        "keyConcurrency": {
          "description": "Since 2026-12: at most this many tasks of one rate key leased at once, §7.22; 0 means unlimited (the default).",
          "type": "integer",
          "minimum": 0,
          "maximum": 1000000
        }
      },
      "required": [
        "queue"
      ],
      "additionalProperties": false
    },
    "DeclareResult": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "created": {
          "type": "boolean"
        }
      },
      "required": [
        "queue",
        "created"
      ],
      "additionalProperties": false
    },
    "QueueParams": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        }
      },
      "required": [
        "queue"
      ],
      "additionalProperties": false
    },
    "QueueTotals": {
      "description": "Counters since the manager started.",
      "type": "object",
      "properties": {
        "put": {
          "type": "integer",
          "minimum": 0
        },
        "acked": {
          "type": "integer",
          "minimum": 0
        },
        "nacked": {
          "type": "integer",
          "minimum": 0
        },
        "expired": {
          "type": "integer",
          "minimum": 0
        },
        "released": {
          "description": "Since 2026-12: how many of expired were releases (the holder's session closed or a manager shut down or is gone) rather than expiries. Sent to sessions of 2026-12 or later.",
          "type": "integer",
          "minimum": 0
        },
        "deadLettered": {
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "put",
        "acked",
        "nacked",
        "expired",
        "deadLettered"
      ],
      "additionalProperties": false
    },
    "QueueStats": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "ready": {
          "type": "integer",
          "minimum": 0
        },
        "leased": {
          "type": "integer",
          "minimum": 0
        },
        "delayed": {
          "type": "integer",
          "minimum": 0
        },
        "dead": {
          "description": "Tasks waiting in this queue's dead-letter queue.",
          "type": "integer",
          "minimum": 0
        },
        "maxsize": {
          "description": "0 means unbounded.",
          "type": "integer",
          "minimum": 0
        },
        "bytes": {
          "description": "The payload bytes (their JSON text as sent, §7.17) of its ready, delayed and leased tasks. Optional.",
          "type": "integer",
          "minimum": 0
        },
        "maxBytes": {
          "description": "Bound on bytes; 0 means unbounded. Optional.",
          "type": "integer",
          "minimum": 0
        },
        "waitingGetters": {
          "type": "integer",
          "minimum": 0
        },
        "waitingPutters": {
          "type": "integer",
          "minimum": 0
        },
        "ttr": {
          "$ref": "#/$defs/Seconds"
        },
        "maxAttempts": {
          "type": "integer",
          "minimum": 0
        },
        "deadLetter": {
          "oneOf": [
            {
              "$ref": "#/$defs/QueueName"
            },
            {
              "type": "null"
            }
          ]
        },
        "paused": {
          "description": "Since 2026-12: true while the queue is paused (§7.19): gets deliver nothing from it. Sent to sessions of 2026-12 or later.",
          "type": "boolean"
        },
        "totals": {
          "$ref": "#/$defs/QueueTotals"
        },
        "rate": {
          "description": "Since 2026-12: the queue's rate limit, when it has one (§7.22). Sent to sessions of 2026-12 or later.",
          "$ref": "#/$defs/RateLimit"
        },
        "keyRate": {
          "description": "Since 2026-12: the limit of each rate key, when the queue has one.",
          "$ref": "#/$defs/RateLimit"
        },
        "keyConcurrency": {
          "description": "Since 2026-12: the cap on leased tasks per rate key, when the queue has one.",
          "type": "integer",
          "minimum": 1
        },
        "throttled": {
          "description": "Since 2026-12, on a queue with limits: how many of its ready tasks wait for budget (their key, or the queue, is over its rate or its key at keyConcurrency) rather than for a worker.",
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "queue",
        "ready",
        "leased",
        "delayed",
        "dead",
        "maxsize",
        "waitingGetters",
        "totals"
      ],
      "additionalProperties": false
    },
    "ListResult": {
      "type": "object",
      "properties": {
        "queues": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/QueueStats"
          }
        }
      },
      "required": [
        "queues"
      ],
      "additionalProperties": false
    },
    "TaskSpec": {
      "type": "object",
      "properties": {
        "payload": {
          "$ref": "#/$defs/JsonValue"
        },
        "priority": {
          "description": "Higher first; default 0.",
          "type": "integer",
          "minimum": -1000000,
          "maximum": 1000000
        },
        "delay": {
          "description": "Seconds to hold the task back.",
          "$ref": "#/$defs/Seconds"
        },
        "ttr": {
          "description": "Lease length for this task, overriding the queue's.",
          "$ref": "#/$defs/Seconds",
          "exclusiveMinimum": 0,
          "type": "number"
        },
        "replyTo": {
          "description": "Queue that receives {taskId, result} when the task is acked with a result.",
          "$ref": "#/$defs/QueueName"
        },
        "maxAttempts": {
          "description": "Overrides the queue's maxAttempts; 0 means unlimited.",
          "type": "integer",
          "minimum": 0
        },
        "unique": {
          "description": "Since 2026-12: a uniqueness key for the task (§7.21). A put whose key is held in the queue by another task answers that task's id as a duplicate instead of adding a task.",
          "$ref": "#/$defs/Unique"
        },
        "rateKey": {
          "description": "Since 2026-12: the task's rate key (e.g. the host of a URL to fetch): the queue's keyRate and keyConcurrency apply to the tasks of each key, §7.22. Ignored on a queue without them.",
          "$ref": "#/$defs/RateKey"
        }
      },
      "required": [
        "payload"
      ],
      "additionalProperties": false
    },
    "Unique": {
      "description": "Since 2026-12: a task's uniqueness key (§7.21). The key is held in its queue from the put while the task is within its scope, and at most ttl seconds after the put when ttl is given; it is freed when the task ends (ack, dead letter, purge).",
      "type": "object",
      "properties": {
        "key": {
          "description": "The key, unique per queue: 1 to 256 characters.",
          "type": "string",
          "minLength": 1,
          "maxLength": 256
        },
        "scope": {
          "description": "queued (default): held while the task is ready or delayed, and again when a retry brings it back if no other task took the key meanwhile; active: held while the task is ready, delayed or leased, through retries, until it ends.",
          "enum": [
            "queued",
            "active"
          ]
        },
        "ttl": {
          "description": "Seconds after the put after which the key is no longer held, whatever the task's state.",
          "$ref": "#/$defs/Seconds",
          "exclusiveMinimum": 0,
          "type": "number"
        }
      },
      "required": [
        "key"
      ],
      "additionalProperties": false
    },
    "PutParams": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "tasks": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/TaskSpec"
          },
          "minItems": 1
        },
        "timeout": {
          "description": "Seconds to wait for room; absent: wait as long as it takes; 0: never block.",
          "$ref": "#/$defs/Seconds"
        }
      },
      "required": [
        "queue",
        "tasks"
      ],
      "additionalProperties": false
    },
    "PutResult": {
      "type": "object",
      "properties": {
        "ids": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/TaskId"
          }
        },
        "duplicates": {
          "description": "Since 2026-12: one entry per task spec, in order: true when the spec's unique key was held and its id in ids is the existing task's (no task was added for it). Present when at least one spec of the put carried unique.",
          "type": "array",
          "items": {
            "type": "boolean"
          }
        }
      },
      "required": [
        "ids"
      ],
      "additionalProperties": false
    },
    "GetParams": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "max": {
          "description": "Up to this many tasks (default 1), returned as soon as one is ready.",
          "type": "integer",
          "minimum": 1
        },
        "timeout": {
          "description": "Seconds to wait for a task; absent: wait until one arrives; 0: never block.",
          "$ref": "#/$defs/Seconds"
        },
        "ttr": {
          "description": "Lease length for these tasks, overriding task and queue.",
          "$ref": "#/$defs/Seconds",
          "exclusiveMinimum": 0,
          "type": "number"
        },
        "autoAck": {
          "description": "Remove the tasks on delivery (at-most-once).",
          "type": "boolean"
        }
      },
      "required": [
        "queue"
      ],
      "additionalProperties": false
    },
    "Task": {
      "type": "object",
      "properties": {
        "id": {
          "$ref": "#/$defs/TaskId"
        },
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "payload": {
          "$ref": "#/$defs/JsonValue"
        },
        "attempt": {
          "description": "1 on the first delivery, plus one for every lease that ended without an ack.",
          "type": "integer",
          "minimum": 1
        },
        "priority": {
          "type": "integer"
        },
        "enqueuedAt": {
          "$ref": "#/$defs/Timestamp"
        },
        "leaseUntil": {
          "description": "When the lease ends unless touched; absent when not leased (peek, autoAck).",
          "$ref": "#/$defs/Timestamp"
        },
        "replyTo": {
          "$ref": "#/$defs/QueueName"
        },
        "lastError": {
          "description": "The error of the last nack, if any.",
          "type": "string"
        },
        "deadLetteredFrom": {
          "description": "On a dead letter: the queue it came from.",
          "$ref": "#/$defs/QueueName"
        }
      },
      "required": [
        "id",
        "queue",
        "payload",
        "attempt",
        "priority",
        "enqueuedAt"
      ],
      "additionalProperties": false
    },
    "GetResult": {
      "type": "object",
      "properties": {
        "tasks": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/Task"
          }
        }
      },
      "required": [
        "tasks"
      ],
      "additionalProperties": false
    },
    "Ack": {
      "type": "object",
      "properties": {
        "id": {
          "$ref": "#/$defs/TaskId"
        },
        "result": {
          "$ref": "#/$defs/JsonValue"
        }
      },
      "required": [
        "id"
      ],
      "additionalProperties": false
    },
    "AckParams": {
      "type": "object",
      "properties": {
        "acks": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/Ack"
          },
          "minItems": 1
        },
        "next": {
          "description": "Also take the next tasks in the same exchange (§5.9.1): after the acks are applied, the request goes on as a queue/get with these params, and its result carries the tasks. Only when capabilities.ackNext is true.",
          "$ref": "#/$defs/GetParams"
        }
      },
      "required": [
        "acks"
      ],
      "additionalProperties": false
    },
    "AckResult": {
      "type": "object",
      "properties": {
        "acked": {
          "type": "integer",
          "minimum": 0
        },
        "tasks": {
          "description": "With next: the tasks taken (as queue/get's result), possibly none (timeout, cancel).",
          "type": "array",
          "items": {
            "$ref": "#/$defs/Task"
          }
        }
      },
      "required": [
        "acked"
      ],
      "additionalProperties": false
    },
    "Nack": {
      "type": "object",
      "properties": {
        "id": {
          "$ref": "#/$defs/TaskId"
        },
        "error": {
          "description": "Why the task failed; kept as the task's lastError.",
          "type": "string",
          "maxLength": 10000
        },
        "delay": {
          "description": "Seconds before the retry; default: exponential back-off.",
          "$ref": "#/$defs/Seconds"
        },
        "retry": {
          "description": "false: the failure is permanent, so the task goes to the dead-letter queue at once instead of being retried (default true).",
          "type": "boolean"
        }
      },
      "required": [
        "id"
      ],
      "additionalProperties": false
    },
    "NackParams": {
      "type": "object",
      "properties": {
        "nacks": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/Nack"
          },
          "minItems": 1
        }
      },
      "required": [
        "nacks"
      ],
      "additionalProperties": false
    },
    "NackResult": {
      "type": "object",
      "properties": {
        "nacked": {
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "nacked"
      ],
      "additionalProperties": false
    },
    "TouchParams": {
      "type": "object",
      "properties": {
        "ids": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/TaskId"
          },
          "minItems": 1
        },
        "ttr": {
          "description": "New lease length from now; default: each task's lease length.",
          "$ref": "#/$defs/Seconds",
          "exclusiveMinimum": 0,
          "type": "number"
        }
      },
      "required": [
        "ids"
      ],
      "additionalProperties": false
    },
    "TouchResult": {
      "type": "object",
      "properties": {
        "leaseUntil": {
          "description": "The earliest new lease end among the tasks.",
          "$ref": "#/$defs/Timestamp"
        }
      },
      "required": [
        "leaseUntil"
      ],
      "additionalProperties": false
    },
    "ProgressParams": {
      "description": "Since 2026-12: a progress report of a task this session holds; percent or message (or both) is required.",
      "type": "object",
      "properties": {
        "id": {
          "$ref": "#/$defs/TaskId"
        },
        "percent": {
          "$ref": "#/$defs/ProgressPercent"
        },
        "message": {
          "$ref": "#/$defs/ProgressMessage"
        },
        "detail": {
          "description": "Any JSON value whose compact text is at most 4096 bytes in UTF-8 (larger: -32602 with data.field /detail).",
          "$ref": "#/$defs/JsonValue"
        }
      },
      "required": [
        "id"
      ],
      "additionalProperties": false
    },
    "ProgressPercent": {
      "description": "How much of the task is done, from 0 to 100 (fractions allowed).",
      "type": "number",
      "minimum": 0,
      "maximum": 100
    },
    "ProgressMessage": {
      "description": "A short text saying what the holder is doing, at most 200 characters.",
      "type": "string",
      "maxLength": 200
    },
    "TaskProgress": {
      "description": "Since 2026-12: the last progress reported for a held task.",
      "type": "object",
      "properties": {
        "percent": {
          "$ref": "#/$defs/ProgressPercent"
        },
        "message": {
          "$ref": "#/$defs/ProgressMessage"
        },
        "detail": {
          "$ref": "#/$defs/JsonValue"
        },
        "at": {
          "description": "When the manager received the report.",
          "$ref": "#/$defs/Timestamp"
        }
      },
      "required": [
        "at"
      ],
      "additionalProperties": false
    },
    "HeldTask": {
      "description": "Since 2026-12: a task a session holds, on its manager/clients entry.",
      "type": "object",
      "properties": {
        "id": {
          "$ref": "#/$defs/TaskId"
        },
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "leaseUntil": {
          "$ref": "#/$defs/Timestamp"
        },
        "progress": {
          "description": "The last progress reported for the task during this lease; absent when none was.",
          "$ref": "#/$defs/TaskProgress"
        }
      },
      "required": [
        "id",
        "queue"
      ],
      "additionalProperties": false
    },
    "JoinParams": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "timeout": {
          "description": "Seconds to wait; absent: as long as it takes; 0: never block.",
          "$ref": "#/$defs/Seconds"
        }
      },
      "required": [
        "queue"
      ],
      "additionalProperties": false
    },
    "JoinResult": {
      "type": "object",
      "properties": {
        "done": {
          "type": "boolean"
        }
      },
      "required": [
        "done"
      ],
      "additionalProperties": false
    },
    "PeekParams": {
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "max": {
          "description": "Default 1.",
          "type": "integer",
          "minimum": 1
        }
      },
      "required": [
        "queue"
      ],
      "additionalProperties": false
    },
    "PeekResult": {
      "type": "object",
      "properties": {
        "tasks": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/Task"
          }
        }
      },
      "required": [
        "tasks"
      ],
      "additionalProperties": false
    },
    "PurgeResult": {
      "type": "object",
      "properties": {
        "removed": {
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "removed"
      ],
      "additionalProperties": false
    },
    "ClientInfo": {
      "type": "object",
      "properties": {
        "sessionId": {
          "type": "string"
        },
        "manager": {
          "description": "Since 2026-12: the id of the manager the session is connected to (its managerId, §5.1). Sent to sessions that negotiated 2026-12 or later.",
          "type": "string",
          "minLength": 1,
          "maxLength": 100
        },
        "name": {
          "type": "string"
        },
        "role": {
          "$ref": "#/$defs/ClientRole"
        },
        "version": {
          "type": "string"
        },
        "language": {
          "type": "string"
        },
        "host": {
          "type": "string"
        },
        "pid": {
          "type": "integer"
        },
        "address": {
          "description": "The peer's address and port as the server sees it.",
          "type": "string"
        },
        "connectedAt": {
          "$ref": "#/$defs/Timestamp"
        },
        "lastSeenAt": {
          "$ref": "#/$defs/Timestamp"
        },
        "leased": {
          "description": "Tasks this session holds now.",
          "type": "integer",
          "minimum": 0
        },
        "acked": {
          "type": "integer",
          "minimum": 0
        },
        "nacked": {
          "type": "integer",
          "minimum": 0
        },
        "labels": {
          "type": "object",
          "additionalProperties": {
            "type": "string"
          }
        },
        "tasks": {
          "description": "Since 2026-12: the tasks the session holds now, each with its last progress report (task/progress). Sent to sessions that negotiated 2026-12 or later.",
          "type": "array",
          "items": {
            "$ref": "#/$defs/HeldTask"
          }
        },
        "state": {
          "description": "Since 2026-12: whether the session takes tasks (active), was told to take none (quiet, §7.20), or to finish and leave (stopping). Sent to sessions that negotiated 2026-12 or later.",
          "$ref": "#/$defs/SessionState"
        }
      },
      "required": [
        "sessionId",
        "name",
        "role",
        "address",
        "connectedAt",
        "lastSeenAt",
        "leased",
        "acked",
        "nacked"
      ],
      "additionalProperties": false
    },
    "ClientsResult": {
      "type": "object",
      "properties": {
        "clients": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/ClientInfo"
          }
        }
      },
      "required": [
        "clients"
      ],
      "additionalProperties": false
    },
    "SessionState": {
      "description": "Since 2026-12: a session's state as an operator set it (§7.20): active (the default), quiet (handed no task), stopping (handed no task, asked to finish and leave).",
      "type": "string",
      "enum": [
        "active",
        "quiet",
        "stopping"
      ]
    },
    "ControlParams": {
      "description": "Since 2026-12: the params of client/quiet and client/stop.",
      "type": "object",
      "properties": {
        "session": {
          "description": "The target session's id, as manager/clients lists it (its sessionId); a session of any manager of the store.",
          "type": "string",
          "minLength": 1,
          "maxLength": 200
        }
      },
      "required": [
        "session"
      ],
      "additionalProperties": false
    },
    "ControlResult": {
      "description": "Since 2026-12: the result of client/quiet and client/stop.",
      "type": "object",
      "properties": {
        "session": {
          "description": "The target session.",
          "type": "string"
        },
        "manager": {
          "description": "The id of the manager the session is on (§7.18).",
          "type": "string"
        },
        "state": {
          "description": "The session's state now. A quiet on a stopping session leaves it stopping.",
          "$ref": "#/$defs/SessionState"
        },
        "notified": {
          "description": "True when the session was sent session/state: it negotiated 2026-12 or later. False for a 2026-11 session, which cannot be told; the manager enforces quiet on it all the same, and closes it once it holds nothing when it is stopping (§7.20).",
          "type": "boolean"
        }
      },
      "required": [
        "session",
        "manager",
        "state",
        "notified"
      ],
      "additionalProperties": false
    },
    "SessionStateParams": {
      "description": "Since 2026-12: the params of the session/state notification.",
      "type": "object",
      "properties": {
        "state": {
          "description": "quiet: take no new task (the manager hands none), finish those held. stopping: finish the tasks held, ack them, then send session/close, close the connection and exit.",
          "type": "string",
          "enum": [
            "quiet",
            "stopping"
          ]
        }
      },
      "required": [
        "state"
      ],
      "additionalProperties": false
    },
    "ManagerStats": {
      "description": "The result of manager/stats: counters since the manager started, and the state of its queues now.",
      "type": "object",
      "properties": {
        "version": {
          "description": "The server software's version.",
          "type": "string"
        },
        "startedAt": {
          "$ref": "#/$defs/Timestamp"
        },
        "uptime": {
          "description": "Seconds since the manager started.",
          "type": "number",
          "minimum": 0
        },
        "connections": {
          "$ref": "#/$defs/ConnectionCounters"
        },
        "authFailures": {
          "description": "Failed session/authenticate requests.",
          "type": "integer",
          "minimum": 0
        },
        "frames": {
          "$ref": "#/$defs/TrafficCounters"
        },
        "bytes": {
          "$ref": "#/$defs/TrafficCounters"
        },
        "events": {
          "$ref": "#/$defs/EventCounters"
        },
        "leases": {
          "$ref": "#/$defs/LeaseCounters"
        },
        "memory": {
          "$ref": "#/$defs/MemoryUsage"
        },
        "rateWindow": {
          "description": "Seconds the queues' rates were measured over: about the last minute, less while the manager is younger than that.",
          "type": "number",
          "minimum": 0
        },
        "queuedBytes": {
          "description": "The payload bytes (their JSON text as sent, §7.17) of every task the manager holds: ready, delayed, leased and dead-lettered. Optional.",
          "type": "integer",
          "minimum": 0
        },
        "maxQueuedBytes": {
          "description": "The budget for queuedBytes (limits.maxQueuedBytes); 0 means unlimited. Optional.",
          "type": "integer",
          "minimum": 0
        },
        "queues": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/QueueActivity"
          }
        }
      },
      "required": [
        "version",
        "startedAt",
        "uptime",
        "connections",
        "authFailures",
        "frames",
        "bytes",
        "events",
        "leases",
        "memory",
        "rateWindow",
        "queues"
      ],
      "additionalProperties": false
    },
    "ConnectionCounters": {
      "description": "Connections of the manager.",
      "type": "object",
      "properties": {
        "current": {
          "description": "Open connections, authenticated or not.",
          "type": "integer",
          "minimum": 0
        },
        "sessions": {
          "description": "Open connections that have authenticated.",
          "type": "integer",
          "minimum": 0
        },
        "total": {
          "description": "Connections accepted since the manager started (refused ones not included).",
          "type": "integer",
          "minimum": 0
        },
        "refused": {
          "description": "Connections refused over a connection limit.",
          "type": "integer",
          "minimum": 0
        },
        "dropped": {
          "description": "Connections the server closed because of a limit: the hello or handshake deadline, room made for a newer connection, a frame left unfinished, output the peer did not read.",
          "type": "integer",
          "minimum": 0
        },
        "tlsFailures": {
          "description": "TLS handshakes that failed (0 without TLS).",
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "current",
        "sessions",
        "total",
        "refused",
        "dropped",
        "tlsFailures"
      ],
      "additionalProperties": false
    },
    "TrafficCounters": {
      "description": "Frames or bytes since the manager started, after TLS.",
      "type": "object",
      "properties": {
        "received": {
          "type": "integer",
          "minimum": 0
        },
        "sent": {
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "received",
        "sent"
      ],
      "additionalProperties": false
    },
    "EventCounters": {
      "description": "events/event notifications since the manager started.",
      "type": "object",
      "properties": {
        "sent": {
          "description": "Notifications written to subscribers.",
          "type": "integer",
          "minimum": 0
        },
        "dropped": {
          "description": "Notifications dropped because the subscriber's connection was too far behind (§6.1).",
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "sent",
        "dropped"
      ],
      "additionalProperties": false
    },
    "LeaseCounters": {
      "description": "Leases of every queue.",
      "type": "object",
      "properties": {
        "held": {
          "description": "Leases held now.",
          "type": "integer",
          "minimum": 0
        },
        "expired": {
          "description": "Leases that ended because their ttr ran out, since the manager started.",
          "type": "integer",
          "minimum": 0
        },
        "released": {
          "description": "Leases given back because their session closed or the manager shut down, since the manager started.",
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "held",
        "expired",
        "released"
      ],
      "additionalProperties": false
    },
    "MemoryUsage": {
      "description": "The manager process's memory, in bytes.",
      "type": "object",
      "properties": {
        "rss": {
          "description": "Resident set size.",
          "type": "integer",
          "minimum": 0
        },
        "heapUsed": {
          "type": "integer",
          "minimum": 0
        },
        "heapTotal": {
          "type": "integer",
          "minimum": 0
        },
        "external": {
          "description": "Memory outside the JavaScript heap, such as buffers.",
          "type": "integer",
          "minimum": 0
        }
      },
      "required": [
        "rss",
        "heapUsed",
        "heapTotal",
        "external"
      ],
      "additionalProperties": false
    },
    "QueueActivity": {
      "description": "One queue's depth now and its rates over rateWindow.",
      "type": "object",
      "properties": {
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "ready": {
          "type": "integer",
          "minimum": 0
        },
        "leased": {
          "type": "integer",
          "minimum": 0
        },
        "delayed": {
          "type": "integer",
          "minimum": 0
        },
        "putsPerSecond": {
          "description": "Tasks that entered the queue per second (QueueTotals.put).",
          "type": "number",
          "minimum": 0
        },
        "acksPerSecond": {
          "description": "Tasks acked per second (QueueTotals.acked).",
          "type": "number",
          "minimum": 0
        }
      },
      "required": [
        "queue",
        "ready",
        "leased",
        "delayed",
        "putsPerSecond",
        "acksPerSecond"
      ],
      "additionalProperties": false
    },
    "EventKind": {
      "enum": [
        "put",
        "get",
        "ack",
        "nack",
        "expired",
        "released",
        "dead",
        "purge",
        "paused",
        "resumed",
        "client-connected",
        "client-disconnected",
        "progress",
        "scheduled",
        "schedule-set",
        "schedule-deleted"
      ],
      "description": "Since 2026-12: progress, a progress report of a task's holder (task/progress; never sent to sessions of 2026-11). Since 2026-12: released, a lease given back because its holder's session closed, the client stopped or a manager shut down or is gone (sessions of 2026-11 see these as expired). Since 2026-12: paused and resumed, a queue was paused or resumed (§7.19); sent to sessions of 2026-12 or later only. Since 2026-12: scheduled, a tick of a schedule (§5.25): the task it put (taskId; the task also has its put event) or, with error, why the tick was skipped (the queue was full or is gone). Since 2026-12: schedule-set and schedule-deleted, a schedule was created or replaced (schedule/set) or deleted (schedule/delete), so that a view of the schedules stays current (§5.25, §5.27); sent to sessions of 2026-12 or later only."
    },
    "SubscribeParams": {
      "type": "object",
      "properties": {
        "queues": {
          "description": "Only events of these queues (client events always pass); absent: all.",
          "type": "array",
          "items": {
            "$ref": "#/$defs/QueueName"
          },
          "maxItems": 1000
        },
        "kinds": {
          "description": "Only these kinds; absent: all.",
          "type": "array",
          "items": {
            "$ref": "#/$defs/EventKind"
          }
        },
        "includePayload": {
          "description": "Carry task payloads on put, get and dead events (results on ack events are always carried).",
          "type": "boolean"
        }
      },
      "additionalProperties": false
    },
    "SubscribeResult": {
      "type": "object",
      "properties": {
        "subscription": {
          "type": "string"
        }
      },
      "required": [
        "subscription"
      ],
      "additionalProperties": false
    },
    "UnsubscribeParams": {
      "type": "object",
      "properties": {
        "subscription": {
          "type": "string"
        }
      },
      "required": [
        "subscription"
      ],
      "additionalProperties": false
    },
    "Event": {
      "type": "object",
      "properties": {
        "subscription": {
          "type": "string"
        },
        "kind": {
          "$ref": "#/$defs/EventKind"
        },
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "taskId": {
          "$ref": "#/$defs/TaskId"
        },
        "attempt": {
          "type": "integer",
          "minimum": 1
        },
        "payload": {
          "$ref": "#/$defs/JsonValue"
        },
        "result": {
          "$ref": "#/$defs/JsonValue"
        },
        "error": {
          "type": "string",
          "description": "On nack: the nack's error. On expired: why the lease ended (lease expired). Since 2026-12, on released: why it was given back (client disconnected, client stopped, manager shut down, manager gone)."
        },
        "count": {
          "description": "On purge: how many tasks were removed.",
          "type": "integer",
          "minimum": 0
        },
        "percent": {
          "description": "Since 2026-12, on progress: the reported percentage, when the report had one.",
          "$ref": "#/$defs/ProgressPercent"
        },
        "message": {
          "description": "Since 2026-12, on progress: the reported message, when the report had one.",
          "$ref": "#/$defs/ProgressMessage"
        },
        "detail": {
          "description": "Since 2026-12, on progress: the reported detail, when the report had one.",
          "$ref": "#/$defs/JsonValue"
        },
        "schedule": {
          "description": "Since 2026-12, on scheduled: the name of the schedule that ticked; on schedule-set and schedule-deleted: the schedule set or deleted.",
          "$ref": "#/$defs/ScheduleName"
        },
        "client": {
          "description": "The session that caused the event, or that connected or disconnected.",
          "$ref": "#/$defs/EventClient"
        },
        "manager": {
          "description": "Since 2026-12: the id of the manager the event's client session is on (§7.18). Sent to subscriptions of sessions that negotiated 2026-12 or later, on every event that has a client.",
          "type": "string",
          "minLength": 1,
          "maxLength": 100
        },
        "at": {
          "$ref": "#/$defs/Timestamp"
        }
      },
      "required": [
        "subscription",
        "kind",
        "at"
      ],
      "additionalProperties": false
    },
    "EventClient": {
      "type": "object",
      "properties": {
        "sessionId": {
          "type": "string"
        },
        "name": {
          "type": "string"
        },
        "role": {
          "$ref": "#/$defs/ClientRole"
        },
        "address": {
          "type": "string"
        }
      },
      "required": [
        "sessionId",
        "name"
      ],
      "additionalProperties": false
    },
    "CancelParams": {
      "type": "object",
      "properties": {
        "id": {
          "type": [
            "integer",
            "string"
          ]
        }
      },
      "required": [
        "id"
      ],
      "additionalProperties": false
    },
    "ErrorData": {
      "description": "The data member of an error response. Application errors (1000-1999) always carry reason.",
      "type": "object",
      "properties": {
        "reason": {
          "type": "string"
        },
        "field": {
          "description": "-32602: JSON Pointer of the offending field.",
          "type": "string"
        },
        "limit": {
          "description": "-32004, 1004, 1005: the limit's name or size; 1002: the bound the put did not fit (maxsize, maxBytes or maxQueuedBytes).",
          "type": [
            "string",
            "integer"
          ]
        },
        "max": {
          "description": "1005, 1002: the value of the limit named by limit.",
          "type": "integer"
        },
        "retryAfter": {
          "description": "1005 with limit \"authFailureBackoff\": seconds until proofs from the client's address are checked again. 1006: a hint, in seconds, of when the store may be back.",
          "type": "number",
          "minimum": 0
        },
        "supported": {
          "description": "-32003: the versions the server speaks.",
          "type": "array",
          "items": {
            "type": "string"
          }
        },
        "ids": {
          "description": "1003: the task ids not held.",
          "type": "array",
          "items": {
            "type": "string"
          }
        },
        "queue": {
          "type": "string"
        },
        "maxsize": {
          "description": "1002: the queue's maxsize.",
          "type": "integer"
        },
        "session": {
          "description": "1007: the session id that was not found.",
          "type": "string"
        },
        "schedule": {
          "description": "Since 2026-12, 1010: the schedule name that was not found.",
          "type": "string"
        }
      }
    },
    "JsonRpcRequest": {
      "type": "object",
      "properties": {
        "jsonrpc": {
          "const": "2.0"
        },
        "id": {
          "type": [
            "integer",
            "string"
          ]
        },
        "method": {
          "type": "string"
        },
        "params": {
          "type": [
            "object",
            "array"
          ]
        }
      },
      "required": [
        "jsonrpc",
        "id",
        "method"
      ],
      "additionalProperties": false
    },
    "JsonRpcNotification": {
      "type": "object",
      "properties": {
        "jsonrpc": {
          "const": "2.0"
        },
        "method": {
          "type": "string"
        },
        "params": {
          "type": [
            "object",
            "array"
          ]
        }
      },
      "required": [
        "jsonrpc",
        "method"
      ],
      "additionalProperties": false
    },
    "JsonRpcError": {
      "type": "object",
      "properties": {
        "code": {
          "type": "integer"
        },
        "message": {
          "type": "string"
        },
        "data": {
          "$ref": "#/$defs/ErrorData"
        }
      },
      "required": [
        "code",
        "message"
      ],
      "additionalProperties": false
    },
    "JsonRpcResponse": {
      "type": "object",
      "properties": {
        "jsonrpc": {
          "const": "2.0"
        },
        "id": {
          "type": [
            "integer",
            "string",
            "null"
          ]
        },
        "result": true,
        "error": {
          "$ref": "#/$defs/JsonRpcError"
        }
      },
      "required": [
        "jsonrpc",
        "id"
      ],
      "oneOf": [
        {
          "required": [
            "result"
          ],
          "properties": {
            "result": true
          }
        },
        {
          "required": [
            "error"
          ],
          "properties": {
            "error": true
          }
        }
      ],
      "additionalProperties": false
    },
    "ScheduleName": {
      "description": "A schedule name: 1 to 195 characters of letters, digits and . _ - : /",
      "type": "string",
      "pattern": "^[A-Za-z0-9._:/-]{1,195}$"
    },
    "CronExpression": {
      "description": "A cron expression of 5 fields (minute hour day-of-month month day-of-week), 6 (seconds first) or 7 (a year last), as croner reads it: ranges, lists, steps, names such as MON and JAN, L, W, #, and the nicknames @hourly, @daily, @weekly, @monthly, @yearly. When day-of-month and day-of-week are both restricted, either matches (the classic cron rule).",
      "type": "string",
      "minLength": 1,
      "maxLength": 200
    },
    "ScheduleSetParams": {
      "description": "Since 2026-12: a schedule. Exactly one of cron and every; timezone only with cron.",
      "type": "object",
      "properties": {
        "name": {
          "$ref": "#/$defs/ScheduleName"
        },
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "task": {
          "description": "The task to put at each tick, as queue/put takes it.",
          "$ref": "#/$defs/TaskSpec"
        },
        "cron": {
          "$ref": "#/$defs/CronExpression"
        },
        "timezone": {
          "description": "The IANA time zone the cron expression is read in (e.g. Europe/Berlin); default UTC.",
          "type": "string",
          "minLength": 1,
          "maxLength": 100
        },
        "every": {
          "description": "A fixed interval in seconds (at least 1): ticks at startAt (or the set time + every) and every `every` seconds after it.",
          "type": "number",
          "minimum": 1,
          "maximum": 31536000
        },
        "startAt": {
          "description": "No tick before this time; with every, the first tick.",
          "$ref": "#/$defs/Timestamp"
        }
      },
      "required": [
        "name",
        "queue",
        "task"
      ],
      "additionalProperties": false
    },
    "ScheduleSetResult": {
      "type": "object",
      "properties": {
        "schedule": {
          "$ref": "#/$defs/Schedule"
        },
        "created": {
          "description": "false when a schedule of that name was replaced.",
          "type": "boolean"
        }
      },
      "required": [
        "schedule",
        "created"
      ],
      "additionalProperties": false
    },
    "ScheduleRun": {
      "description": "A tick that ran: when, and the task it put or why it was skipped.",
      "type": "object",
      "properties": {
        "at": {
          "$ref": "#/$defs/Timestamp"
        },
        "taskId": {
          "$ref": "#/$defs/TaskId"
        },
        "skipped": {
          "description": "Why no task was put (the queue was full, or does not exist).",
          "type": "string"
        }
      },
      "required": [
        "at"
      ],
      "additionalProperties": false
    },
    "Schedule": {
      "description": "Since 2026-12: a schedule as the manager keeps it.",
      "type": "object",
      "properties": {
        "name": {
          "$ref": "#/$defs/ScheduleName"
        },
        "queue": {
          "$ref": "#/$defs/QueueName"
        },
        "task": {
          "$ref": "#/$defs/TaskSpec"
        },
        "cron": {
          "$ref": "#/$defs/CronExpression"
        },
        "timezone": {
          "type": "string"
        },
        "every": {
          "type": "number"
        },
        "startAt": {
          "$ref": "#/$defs/Timestamp"
        },
        "nextRun": {
          "description": "When the next tick is due.",
          "$ref": "#/$defs/Timestamp"
        },
        "lastRun": {
          "$ref": "#/$defs/ScheduleRun"
        }
      },
      "required": [
        "name",
        "queue",
        "task",
        "nextRun"
      ],
      "additionalProperties": false
    },
    "ScheduleListParams": {
      "type": "object",
      "properties": {
        "queue": {
          "description": "Only the schedules of this queue.",
          "$ref": "#/$defs/QueueName"
        }
      },
      "additionalProperties": false
    },
    "ScheduleListResult": {
      "type": "object",
      "properties": {
        "schedules": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/Schedule"
          }
        }
      },
      "required": [
        "schedules"
      ],
      "additionalProperties": false
    },
    "ScheduleDeleteParams": {
      "type": "object",
      "properties": {
        "name": {
          "$ref": "#/$defs/ScheduleName"
        }
      },
      "required": [
        "name"
      ],
      "additionalProperties": false
    },
    "RateLimit": {
      "description": "Since 2026-12: at most max deliveries per period seconds, spaced evenly (one every period/max seconds) with up to burst of them at once after a quiet spell: the generic cell rate algorithm (GCRA), §7.22.",
      "type": "object",
      "properties": {
        "max": {
          "description": "Deliveries per period.",
          "type": "integer",
          "minimum": 1,
          "maximum": 1000000
        },
        "period": {
          "description": "The period in seconds.",
          "type": "number",
          "exclusiveMinimum": 0,
          "maximum": 86400
        },
        "burst": {
          "description": "Deliveries allowed at once after a quiet spell (at most max); default 1: evenly spaced.",
          "type": "integer",
          "minimum": 1,
          "maximum": 1000000
        }
      },
      "required": [
        "max",
        "period"
      ],
      "additionalProperties": false
    },
    "RateKey": {
      "description": "Since 2026-12: a rate key, 1 to 256 characters.",
      "type": "string",
      "minLength": 1,
      "maxLength": 256
    }
  }
};
