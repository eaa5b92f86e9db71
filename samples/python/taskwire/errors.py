"""The exceptions: errors answered by a manager (one class per code of the spec's error
registry, spec §8.2) and the client's own (not connected, timed out, no key).

The registry classes are written by hand, with their docstrings; tests/test_errors.py
checks each against ``spec/protocol.json``'s ``errors`` (name, code, message, reason), so a
code added to the spec fails a test until it has its class here and in ``_REMOTE_ERRORS``.
"""

from __future__ import annotations

import copy
import queue as _stdlib_queue
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Type


class TaskwireWarning(UserWarning):
    """A configuration that works but is unsafe, such as a key file others can read."""


class TaskwireError(Exception):
    """Base of every error this package raises."""


class RemoteError(TaskwireError):
    """An error answered by the manager, with the wire's ``code``, ``message`` and ``data``.

    Each code of the protocol's error registry (spec §8.2) has a subclass named as in the
    registry; an unknown code is raised as ``RemoteError`` itself. Act on the class (or
    ``code``/``reason``), never on the message.
    """

    #: The registry code of the subclass; instances carry the code actually received.
    CODE: Optional[int] = None
    #: The registry's message for the code; instances carry the message actually received.
    MESSAGE: Optional[str] = None
    #: The registry's ``data.reason`` of an application error (1000-1999), else None.
    REASON: Optional[str] = None

    def __init__(self, code: int, message: str, data: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data: Dict[str, Any] = dict(data) if isinstance(data, Mapping) else {}

    @property
    def reason(self) -> Optional[str]:
        """``data.reason``: the stable reason string of application errors (1000-1999)."""
        reason = self.data.get("reason")
        return reason if isinstance(reason, str) else None

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.code, self.message, self.data))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r}, {self.data!r})"


class ParseError(RemoteError):
    """-32700: the manager could not read a frame as JSON."""

    CODE = -32700
    MESSAGE = "parse error"


class InvalidRequest(RemoteError):
    """-32600: not a valid JSON-RPC request (or a handshake method on a session)."""

    CODE = -32600
    MESSAGE = "invalid request"


class MethodNotFound(RemoteError):
    """-32601: the manager has no such method."""

    CODE = -32601
    MESSAGE = "method not found"


class InvalidParams(RemoteError):
    """-32602: the params violate the method's schema; ``data['field']`` points at the field."""

    CODE = -32602
    MESSAGE = "invalid params"


class InternalError(RemoteError):
    """-32603: an unexpected failure in the manager; the session stays open."""

    CODE = -32603
    MESSAGE = "internal error"


class AuthenticationFailed(RemoteError):
    """-32001: the manager refused the key; the connection is closed."""

    CODE = -32001
    MESSAGE = "authentication failed"


class NotAuthenticated(RemoteError):
    """-32002: a request before the handshake completed; the connection is closed."""

    CODE = -32002
    MESSAGE = "not authenticated"


class UnsupportedProtocolVersion(RemoteError):
    """-32003: no protocol version in common; ``data['supported']`` lists the manager's."""

    CODE = -32003
    MESSAGE = "unsupported protocol version"


class FrameTooLarge(RemoteError):
    """-32004: a frame above the manager's ``maxFrameBytes`` (``data['limit']``).

    The client raises it before sending a request the manager announced it would refuse, so
    that the connection (and the leases it holds) survives.
    """

    CODE = -32004
    MESSAGE = "frame too large"


class ShuttingDown(RemoteError):
    """-32005: the manager is shutting down and accepts no new work."""

    CODE = -32005
    MESSAGE = "shutting down"


class RequestCancelled(RemoteError):
    """-32800: a blocking request was withdrawn with a :class:`CancelToken`."""

    CODE = -32800
    MESSAGE = "request cancelled"


class QueueNotFound(RemoteError):
    """1001: the queue does not exist and the manager does not create queues on first use."""

    CODE = 1001
    MESSAGE = "queue not found"
    REASON = "queue_not_found"


class QueueFull(RemoteError, _stdlib_queue.Full):
    """1002: no room for the tasks before the timeout; also a :class:`queue.Full`."""

    CODE = 1002
    MESSAGE = "queue full"
    REASON = "queue_full"


class LeaseUnknown(RemoteError):
    """1003: ack, nack or touch of a task this session does not hold (``data['ids']``)."""

    CODE = 1003
    MESSAGE = "unknown or expired lease"
    REASON = "lease_unknown"


class PayloadTooLarge(RemoteError):
    """1004: a payload or result above ``maxPayloadBytes`` (``data['limit']``)."""

    CODE = 1004
    MESSAGE = "payload too large"
    REASON = "payload_too_large"


class LimitExceeded(RemoteError):
    """1005: a list, ``max``, subscription count or connection count above a limit."""

    CODE = 1005
    MESSAGE = "limit exceeded"
    REASON = "limit_exceeded"


class StoreUnavailable(RemoteError):
    """1006 (protocol 2026-12): the manager could not reach the store that holds its queues.

    A failure of the request, not of the connection: the request changed nothing, the session
    stays open, and the same request may succeed once the store is back. ``retry_after`` is the
    manager's hint in seconds, when it gave one (spec §7.18). A manager of 2026-11 reports the
    same failure as :class:`InternalError` ``internal error: store unavailable``.
    """

    CODE = 1006
    MESSAGE = "store unavailable"
    REASON = "store_unavailable"

    @property
    def retry_after(self) -> Optional[float]:
        """``data.retryAfter``: seconds after which the manager expects the store back, if it said."""
        value = self.data.get("retryAfter")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class SessionNotFound(RemoteError):
    """1007 (protocol 2026-12): ``client/quiet`` or ``client/stop`` named a session that no
    manager has connected now (it ended, or never was: a client that reconnects is a new
    session). ``session`` is the id that was not found.
    """

    CODE = 1007
    MESSAGE = "session not found"
    REASON = "session_not_found"

    @property
    def session(self) -> Optional[str]:
        """``data.session``: the session id that was not found."""
        value = self.data.get("session")
        return value if isinstance(value, str) else None


class ScheduleNotFound(RemoteError):
    """1010 (protocol 2026-12): ``schedule/delete`` of a name no schedule has; ``data.schedule`` is the name."""

    CODE = 1010
    MESSAGE = "schedule not found"
    REASON = "schedule_not_found"


_REMOTE_ERRORS: Dict[int, Type[RemoteError]] = {
    cls.CODE: cls  # type: ignore[misc]
    for cls in (
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
        AuthenticationFailed,
        NotAuthenticated,
        UnsupportedProtocolVersion,
        FrameTooLarge,
        ShuttingDown,
        RequestCancelled,
        QueueNotFound,
        QueueFull,
        LeaseUnknown,
        PayloadTooLarge,
        LimitExceeded,
        StoreUnavailable,
        SessionNotFound,
        ScheduleNotFound,
    )
}


def remote_error(code: Any, message: Any, data: Any = None) -> RemoteError:
    """The exception for an error object received from a manager."""
    if not isinstance(code, int) or isinstance(code, bool):
        return RemoteError(-32603, f"malformed error from the manager: {message!r}", None)
    error_class = _REMOTE_ERRORS.get(code, RemoteError)
    return error_class(code, str(message), data if isinstance(data, Mapping) else None)


class QueueEmpty(TaskwireError, _stdlib_queue.Empty):
    """A get found no task before its timeout. Also a :class:`queue.Empty`."""

    def __init__(self, queue: str, timeout: Optional[float]) -> None:
        waited = f" (waited {timeout:g} s)" if timeout else ""
        super().__init__(f'queue "{queue}" is empty{waited}')
        self.queue = queue
        self.timeout = timeout

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.queue, self.timeout))


class ConnectError(TaskwireError, ConnectionError):
    """The manager could not be reached (refused, unknown host, no answer, TLS failure)."""


class NoManagerReachable(ConnectError):
    """None of several managers could be reached. ``failures`` lists each address tried, in
    order, as ``("host:port", error)``; the message names them all."""

    def __init__(self, failures: Sequence[Tuple[str, BaseException]], prefix: Optional[str] = None) -> None:
        self.failures = list(failures)
        self.prefix = prefix or f"cannot connect to any of {len(self.failures)} managers"
        reasons = "; ".join(
            str(error) if address in str(error) else f"{address}: {error}" for address, error in self.failures
        )
        super().__init__(f"{self.prefix}: {reasons}")

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.failures, self.prefix))


class ConnectionClosed(TaskwireError, ConnectionError):
    """The connection closed while a request was in flight, or the client is closed.

    A request in flight may or may not have been applied; retry only what is safe to repeat.
    """


class ServerProofError(TaskwireError):
    """The peer could not prove that it holds the key: it is not the manager you meant."""


class Timeout(TaskwireError, TimeoutError):
    """The manager did not complete the handshake in time."""


class AuthkeyError(TaskwireError):
    """No usable key: none given, or the key file is missing or empty."""


def _fresh(error: BaseException) -> BaseException:
    """A copy of a stored error, so that threads raising it do not share one traceback."""
    try:
        return copy.copy(error)
    except Exception:  # an exotic exception that cannot be copied is raised as it is
        return error
