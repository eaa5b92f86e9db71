"""Taskwire client for Python: queues on the network, with nothing but the standard library.

A Taskwire *manager* (``npx taskwire serve``) holds named queues. This package connects to
it over TCP (optionally TLS), proves that it holds the shared key, and puts, takes and
acknowledges tasks. It speaks protocol versions 2026-11 and 2026-12 (``spec/protocol.md``):
JSON-RPC 2.0, one message per line.

    import queue
    import taskwire

    with taskwire.connect(authkey=b"biu") as client:
        tasks = client.queue("tasks")
        tasks.put("image_url_0", reply_to="results")
        try:
            task = tasks.get(True, timeout=5)       # queue.Empty when nothing comes
        except queue.Empty:
            ...
        task.ack(f"{task.payload} ---> success")    # the result goes to "results"

Code written for :mod:`multiprocessing.managers` keeps its shape with :class:`QueueManager`.

One :class:`Client` may be shared by many threads, and a blocked ``get`` never holds up
other calls. By default the client reconnects with back-off when the connection drops and
re-establishes its subscriptions; a call made while it is disconnected waits for the new
connection. How the threads share one connection is told in channel.py.

The package, one concept a module: ``errors`` (the exceptions, one per code of the spec's
error registry), ``auth`` (keys, nonces, proofs), ``transport`` (TCP and TLS sockets),
``framing`` (NDJSON frames, JSON encoding), ``channel`` (one authenticated connection, read
leader/follower), ``handshake`` (opening a channel), ``types`` (tasks, task specs, events,
stats), ``cancel`` (:class:`CancelToken`), ``subscription`` (:class:`Subscription`),
``connection`` (reconnecting), ``client`` (:class:`Client`, :func:`connect`), ``queue``
(:class:`Queue`) and ``manager`` (:class:`QueueManager`). Import everything from
``taskwire`` itself: the modules' layout is not part of the API.
"""

from __future__ import annotations

from .addresses import format_address, resolve_addresses
from .auth import _new_nonce, client_proof, default_authkey_file, read_authkey_file, resolve_authkey, server_proof
from .cancel import CancelToken
from .client import Client, connect
from .connection import Reconnect
from .constants import DEFAULT_HOST, DEFAULT_PORT, PROTOCOL_VERSION, PROTOCOL_VERSIONS, __version__
from .errors import (
    AuthenticationFailed,
    AuthkeyError,
    ConnectError,
    ConnectionClosed,
    FrameTooLarge,
    InternalError,
    InvalidParams,
    InvalidRequest,
    LeaseUnknown,
    LimitExceeded,
    MethodNotFound,
    NoManagerReachable,
    NotAuthenticated,
    ParseError,
    PayloadTooLarge,
    QueueEmpty,
    QueueFull,
    QueueNotFound,
    RemoteError,
    RequestCancelled,
    ServerProofError,
    SessionNotFound,
    ShuttingDown,
    ScheduleNotFound,
    StoreUnavailable,
    TaskwireError,
    TaskwireWarning,
    Timeout,
    UnsupportedProtocolVersion,
    remote_error,
)
from .manager import QueueManager
from .queue import Queue
from .subscription import Subscription
from .types import NO_RESULT, ClientInfo, Event, Limits, QueueStats, QueueTotals, Task, TaskSpec, UniquePut

__all__ = [
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSIONS",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "NO_RESULT",
    "connect",
    "Client",
    "Queue",
    "Task",
    "TaskSpec",
    "UniquePut",
    "Event",
    "Subscription",
    "CancelToken",
    "Reconnect",
    "QueueManager",
    "resolve_addresses",
    "format_address",
    "resolve_authkey",
    "read_authkey_file",
    "default_authkey_file",
    "client_proof",
    "server_proof",
    "remote_error",
    "TaskwireWarning",
    "TaskwireError",
    "RemoteError",
    "ParseError",
    "InvalidRequest",
    "MethodNotFound",
    "InvalidParams",
    "InternalError",
    "AuthenticationFailed",
    "NotAuthenticated",
    "UnsupportedProtocolVersion",
    "FrameTooLarge",
    "ShuttingDown",
    "RequestCancelled",
    "QueueNotFound",
    "QueueFull",
    "LeaseUnknown",
    "PayloadTooLarge",
    "LimitExceeded",
    "StoreUnavailable",
    "SessionNotFound",
    "ScheduleNotFound",
    "QueueEmpty",
    "ConnectError",
    "NoManagerReachable",
    "ConnectionClosed",
    "ServerProofError",
    "Timeout",
    "AuthkeyError",
]

# The public names read as ``taskwire.X`` in tracebacks, reprs and pickles, as they did when
# the package was one module, whichever module defines them.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) or callable(_value) and hasattr(_value, "__module__"):
        _value.__module__ = __name__
del _name, _value
