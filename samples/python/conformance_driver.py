#!/usr/bin/env python3
"""Conformance driver for this client library (``taskwire conformance client``).

The conformance kit plays a Taskwire server, correct or deliberately wrong, and runs this
script against it. The contract (spec/conformance/README.md, "The driver contract"): the kit
sets TASKWIRE_HOST, TASKWIRE_PORT, TASKWIRE_AUTHKEY_FILE and TASKWIRE_CONFORMANCE_OP (plus
the case's TASKWIRE_CONFORMANCE_* variables); the script performs that one operation with
the library and prints one JSON line with its outcome, then exits 0:

    {"outcome": "ok", "value": ...}
    {"outcome": "error", "error": "<class>", "code": <wire code, if any>, "message": "..."}
    {"outcome": "unsupported", "reason": "..."}

Run it by hand against a real manager too:
    TASKWIRE_CONFORMANCE_OP=ping TASKWIRE_PORT=7400 python3 conformance_driver.py
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import taskwire  # noqa: E402  (the library next to this script, not an installed one)


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TASKWIRE_CONFORMANCE_{name}", default)


def _connect(reconnect: bool) -> taskwire.Client:
    # Host, port and key come from TASKWIRE_HOST, TASKWIRE_PORT and TASKWIRE_AUTHKEY_FILE.
    policy: Any = taskwire.Reconnect(initial_delay=0.05, max_delay=0.5, max_attempts=20) if reconnect else False
    return taskwire.connect(name="conformance-driver", reconnect=policy, connect_timeout=float(_env("CONNECT_TIMEOUT", "10")))


def _operate(op: str) -> Any:
    queue = _env("QUEUE", "conformance")
    reconnect = _env("RECONNECT", "0") == "1" or op == "reconnect"
    with _connect(reconnect) as client:
        if op == "ping":
            return client.ping()
        if op == "put":
            return client.put(queue, json.loads(_env("PAYLOAD", '"conformance"')))
        if op == "get":
            timeout = float(_env("TIMEOUT", "1"))
            task = client.get(queue, timeout=timeout)
            return {"id": task.id, "payload": task.payload, "attempt": task.attempt}
        if op == "cancel-get":
            token = taskwire.CancelToken()
            # Cancels from another thread while get waits, as a caller giving up would.
            timer = threading.Timer(float(_env("CANCEL_AFTER", "0.3")), token.cancel)
            timer.start()
            try:
                client.get(queue, cancel=token)
            finally:
                timer.cancel()
            return "not cancelled"
        if op == "reconnect":
            first = client.ping()
            # The kit drops the connection after the first ping: the second call must go
            # through a new connection. A call that was already on the dropped connection
            # fails with ConnectionClosed; the library's reconnect makes the retry succeed.
            try:
                second = client.ping()
            except taskwire.ConnectionClosed:
                second = client.ping()
            return [first, second]
        if op == "work":
            return _work(client, queue, float(_env("TIMEOUT", "1")))
    raise LookupError(op)


def _work(client: taskwire.Client, queue: str, idle: float) -> int:
    """A worker's loop (Queue.work): each task's payload is its ack's result, and each ack
    takes the next task when the server announces ackNext; ends once `idle` seconds pass with
    no task."""
    return client.queue(queue).work(lambda task: task.payload, idle_timeout=idle)


def _error_class(error: BaseException) -> str:
    if isinstance(error, taskwire.ServerProofError):
        return "server-proof"
    if isinstance(error, taskwire.AuthenticationFailed):
        return "authentication"
    if isinstance(error, taskwire.UnsupportedProtocolVersion):
        return "unsupported-version"
    if isinstance(error, taskwire.RequestCancelled):
        return "cancelled"
    if isinstance(error, taskwire.QueueEmpty):
        return "empty"
    if isinstance(error, taskwire.QueueFull):
        return "full"
    if isinstance(error, taskwire.StoreUnavailable):
        return "store-unavailable"
    if isinstance(error, taskwire.RemoteError):
        return "remote"
    if isinstance(error, taskwire.Timeout):
        return "timeout"
    if isinstance(error, (taskwire.ConnectError, taskwire.ConnectionClosed, ConnectionError, OSError)):
        return "connection"
    return "other"


def main() -> int:
    op = os.environ.get("TASKWIRE_CONFORMANCE_OP", "")
    outcome: Dict[str, Any]
    if op not in ("ping", "put", "get", "cancel-get", "reconnect", "work"):
        outcome = {"outcome": "unsupported", "reason": f"unknown operation {op!r}"}
    else:
        try:
            outcome = {"outcome": "ok", "value": _operate(op)}
        except Exception as error:  # every failure is an outcome the kit judges
            outcome = {"outcome": "error", "error": _error_class(error), "message": str(error)}
            code = getattr(error, "code", None)
            if isinstance(code, int):
                outcome["code"] = code
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
