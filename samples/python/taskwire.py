"""Taskwire client for Python: queues on the network, with nothing but the standard library.

A Taskwire *manager* (``npx taskwire serve``) holds named queues. This module connects to
it over TCP (optionally TLS), proves that it holds the shared key, and puts, takes and
acknowledges tasks. It speaks protocol version 2026-11 (``spec/protocol.md``): JSON-RPC 2.0,
one message per line.

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
connection.

Threading. Responses are read by the threads that wait for them (leader/follower, see
:class:`_Channel`): a thread that made a request and finds nobody reading the socket reads
it itself until its response arrives, dispatching anything else it reads (responses of other
threads, events) on the way, then hands the reading to a waiting thread if there is one.
The usual single-threaded loop (put, get, ack) thus costs one write and one read per call
and no thread switch, like :mod:`multiprocessing.managers`. A background thread reads only
after no caller has for ``_IDLE_HANDOVER`` (5 ms): it delivers events between calls,
notices a dropped connection while the client is idle, and backs up a hand-over lost to an
interrupt. An interrupt (Ctrl+C) withdraws the interrupted call; one that lands while its
thread splits a read it already made (microseconds), rather than while it waits for data,
closes the connection (and the client reconnects), since what was read may belong to others.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import itertools
import json
import logging
import os
import platform
import queue as _stdlib_queue
import random
import secrets
import select
import socket
import ssl
import sys
import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypedDict,
    Union,
)

__version__ = "0.1.0"

#: The protocol version this module speaks.
PROTOCOL_VERSION = "2026-11"
#: Every protocol version this module speaks, offered in ``session/hello``.
PROTOCOL_VERSIONS: Tuple[str, ...] = (PROTOCOL_VERSION,)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7400
#: The largest frame read from a manager. The manager announces the largest frame it reads;
#: its responses (a ``get`` of many tasks) may be larger, hence the generous default.
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

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
    "Event",
    "Subscription",
    "CancelToken",
    "Reconnect",
    "QueueManager",
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
    "QueueEmpty",
    "ConnectError",
    "ConnectionClosed",
    "ServerProofError",
    "Timeout",
    "AuthkeyError",
]

log = logging.getLogger("taskwire")

#: Bytes asked of one read. Not more: a larger request makes CPython allocate (and the
#: allocator map and unmap) a buffer that big for every read, which cost more than the
#: whole rest of a small request on the machines measured.
_RECV_BYTES = 64 * 1024
_NONCE_BYTES = 32


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class TaskwireWarning(UserWarning):
    """A configuration that works but is unsafe, such as a key file others can read."""


class TaskwireError(Exception):
    """Base of every error this module raises."""


class RemoteError(TaskwireError):
    """An error answered by the manager, with the wire's ``code``, ``message`` and ``data``.

    Each code of the protocol's error registry (spec §8.2) has a subclass named as in the
    registry; an unknown code is raised as ``RemoteError`` itself. Act on the class (or
    ``code``/``reason``), never on the message.
    """

    #: The registry code of the subclass; instances carry the code actually received.
    CODE: Optional[int] = None

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


class InvalidRequest(RemoteError):
    """-32600: not a valid JSON-RPC request (or a handshake method on a session)."""

    CODE = -32600


class MethodNotFound(RemoteError):
    """-32601: the manager has no such method."""

    CODE = -32601


class InvalidParams(RemoteError):
    """-32602: the params violate the method's schema; ``data['field']`` points at the field."""

    CODE = -32602


class InternalError(RemoteError):
    """-32603: an unexpected failure in the manager; the session stays open."""

    CODE = -32603


class AuthenticationFailed(RemoteError):
    """-32001: the manager refused the key; the connection is closed."""

    CODE = -32001


class NotAuthenticated(RemoteError):
    """-32002: a request before the handshake completed; the connection is closed."""

    CODE = -32002


class UnsupportedProtocolVersion(RemoteError):
    """-32003: no protocol version in common; ``data['supported']`` lists the manager's."""

    CODE = -32003


class FrameTooLarge(RemoteError):
    """-32004: a frame above the manager's ``maxFrameBytes`` (``data['limit']``).

    The client raises it before sending a request the manager announced it would refuse, so
    that the connection (and the leases it holds) survives.
    """

    CODE = -32004


class ShuttingDown(RemoteError):
    """-32005: the manager is shutting down and accepts no new work."""

    CODE = -32005


class RequestCancelled(RemoteError):
    """-32800: a blocking request was withdrawn with a :class:`CancelToken`."""

    CODE = -32800


class QueueNotFound(RemoteError):
    """1001: the queue does not exist and the manager does not create queues on first use."""

    CODE = 1001


class QueueFull(RemoteError, _stdlib_queue.Full):
    """1002: no room for the tasks before the timeout; also a :class:`queue.Full`."""

    CODE = 1002


class LeaseUnknown(RemoteError):
    """1003: ack, nack or touch of a task this session does not hold (``data['ids']``)."""

    CODE = 1003


class PayloadTooLarge(RemoteError):
    """1004: a payload or result above ``maxPayloadBytes`` (``data['limit']``)."""

    CODE = 1004


class LimitExceeded(RemoteError):
    """1005: a list, ``max``, subscription count or connection count above a limit."""

    CODE = 1005


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


# --------------------------------------------------------------------------------------------
# Keys and the handshake's cryptography
# --------------------------------------------------------------------------------------------


def default_authkey_file() -> str:
    """Where ``taskwire serve`` writes a generated key: ``$TASKWIRE_HOME/authkey``."""
    home = os.environ.get("TASKWIRE_HOME") or os.path.join(os.path.expanduser("~"), ".taskwire")
    return os.path.join(home, "authkey")


def read_authkey_file(path: Union[str, "os.PathLike[str]"]) -> bytes:
    """The key held by a key file: its content without trailing whitespace, as bytes.

    A generated key file holds hexadecimal text, and that text itself is the key.
    Warns (:class:`TaskwireWarning`) when other users can read the file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as key_file:
            content = key_file.read()
            mode = os.fstat(key_file.fileno()).st_mode
    except FileNotFoundError:
        raise AuthkeyError(f"authkey file {path} does not exist") from None
    except OSError as error:
        raise AuthkeyError(f"cannot read authkey file {path}: {error.strerror or error}") from None
    if os.name == "posix" and mode & 0o044:
        warnings.warn(
            f"authkey file {path} is readable by other users; make it private with chmod 600",
            TaskwireWarning,
            stacklevel=3,
        )
    key = content.rstrip(b" \t\r\n")
    if not key:
        raise AuthkeyError(f"authkey file {path} is empty")
    return key


def resolve_authkey(
    authkey: Union[bytes, str, None] = None,
    authkey_file: Union[str, "os.PathLike[str]", None] = None,
) -> bytes:
    """Finds the key the way every Taskwire tool does.

    The first given of: ``authkey`` (bytes, or text used as UTF-8), ``authkey_file``,
    ``$TASKWIRE_AUTHKEY``, ``$TASKWIRE_AUTHKEY_FILE``, then the default key file
    (``$TASKWIRE_HOME/authkey``, by default ``~/.taskwire/authkey``).
    """
    if authkey is not None:
        key = authkey.encode("utf-8") if isinstance(authkey, str) else bytes(authkey)
        if not key:
            raise AuthkeyError("the authkey is empty")
        return key
    if authkey_file is not None:
        return read_authkey_file(authkey_file)
    from_env = os.environ.get("TASKWIRE_AUTHKEY")
    if from_env:
        return from_env.encode("utf-8")
    file_from_env = os.environ.get("TASKWIRE_AUTHKEY_FILE")
    if file_from_env:
        return read_authkey_file(file_from_env)
    fallback = default_authkey_file()
    if os.path.exists(fallback):
        return read_authkey_file(fallback)
    raise AuthkeyError(
        "no authkey: pass authkey= or authkey_file=, set TASKWIRE_AUTHKEY or "
        f"TASKWIRE_AUTHKEY_FILE, or start `taskwire serve` on this machine so {fallback} exists"
    )


def _new_nonce() -> str:
    """32 bytes from the operating system's CSPRNG, base64 with padding (44 characters)."""
    return base64.b64encode(secrets.token_bytes(_NONCE_BYTES)).decode("ascii")


def _proof(label: str, key: bytes, server_nonce: str, client_nonce: str, version: str) -> str:
    message = f"{label}\n{server_nonce}\n{client_nonce}\n{version}".encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def client_proof(key: bytes, server_nonce: str, client_nonce: str, version: str) -> str:
    """The client's proof for ``session/authenticate`` (spec §4.3), lowercase hex."""
    return _proof("taskwire-client", key, server_nonce, client_nonce, version)


def server_proof(key: bytes, server_nonce: str, client_nonce: str, version: str) -> str:
    """The proof a genuine manager returns; a different label, so proofs cannot be reflected."""
    return _proof("taskwire-server", key, server_nonce, client_nonce, version)


def _proof_matches(expected: str, given: Any) -> bool:
    """Constant-time comparison; anything but the exact lowercase hex string fails."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------------------------
# Transport: bytes over TCP or TLS, safe for one reader thread and many writer threads
# --------------------------------------------------------------------------------------------


class _PlainTransport:
    """A TCP socket. One thread reads at a time (the channel's leader); many may write."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()  # frames from several threads must not interleave
        self.recv = functools.partial(sock.recv, _RECV_BYTES)

    def set_timeout(self, seconds: Optional[float]) -> None:
        self._sock.settimeout(seconds)

    def send(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    def recv_buffered(self) -> Optional[bytes]:
        """Data already received but not yet returned by :meth:`recv`: none here."""
        return None

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        _close_socket(self._sock)


#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH_CODES = (62, 64)


def _certificate_hint(verify_code: int) -> str:
    """What to do about a certificate the client refused: a wrong name, or an unknown CA."""
    if verify_code in _NAME_MISMATCH_CODES:
        return "(connect by a name or address the certificate lists, or pass server_hostname= with one)"
    return "(pass tls_ca= with the CA that signed the manager's certificate, or add that CA to the system's trust store)"


class _TlsTransport:
    """TLS over a TCP socket, with the TLS state in memory.

    OpenSSL does not allow one TLS connection to be read and written by two threads at
    once, which a blocking ``SSLSocket`` would do here (a thread waits in ``recv`` while
    others send). So the socket stays plain TCP, used full duplex, and the
    :class:`ssl.SSLObject` is touched only under a lock and never blocks.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: Optional[str]) -> None:
        self._sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._tls_lock = threading.Lock()  # guards the SSLObject and both BIOs
        self._send_lock = threading.Lock()  # keeps TLS records on the socket in the order made

    def set_timeout(self, seconds: Optional[float]) -> None:
        self._sock.settimeout(seconds)

    def fileno(self) -> int:
        return self._sock.fileno()

    def handshake(self) -> None:
        """The TLS handshake; runs before any other thread uses the transport."""
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._sock.sendall(self._outgoing.read())
                data = self._sock.recv(_RECV_BYTES)
                if not data:
                    raise ConnectionClosed("the manager closed the connection during the TLS handshake") from None
                self._incoming.write(data)
        out = self._outgoing.read()
        if out:
            self._sock.sendall(out)

    def send(self, data: bytes) -> None:
        with self._send_lock:
            with self._tls_lock:
                self._tls.write(data)
                out = self._outgoing.read()
            self._sock.sendall(out)
        self._send_pending()

    def _send_pending(self) -> None:
        """Sends TLS records made outside :meth:`send` (by reads, e.g. key updates).

        Whoever holds the send lock sends them; a thread that cannot take it leaves them to
        the holder, which checks again after releasing it.
        """
        while True:
            if not self._send_lock.acquire(blocking=False):
                return
            try:
                with self._tls_lock:
                    out = self._outgoing.read()
                if out:
                    self._sock.sendall(out)
            finally:
                self._send_lock.release()
            with self._tls_lock:
                if not self._outgoing.pending:
                    return

    def _read_tls(self) -> Optional[bytes]:
        """Decrypted data from what was received; None when a whole record is still missing."""
        with self._tls_lock:
            try:
                data: Optional[bytes] = self._tls.read(_RECV_BYTES)
            except ssl.SSLWantReadError:
                data = None
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                data = b""
            produced = self._outgoing.pending
        if produced:
            self._send_pending()
        return data

    def recv_buffered(self) -> Optional[bytes]:
        """Decrypted data from records already received, without reading the socket."""
        with self._tls_lock:  # the SSLObject is never used by two threads at once
            if not self._incoming.pending and not self._tls.pending():
                return None
        return self._read_tls()

    def recv(self) -> bytes:
        while True:
            data = self._read_tls()
            if data is not None:
                return data
            raw = self._sock.recv(_RECV_BYTES)
            with self._tls_lock:
                if raw:
                    self._incoming.write(raw)
                else:
                    self._incoming.write_eof()

    def close(self) -> None:
        _close_socket(self._sock)


_Transport = Union[_PlainTransport, _TlsTransport]


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv or poll
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _ProtocolViolation(Exception):
    """The manager sent something this version of the protocol does not allow."""


class _EndOfStream(Exception):
    """The manager closed the connection."""


class _FrameReader:
    """Splits the byte stream into NDJSON frames, holding at most ``max_frame_bytes`` of one.

    Data is fed in by whoever reads the transport (:meth:`feed`); :meth:`buffered_frame`
    splits off complete frames without any I/O. The usual case, a read that holds whole
    frames only, is split without copying the read.
    """

    def __init__(self, recv: Callable[[], bytes], max_frame_bytes: int) -> None:
        self._recv = recv
        self._max = max_frame_bytes
        self._data: Union[bytes, bytearray] = b""
        self._start = 0  # where the next frame begins in _data
        self._scanned = 0  # bytes after _start already known to hold no line feed

    def buffered_frame(self) -> Optional[Union[bytes, bytearray]]:
        """The next complete non-blank frame without its line feed, or None (no I/O)."""
        data = self._data
        while True:
            end = data.find(b"\n", self._start + self._scanned)
            if end < 0:
                self._scanned = len(data) - self._start
                if self._scanned > self._max + 1:
                    raise _ProtocolViolation(f"the manager sent a frame larger than {self._max} bytes")
                return None
            line = data[self._start:end]
            self._start = end + 1
            self._scanned = 0
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self._max:
                raise _ProtocolViolation(f"the manager sent a frame larger than {self._max} bytes")
            if line.strip(b" \t\r"):
                return line

    def feed_one(self, data: bytes) -> Optional[bytes]:
        """Feeds ``data``; when it is exactly one frame and nothing was buffered (the usual
        case), returns that frame instead of buffering it."""
        if self._start >= len(self._data) and data[-1:] == b"\n" and data.find(b"\n") == len(data) - 1:
            self._data = b""
            self._start = self._scanned = 0
            line = data[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self._max:
                raise _ProtocolViolation(f"the manager sent a frame larger than {self._max} bytes")
            return line if line.strip(b" \t\r") else None
        self.feed(data)
        return None

    def feed(self, data: bytes) -> None:
        """Appends received bytes. Compacting once per read, not per frame, keeps it linear."""
        if self._start >= len(self._data):
            self._data = data
        else:
            rest = self._data
            if isinstance(rest, bytearray):
                del rest[: self._start]
            else:
                rest = bytearray(memoryview(rest)[self._start:])
            rest += data
            self._data = rest
        self._start = 0

    def read_frame(self) -> Optional[Union[bytes, bytearray]]:
        """The next frame, reading as needed; None at the end of the stream (handshake only)."""
        while True:
            frame = self.buffered_frame()
            if frame is not None:
                return frame
            data = self._recv()
            if not data:
                return None
            self.feed(data)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder()
_decode_json = _DECODER.decode
_scan_json = _DECODER.scan_once  # the C scanner: one value from an index, no white space


def _encode(message: Mapping[str, Any]) -> bytes:
    """One NDJSON frame: compact JSON (never a raw line feed) and a line feed."""
    try:
        return (_ENCODER.encode(message) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate in a string cannot be UTF-8; its \u escape is valid JSON.
        return (_ASCII_ENCODER.encode(message) + "\n").encode("ascii")


def _make_fast_encoder() -> Optional[Callable[[Any], str]]:
    """The C encoder of ``_ENCODER``, made once (``JSONEncoder.encode`` makes one per call),
    without its check for circular references: a circular value overflows the stack, and
    :func:`_encode_params` then encodes it again with the check, for its proper error."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    encode = make(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    join = "".join

    def fast(value: Any) -> str:
        if isinstance(value, str):
            return json.encoder.encode_basestring(value)
        return join(encode(value, 0))

    return fast


_fast_encode = _make_fast_encoder()


def _encode_params(params: Any) -> str:
    if _fast_encode is not None:
        try:
            return _fast_encode(params)
        except RecursionError:
            pass
    return _ENCODER.encode(params)


def _encode_request(request_id: int, method: str, params: Mapping[str, Any]) -> bytes:
    """``_encode`` of a request, without building the envelope object."""
    try:
        text = _encode_params(params)
        return f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{text}}}\n'.encode("utf-8")
    except UnicodeEncodeError:
        text = _ASCII_ENCODER.encode(params)
        return f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{text}}}\n'.encode("ascii")


# --------------------------------------------------------------------------------------------
# Channel: one authenticated connection
# --------------------------------------------------------------------------------------------

#: How long the background reader leaves the socket to the threads making requests after
#: the last of them stopped reading. Back-to-back requests thus never wake it; events that
#: arrive while no request is in flight wait at most this long.
_IDLE_HANDOVER = 0.005

_allocate_lock = threading.Lock
_BACKGROUND = object()  # the background reader, as the channel's leader
_monotonic = time.monotonic


class _Pending:
    """A request waiting for its response."""

    __slots__ = ("id", "method", "finished", "result", "error", "on_result", "waiter", "signalled")

    def __init__(self, request_id: int, method: str, on_result: Optional[Callable[[Any], None]]) -> None:
        self.id = request_id
        self.method = method
        self.finished = False  # result or error set; changed under the channel's lock
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.on_result = on_result
        self.waiter: Optional[Any] = None  # a held lock its waiting thread blocks on
        self.signalled = False  # waiter released and not yet re-armed


class _Channel:
    """One authenticated connection to a manager. It never reconnects; :class:`Client` does.

    Reading follows the leader/follower pattern. A thread that made a request and finds
    nobody reading becomes the *leader*: it reads the socket itself, on its own thread,
    until its response arrives, dispatching whatever else it reads (other threads'
    responses, events) on the way; then it splits off the frames it already holds and
    hands leadership to a waiting *follower*, if any. Followers sleep on a lock of their
    own until their response is dispatched or they are made leader. A single-threaded
    caller thus reads its own responses with no thread hand-off at all.

    The background thread reads only when nobody else does: once the connection has been
    idle (no leader) for ``_IDLE_HANDOVER`` s, it waits for the socket to become readable
    and then leads one read. It delivers events between requests, detects a dropped
    connection, and backs up a follower whose promotion was lost (an interrupted wait).
    """

    def __init__(
        self,
        transport: _Transport,
        frames: _FrameReader,
        where: str,
        hello: Mapping[str, Any],
        session: Mapping[str, Any],
        on_close: Callable[["_Channel"], None],
        on_event: Callable[["_Channel", Mapping[str, Any]], None],
    ) -> None:
        self.where = where
        self.protocol_version: str = hello["protocolVersion"]
        self.server: Dict[str, Any] = dict(hello.get("server") or {})
        self.session_id: str = session.get("sessionId", "")
        self.capabilities: Dict[str, Any] = dict(session.get("capabilities") or {})
        self.limits: Dict[str, Any] = dict(session.get("limits") or {})
        limit = self.limits.get("maxFrameBytes")
        self._max_request_bytes: Optional[int] = limit if isinstance(limit, int) else None
        #: Server subscription id -> Subscription, for events of this connection only.
        self.subscriptions: Dict[str, "Subscription"] = {}
        self._transport = transport
        self._frames = frames
        self._on_close = on_close
        self._on_event = on_event
        self._ids = itertools.count(3)  # 1 and 2 were the handshake's
        self._lock = threading.Lock()  # guards everything below, and _Pending.finished/waiter
        self._pending: Dict[int, _Pending] = {}
        self._closed_error: Optional[BaseException] = None
        self._frame_error: Optional[RemoteError] = None
        self._leader: Optional[object] = None  # who reads the socket: a _Pending, or _BACKGROUND
        self._released_at = _monotonic() - _IDLE_HANDOVER  # when the last leader stopped
        self._followers: Dict[int, _Pending] = {}  # waiting for a response, in arrival order
        self._reader_parked = False  # the background reader waits for the leader to stop
        self._reader_gate = _allocate_lock()  # the background reader sleeps on it
        self._reader_gate.acquire()
        self._reader = threading.Thread(target=self._background_reader, name=f"taskwire-reader-{where}", daemon=True)

    def start(self) -> None:
        self._transport.set_timeout(None)
        self._reader.start()

    @property
    def closed(self) -> bool:
        return self._closed_error is not None

    # -- requests ------------------------------------------------------------------------------

    def send_request(
        self, method: str, params: Mapping[str, Any], on_result: Optional[Callable[[Any], None]] = None
    ) -> _Pending:
        """Sends a request and returns its pending entry at once."""
        request_id = next(self._ids)
        frame = _encode_request(request_id, method, params)
        limit = self._max_request_bytes
        if limit is not None and len(frame) - 1 > limit:
            self._frame_too_large(len(frame) - 1, limit)
        pending = _Pending(request_id, method, on_result)
        with self._lock:
            if self._closed_error is not None:
                raise _fresh(self._closed_error)
            self._pending[request_id] = pending
        try:
            self._transport.send(frame)
        except OSError as error:
            with self._lock:
                self._pending.pop(request_id, None)
            self.close(ConnectionClosed(f"the connection to the manager at {self.where} broke: {error}"))
            raise ConnectionClosed(f"the connection to the manager at {self.where} broke: {error}") from None
        return pending

    def wait(self, pending: _Pending, cancel: Optional["CancelToken"] = None) -> Any:
        """Waits for the response of a request sent with :meth:`send_request`.

        Leads the reading when nobody else does; else sleeps until its response arrives or
        it is handed the lead.
        """
        if cancel is not None:
            cancel._register(self, pending)
        lock = self._lock
        try:
            while True:
                with lock:
                    if pending.finished:
                        break
                    if self._leader is None:
                        self._leader = pending
                        waiter = None
                    else:
                        waiter = pending.waiter
                        if waiter is None:
                            waiter = pending.waiter = _allocate_lock()
                            waiter.acquire()
                        pending.signalled = False
                        self._followers[pending.id] = pending
                if waiter is None:
                    self._lead(pending, pending)
                else:
                    waiter.acquire()
        except BaseException:
            # Interrupted (Ctrl+C): withdraw the request so that a blocked get takes nothing.
            with lock:
                abandoned = self._pending.pop(pending.id, None) is not None
                if self._leader is pending:  # interrupted before or after _lead let go
                    self._leader = None
                    self._released_at = _monotonic()
                if self._followers.pop(pending.id, None) is not None or pending.signalled:
                    # It may have been handed the lead it will not take: pass it on.
                    self._promote_locked()
            if abandoned:
                self.notify_quietly("$/cancelRequest", {"id": pending.id})
            raise
        finally:
            if cancel is not None:
                cancel._unregister(self, pending)
        if pending.error is not None:
            raise pending.error
        return pending.result

    def request(self, method: str, params: Mapping[str, Any], cancel: Optional["CancelToken"] = None) -> Any:
        if cancel is not None and cancel.cancelled:
            raise RequestCancelled(-32800, "request cancelled: the cancel token was already cancelled")
        return self.wait(self.send_request(method, params), cancel)

    def notify_quietly(self, method: str, params: Mapping[str, Any]) -> None:
        """Sends a notification; a broken connection is reported by the reader, not here."""
        if self.closed:
            return
        try:
            self._transport.send(_encode({"jsonrpc": "2.0", "method": method, "params": params}))
        except OSError:
            pass

    @staticmethod
    def _frame_too_large(size: int, limit: int) -> None:
        raise FrameTooLarge(
            -32004,
            f"frame too large: the request is {size} bytes and the manager reads at most "
            f"{limit}; send fewer or smaller tasks per request",
            {"limit": limit},
        )

    # -- reading: leader and followers ---------------------------------------------------------

    def _promote_locked(self) -> None:
        """With the lock held and nobody leading: wakes the oldest follower to lead."""
        if self._leader is not None:
            return
        followers = self._followers
        while followers:
            follower = followers.pop(next(iter(followers)))
            if not follower.finished and not follower.signalled:
                follower.signalled = True
                follower.waiter.release()  # type: ignore[union-attr]
                return
        if self._reader_parked:
            self._reader_parked = False
            self._reader_gate.release()

    def _stop_leading(self, leader: object) -> None:
        with self._lock:
            if self._leader is not leader:
                return
            self._leader = None
            self._released_at = _monotonic()
            if self._followers or self._reader_parked:
                self._promote_locked()

    def _lead(self, leader: object, pending: Optional[_Pending]) -> None:
        """Reads and dispatches until ``pending`` is finished (None: one read), then the
        frames already received; gives up the lead on return. Runs with the lead taken."""
        frames = self._frames
        recv = self._transport.recv
        in_recv = False
        try:
            try:
                while pending is None or not pending.finished:
                    frame = frames.buffered_frame() if frames._start < len(frames._data) else None
                    if frame is None:
                        in_recv = True
                        data = recv()
                        in_recv = False
                        if not data:
                            raise _EndOfStream()
                        frame = frames.feed_one(data)
                        if frame is not None:
                            self._dispatch(frame)
                        if pending is None:
                            break
                        continue
                    self._dispatch(frame)
                # Frames (and TLS records) already received are nobody else's to read: the
                # socket will not wake the background reader for them.
                while True:
                    frame = frames.buffered_frame() if frames._start < len(frames._data) else None
                    if frame is not None:
                        self._dispatch(frame)
                        continue
                    data = self._transport.recv_buffered()
                    if data is None:
                        break
                    if not data:
                        raise _EndOfStream()
                    frames.feed(data)
            except _EndOfStream:
                # A manager that refused a frame (id null) closes the connection right after;
                # its answer says more than "closed".
                self.close(self._frame_error or ConnectionClosed(f"the manager at {self.where} closed the connection"))
            except _ProtocolViolation as violation:
                self.close(ConnectionClosed(f"dropped the connection to the manager at {self.where}: {violation}"))
            except OSError as error:  # ssl.SSLError included
                if not self.closed:
                    self.close(ConnectionClosed(f"the connection to the manager at {self.where} broke: {error}"))
            except BaseException as error:
                if in_recv:
                    raise  # interrupted while waiting for data (Ctrl+C): nothing was lost
                # Interrupted, or a bug, half-way through a read: the stream cannot be trusted.
                if isinstance(error, Exception):
                    log.exception("taskwire: reading from the manager failed")
                self.close(ConnectionClosed(f"the connection to the manager at {self.where} failed: {error!r}"))
                if not isinstance(error, Exception):
                    raise
        finally:
            self._stop_leading(leader)

    def _background_reader(self) -> None:
        """Reads when no thread making a request does (events, drops, lost promotions)."""
        fd = self._transport.fileno()
        poller = select.poll() if hasattr(select, "poll") else None
        if poller is not None:
            poller.register(fd, select.POLLIN)
        lock = self._lock
        gate = self._reader_gate
        seen_release = None
        while True:
            with lock:
                if self._closed_error is not None:
                    return
                if self._leader is not None:
                    if self._released_at == seen_release:
                        # One thread has led since the last look (a blocked get): sleep until
                        # it stops, which wakes this thread. Short requests one after the
                        # other never do, so they never pay for waking it.
                        self._reader_parked = True
                        wait: Optional[float] = None
                    else:
                        seen_release = self._released_at
                        wait = _IDLE_HANDOVER
                else:
                    wait = _IDLE_HANDOVER - (_monotonic() - self._released_at)
                    if wait <= 0 and self._followers:
                        self._promote_locked()  # a follower whose promotion was lost
                        wait = _IDLE_HANDOVER
            if wait is None:
                gate.acquire()
                continue
            if wait > 0:
                gate.acquire(True, wait)  # released early only by close()
                continue
            # Idle: wait for data without taking the lead, so that a thread making a request
            # can still take it.
            try:
                if poller is not None:
                    poller.poll()
                else:
                    select.select([fd], [], [])
            except (OSError, ValueError):
                pass  # closed under us: the loop sees it
            with lock:
                if self._closed_error is not None:
                    return
                if self._leader is not None:
                    continue
                self._leader = _BACKGROUND
            # The data may have gone to a leader meanwhile: read only what is there now.
            try:
                if poller is not None:
                    ready = bool(poller.poll(0))
                else:
                    ready = bool(select.select([fd], [], [], 0)[0])
            except (OSError, ValueError):
                ready = True  # the read reports the error
            if ready:
                self._lead(_BACKGROUND, None)
            else:
                self._stop_leading(_BACKGROUND)

    def _dispatch(self, frame: Union[bytes, bytearray]) -> None:
        try:
            text = frame.decode("utf-8")
            try:
                message, end = _scan_json(text, 0)
            except StopIteration:
                end = -1
            if end != len(text):
                message = _decode_json(text)  # white space around it, or raises the error
        except (UnicodeDecodeError, ValueError) as error:
            raise _ProtocolViolation(f"it sent a frame that is not UTF-8 JSON ({error})") from None
        if type(message) is not dict:
            raise _ProtocolViolation("it sent a frame that is not a JSON-RPC object")
        if "method" in message:
            if "id" not in message and message.get("method") == "events/event":
                params = message.get("params")
                if isinstance(params, dict):
                    self._on_event(self, params)
            # Other notifications are unknown to this version; the server sends no requests.
            return
        request_id = message.get("id")
        error_object = message.get("error")
        error: Optional[RemoteError] = None
        if error_object is not None and isinstance(error_object, dict):
            error = remote_error(error_object.get("code"), error_object.get("message", ""), error_object.get("data"))
        if request_id is None:
            if error is not None:
                log.warning("taskwire: the manager at %s refused a frame: %s", self.where, error)
                self._frame_error = error
            return
        lock = self._lock
        with lock:
            pending = self._pending.pop(request_id, None)
            if pending is None:
                return  # the answer to a request its caller abandoned
            if error is not None:
                pending.error = error
            elif "result" not in message:
                pending.error = ConnectionClosed(f"malformed response from the manager at {self.where}")
            else:
                pending.result = message["result"]
            hook = pending.on_result
            if hook is None or pending.error is not None:
                self._finish_locked(pending)
                return
        try:
            hook(pending.result)
        except Exception as hook_error:  # surfaces in the caller's thread
            pending.error = hook_error
        with lock:
            self._finish_locked(pending)

    def _finish_locked(self, pending: _Pending) -> None:
        """Marks a response delivered and wakes its thread; with the lock held."""
        pending.finished = True
        if pending.waiter is not None:
            self._followers.pop(pending.id, None)
            if not pending.signalled:
                pending.signalled = True
                pending.waiter.release()

    # -- closing -------------------------------------------------------------------------------

    def close(self, reason: Optional[BaseException] = None) -> None:
        """Closes the connection; requests in flight fail with ``reason``. Idempotent."""
        with self._lock:
            if self._closed_error is not None:
                return
            self._closed_error = reason or ConnectionClosed("the client was closed")
            pending = list(self._pending.values())
            self._pending.clear()
            self._followers.clear()
            for entry in pending:
                entry.error = _fresh(self._closed_error)
                entry.finished = True
                if entry.waiter is not None and not entry.signalled:
                    entry.signalled = True
                    entry.waiter.release()
            self._reader_parked = False
            if self._reader_gate.locked():
                self._reader_gate.release()  # the background reader sees the close at once
        self._transport.close()
        if threading.current_thread() is not self._reader and self._reader.is_alive():
            self._reader.join(timeout=2)
        self._on_close(self)


def _open_channel(
    *,
    host: str,
    port: int,
    key: bytes,
    ssl_context: Optional[ssl.SSLContext],
    server_hostname: Optional[str],
    description: Mapping[str, Any],
    connect_timeout: float,
    max_frame_bytes: int,
    on_close: Callable[[_Channel], None],
    on_event: Callable[[_Channel, Mapping[str, Any]], None],
) -> _Channel:
    """Connects, runs TLS (if configured) and the mutual handshake, and starts the reader."""
    where = f"{host}:{port}"
    deadline = time.monotonic() + connect_timeout
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except socket.gaierror as error:
        raise ConnectError(f"cannot connect to the manager at {where}: unknown host ({error.strerror})") from None
    except ConnectionRefusedError:
        raise ConnectError(
            f"cannot connect to the manager at {where}: connection refused (is `taskwire serve` running there?)"
        ) from None
    except socket.timeout:
        raise ConnectError(f"cannot connect to the manager at {where}: no answer in {connect_timeout:g} s") from None
    except OSError as error:
        raise ConnectError(f"cannot connect to the manager at {where}: {error.strerror or error}") from None
    # Without TCP_NODELAY, Nagle's algorithm and delayed acknowledgements stall small frames.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    transport: _Transport
    try:
        if ssl_context is not None:
            transport = _TlsTransport(sock, ssl_context, server_hostname)
            try:
                transport.handshake()
            except ssl.SSLCertVerificationError as error:
                raise ConnectError(
                    f"TLS with the manager at {where} failed: {error.verify_message or error} "
                    + _certificate_hint(error.verify_code)
                ) from None
            except ssl.SSLError as error:
                raise ConnectError(
                    f"TLS with the manager at {where} failed: {error.reason or error} (does it serve TLS?)"
                ) from None
        else:
            transport = _PlainTransport(sock)
    except socket.timeout:
        _close_socket(sock)
        raise Timeout(f"the manager at {where} did not complete the TLS handshake in {connect_timeout:g} s") from None
    except BaseException:
        _close_socket(sock)
        raise

    def recv_before_deadline() -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        transport.set_timeout(remaining)
        return transport.recv()

    frames = _FrameReader(recv_before_deadline, max_frame_bytes)

    def handshake_request(request_id: int, method: str, params: Mapping[str, Any]) -> Dict[str, Any]:
        transport.send(_encode({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        while True:
            frame = frames.read_frame()
            if frame is None:
                raise ConnectionClosed(f"the manager at {where} closed the connection during the handshake")
            try:
                message = json.loads(frame.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ConnectionClosed(f"the peer at {where} does not speak the Taskwire protocol") from None
            if not isinstance(message, dict) or "method" in message:
                continue
            error = message.get("error")
            if isinstance(error, dict) and message.get("id") in (request_id, None):
                raise remote_error(error.get("code"), error.get("message", ""), error.get("data"))
            if message.get("id") == request_id and isinstance(message.get("result"), dict):
                return message["result"]

    try:
        client_nonce = _new_nonce()
        hello = handshake_request(
            1,
            "session/hello",
            {"protocolVersions": list(PROTOCOL_VERSIONS), "nonce": client_nonce, "client": dict(description)},
        )
        version = hello.get("protocolVersion")
        server_nonce = hello.get("nonce")
        if version not in PROTOCOL_VERSIONS or not isinstance(server_nonce, str):
            raise ConnectionClosed(f"the peer at {where} chose protocol version {version!r}, which was not offered")
        proof = client_proof(key, server_nonce, client_nonce, version)
        session = handshake_request(2, "session/authenticate", {"proof": proof})
        if not _proof_matches(server_proof(key, server_nonce, client_nonce, version), session.get("serverProof")):
            # Close without another word: the peer does not hold the key (spec §4.3).
            raise ServerProofError(
                f"the peer at {where} failed to prove it knows the authkey: it is not the manager you meant to reach"
            )
    except socket.timeout:
        transport.close()
        raise Timeout(f"the manager at {where} did not complete the handshake in {connect_timeout:g} s") from None
    except (_ProtocolViolation, ssl.SSLError, OSError) as error:
        transport.close()
        if isinstance(error, TaskwireError):
            raise
        raise ConnectionClosed(
            f"the connection to the manager at {where} failed during the handshake: {error}"
        ) from None
    except BaseException:
        transport.close()
        raise
    channel = _Channel(transport, frames, where, hello, session, on_close, on_event)
    frames._recv = transport.recv  # no deadline once authenticated
    announced = channel.limits.get("maxFrameBytes")
    if isinstance(announced, int) and announced > frames._max:
        frames._max = announced  # a client must read frames as large as the manager reads (spec §9.4)
    channel.start()
    return channel


# --------------------------------------------------------------------------------------------
# Values: tasks, task specs, events, stats
# --------------------------------------------------------------------------------------------


class _NoResult:
    """The type of :data:`NO_RESULT`."""

    _instance: Optional["_NoResult"] = None

    def __new__(cls) -> "_NoResult":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_RESULT"

    def __reduce__(self) -> str:
        return "NO_RESULT"


#: "No result" for :meth:`Task.ack`; ``None`` is a result (JSON null) and is routed.
NO_RESULT: Any = _NoResult()

_UNSET: Any = object()  # an option left out, where None has a meaning of its own


class Task:
    """A task taken from (or peeked at on) a queue, with the calls that settle it.

    Attributes follow the protocol's ``Task`` (snake_case): ``id``, ``queue``, ``payload``,
    ``attempt``, ``priority``, ``enqueued_at``, ``lease_until`` (None when not leased),
    ``reply_to``, ``last_error`` and ``dead_lettered_from``. ``raw`` is the task as received.
    """

    def __init__(self, wire: Mapping[str, Any], client: Optional["Client"] = None, *, _received: bool = False) -> None:
        # A dict just parsed from a response is nobody else's: it need not be copied.
        self.raw: Dict[str, Any] = wire if _received else dict(wire)  # type: ignore[assignment]
        self.id: str = wire["id"]
        self.queue: str = wire["queue"]
        self.payload: Any = wire.get("payload")
        self.attempt: int = wire.get("attempt", 1)
        self.priority: int = wire.get("priority", 0)
        self.enqueued_at: Optional[str] = wire.get("enqueuedAt")
        self.lease_until: Optional[str] = wire.get("leaseUntil")
        self.reply_to: Optional[str] = wire.get("replyTo")
        self.last_error: Optional[str] = wire.get("lastError")
        self.dead_lettered_from: Optional[str] = wire.get("deadLetteredFrom")
        #: True once this object acked or nacked the task.
        self.settled = False
        self._client = client

    def _owner(self) -> "Client":
        if self._client is None:
            raise TaskwireError("this task is not bound to a client")
        return self._client

    def ack(self, result: Any = NO_RESULT) -> None:
        """Completes the task; a ``result`` (any JSON value) goes to its ``reply_to`` queue."""
        self._owner().ack(self, result)

    def nack(self, error: Optional[str] = None, delay: Optional[float] = None, retry: bool = True) -> None:
        """Gives the task back: retried after ``delay`` s (default: the manager's back-off).

        ``retry=False`` marks a permanent failure: the task goes to the dead-letter queue at once.
        """
        self._owner().nack(self, error=error, delay=delay, retry=retry)

    def touch(self, ttr: Optional[float] = None) -> str:
        """Extends the lease by ``ttr`` seconds from now (default: its own length)."""
        lease_until = self._owner().touch(self, ttr)
        self.lease_until = lease_until
        return lease_until

    def to_dict(self) -> Dict[str, Any]:
        """The task as the protocol's ``Task`` object."""
        return dict(self.raw)

    def __repr__(self) -> str:
        return f"Task(id={self.id!r}, queue={self.queue!r}, payload={self.payload!r}, attempt={self.attempt})"


@dataclass
class TaskSpec:
    """A task with its own options, for :meth:`Queue.put_many` (spec ``TaskSpec``)."""

    payload: Any
    priority: Optional[int] = None
    delay: Optional[float] = None
    ttr: Optional[float] = None
    reply_to: Optional[str] = None
    max_attempts: Optional[int] = None

    def merged_with(self, defaults: "TaskSpec") -> "TaskSpec":
        """This spec, with the options it leaves out taken from ``defaults``."""
        return TaskSpec(
            self.payload,
            *(
                mine if mine is not None else default
                for mine, default in (
                    (self.priority, defaults.priority),
                    (self.delay, defaults.delay),
                    (self.ttr, defaults.ttr),
                    (self.reply_to, defaults.reply_to),
                    (self.max_attempts, defaults.max_attempts),
                )
            ),
        )

    def to_wire(self) -> Dict[str, Any]:
        spec: Dict[str, Any] = {"payload": self.payload}
        for name, wire_name in (
            ("priority", "priority"),
            ("delay", "delay"),
            ("ttr", "ttr"),
            ("reply_to", "replyTo"),
            ("max_attempts", "maxAttempts"),
        ):
            value = getattr(self, name)
            if value is not None:
                spec[wire_name] = value
        return spec


@dataclass(frozen=True)
class Event:
    """One ``events/event`` notification (spec §6.1), snake_case; ``raw`` is as received.

    ``payload`` and ``result`` are None both when absent and when null; ``"payload" in
    event.raw`` tells them apart.
    """

    subscription: str
    kind: str
    at: str
    queue: Optional[str] = None
    task_id: Optional[str] = None
    attempt: Optional[int] = None
    payload: Any = None
    result: Any = None
    error: Optional[str] = None
    count: Optional[int] = None
    client: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, params: Mapping[str, Any]) -> "Event":
        return cls(
            subscription=str(params.get("subscription", "")),
            kind=str(params.get("kind", "")),
            at=str(params.get("at", "")),
            queue=params.get("queue"),
            task_id=params.get("taskId"),
            attempt=params.get("attempt"),
            payload=params.get("payload"),
            result=params.get("result"),
            error=params.get("error"),
            count=params.get("count"),
            client=params.get("client"),
            raw=dict(params),
        )


class QueueTotals(TypedDict, total=False):
    """Counters of a queue since the manager started (spec ``QueueTotals``)."""

    put: int
    acked: int
    nacked: int
    expired: int
    deadLettered: int


class QueueStats(TypedDict, total=False):
    """A queue's depths, options and counters (spec ``QueueStats``), as received."""

    queue: str
    ready: int
    leased: int
    delayed: int
    dead: int
    maxsize: int
    waitingGetters: int
    waitingPutters: int
    ttr: float
    maxAttempts: int
    deadLetter: Optional[str]
    totals: QueueTotals


class ClientInfo(TypedDict, total=False):
    """One session of the worker registry (spec ``ClientInfo``), as received."""

    sessionId: str
    name: str
    role: str
    version: str
    language: str
    host: str
    pid: int
    address: str
    connectedAt: str
    lastSeenAt: str
    leased: int
    acked: int
    nacked: int
    labels: Dict[str, str]


# --------------------------------------------------------------------------------------------
# Cancellation, subscriptions, reconnect options
# --------------------------------------------------------------------------------------------


class CancelToken:
    """Withdraws blocking calls (get, put, join) from another thread.

        token = taskwire.CancelToken()
        threading.Timer(1.0, token.cancel).start()
        tasks.get(cancel=token)          # raises RequestCancelled after 1 s; nothing was taken

    The manager answers each withdrawn request with -32800, raised as :class:`RequestCancelled`;
    a cancelled get leased nothing and a cancelled put enqueued nothing. A call that already
    has its answer is unaffected. A token cancels every call that uses it, now and later.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._calls: List[Tuple[_Channel, _Pending]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            calls = list(self._calls)
        for channel, pending in calls:
            channel.notify_quietly("$/cancelRequest", {"id": pending.id})

    def _register(self, channel: _Channel, pending: _Pending) -> None:
        with self._lock:
            self._calls.append((channel, pending))
            cancelled = self._cancelled
        if cancelled:
            channel.notify_quietly("$/cancelRequest", {"id": pending.id})

    def _unregister(self, channel: _Channel, pending: _Pending) -> None:
        with self._lock:
            try:
                self._calls.remove((channel, pending))
            except ValueError:
                pass


_END = object()  # ends a subscription's iterator


class Subscription:
    """Events of the manager, delivered to a callback or read by iterating.

        with client.subscribe(queues=["results"], kinds=["ack"]) as events:
            for event in events:
                print(event.result)

    It survives reconnects (re-established on the new connection; events in between are
    missed, as events are best effort). Iteration ends after :meth:`unsubscribe` or when the
    client closes. Without a callback at most ``max_buffered`` unread events are kept; later
    ones are counted in ``dropped``.
    """

    def __init__(
        self,
        client: "Client",
        params: Dict[str, Any],
        callback: Optional[Callable[[Event], None]],
        max_buffered: int,
    ) -> None:
        self.params = params
        self.callback = callback
        self.dropped = 0
        self._client = client
        self._events: "_stdlib_queue.Queue[Any]" = _stdlib_queue.Queue()
        self._max_buffered = max_buffered
        self._active = True
        self._channel: Optional[_Channel] = None
        self._server_id: Optional[str] = None

    @property
    def id(self) -> Optional[str]:
        """The manager's id of this subscription on the current connection."""
        return self._server_id

    @property
    def active(self) -> bool:
        return self._active

    def _attach(self, channel: _Channel, server_id: str) -> None:
        """Runs in the reader thread, before any event of the subscription is read."""
        self._channel = channel
        self._server_id = server_id
        channel.subscriptions[server_id] = self

    def _deliver(self, event: Event) -> None:
        if not self._active:
            return
        if self.callback is not None:
            self._client._dispatch_callback(self.callback, event)
        elif self._events.qsize() < self._max_buffered:
            self._events.put(event)
        else:
            self.dropped += 1

    def get(self, timeout: Optional[float] = None) -> Event:
        """The next event; :class:`queue.Empty` after ``timeout`` seconds without one."""
        item = self._events.get(timeout=timeout)
        if item is _END:
            self._events.put(_END)  # for other readers
            raise ConnectionClosed("the subscription has ended")
        return item

    def __iter__(self) -> Iterator[Event]:
        while True:
            item = self._events.get()
            if item is _END:
                self._events.put(_END)
                return
            yield item

    def unsubscribe(self) -> None:
        """Ends the subscription on the manager and ends iteration. Idempotent."""
        if not self._active:
            return
        self._active = False
        self._client._forget_subscription(self)
        channel, server_id = self._channel, self._server_id
        if channel is not None and server_id is not None and not channel.closed:
            channel.subscriptions.pop(server_id, None)
            try:
                channel.request("events/unsubscribe", {"subscription": server_id})
            except (ConnectionClosed, InvalidParams, ShuttingDown):
                pass  # already gone with its connection
        self._end()

    def _end(self) -> None:
        self._active = False
        self._events.put(_END)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        return f"Subscription(id={self._server_id!r}, params={self.params!r}, active={self._active})"


@dataclass(frozen=True)
class Reconnect:
    """How a client reconnects: delays double from ``initial_delay`` up to ``max_delay``
    seconds (with jitter); ``max_attempts`` None retries until the client is closed."""

    initial_delay: float = 0.1
    max_delay: float = 5.0
    max_attempts: Optional[int] = None


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


def _seconds(name: str, value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"'{name}' must be a non-negative number")
    return value


def _blocking_timeout(block: bool, timeout: Optional[float]) -> Optional[float]:
    """queue.Queue's (block, timeout) as the protocol's timeout: absent, 0 or seconds."""
    if not block:
        return 0
    return _seconds("timeout", timeout)


def _task_id(task: Union[Task, str, Mapping[str, Any]]) -> str:
    if isinstance(task, Task):
        return task.id
    if isinstance(task, str):
        return task
    if isinstance(task, Mapping) and isinstance(task.get("id"), str):
        return task["id"]
    raise TypeError(f"expected a Task or a task id, not {type(task).__name__}")


def _default_client_name() -> str:
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not script or script in ("-", "-c", "-m"):
        script = "python"
    return script[:200]


class Client:
    """A connection to a Taskwire manager. Use :func:`connect` to make one.

    Thread-safe: share one client between threads. Blocking calls (``get``, ``put`` into a
    full queue, ``join``) wait on the manager without holding up other calls.

    Reconnects by default: when the connection drops, a background thread reconnects with
    back-off and re-subscribes; calls made meanwhile wait for it. A call in flight when the
    connection dropped raises :class:`ConnectionClosed`; leases held then were released by
    the manager and their tasks are delivered again. A wrong key or an impostor ends the
    reconnecting for good: calls then raise that error. ``reconnect=False`` makes every
    call after a drop raise :class:`ConnectionClosed`.
    """

    def __init__(
        self,
        host: Optional[str] = None,
        port: Optional[int] = None,
        *,
        authkey: Union[bytes, str, None] = None,
        authkey_file: Union[str, "os.PathLike[str]", None] = None,
        tls: Union[bool, ssl.SSLContext, None] = None,
        tls_ca: Union[str, "os.PathLike[str]", None] = None,
        server_hostname: Optional[str] = None,
        name: Optional[str] = None,
        role: str = "worker",
        labels: Optional[Mapping[str, str]] = None,
        reconnect: Union[bool, Reconnect] = True,
        connect_timeout: float = 10.0,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.host: str = host or os.environ.get("TASKWIRE_HOST") or DEFAULT_HOST
        if port is None:
            env_port = os.environ.get("TASKWIRE_PORT")
            try:
                port = int(env_port) if env_port else DEFAULT_PORT
            except ValueError:
                raise ValueError(f"TASKWIRE_PORT is not a port number: {env_port!r}") from None
        if not 0 < port < 65536:
            raise ValueError(f"not a port number: {port}")
        self.port: int = port
        self._key = resolve_authkey(authkey, authkey_file)
        self._ssl_context = self._make_ssl_context(tls, tls_ca)
        self._server_hostname = server_hostname or self.host
        self._description: Dict[str, Any] = {
            "name": (name or _default_client_name())[:200],
            "version": __version__,
            "language": f"python {platform.python_version()}",
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "role": role,
        }
        if labels:
            self._description["labels"] = {str(k): str(v) for k, v in labels.items()}
        self._reconnect: Optional[Reconnect] = (
            reconnect if isinstance(reconnect, Reconnect) else (Reconnect() if reconnect else None)
        )
        self._connect_timeout = connect_timeout
        self._max_frame_bytes = max_frame_bytes

        self._cond = threading.Condition()
        self._channel: Optional[_Channel] = None
        self._closed = False
        self._fatal: Optional[BaseException] = None
        self._reconnecting = False  # a reconnect thread is running
        self._subscriptions: List[Subscription] = []
        self._queues: Dict[str, Queue] = {}
        self._callbacks: Optional["_stdlib_queue.Queue[Any]"] = None
        self._callback_thread: Optional[threading.Thread] = None

    @staticmethod
    def _make_ssl_context(
        tls: Union[bool, ssl.SSLContext, None], tls_ca: Union[str, "os.PathLike[str]", None]
    ) -> Optional[ssl.SSLContext]:
        if isinstance(tls, ssl.SSLContext):
            return tls
        if not tls and tls_ca is None:
            return None
        # Verifies the certificate and the host name (spec §2.2); TLS 1.2 at least.
        context = ssl.create_default_context(cafile=os.fspath(tls_ca) if tls_ca is not None else None)
        if context.minimum_version < ssl.TLSVersion.TLSv1_2:
            context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    # -- connection ----------------------------------------------------------------------------

    def open(self) -> "Client":
        """Connects and authenticates. Fails at once (no retries) on a wrong address or key."""
        channel = self._open_channel()
        with self._cond:
            self._channel = channel
            self._cond.notify_all()
        return self

    def _open_channel(self) -> _Channel:
        return _open_channel(
            host=self.host,
            port=self.port,
            key=self._key,
            ssl_context=self._ssl_context,
            server_hostname=self._server_hostname,
            description=self._description,
            connect_timeout=self._connect_timeout,
            max_frame_bytes=self._max_frame_bytes,
            on_close=self._on_channel_closed,
            on_event=self._on_event,
        )

    def _current_channel(self) -> _Channel:
        with self._cond:
            while True:
                if self._closed:
                    raise ConnectionClosed("the client is closed")
                if self._fatal is not None:
                    raise _fresh(self._fatal)
                channel = self._channel
                if channel is not None and not channel.closed:
                    return channel
                if self._reconnect is None:
                    raise ConnectionClosed(
                        f"not connected to the manager at {self.host}:{self.port} (the connection closed "
                        "and reconnect is off)"
                    )
                self._start_reconnecting_locked()
                self._cond.wait()

    def _on_channel_closed(self, channel: _Channel) -> None:
        with self._cond:
            if channel is not self._channel or self._closed:
                return
            log.info("taskwire: lost the connection to the manager at %s:%s", self.host, self.port)
            if self._reconnect is not None:
                self._start_reconnecting_locked()
            self._cond.notify_all()

    def _start_reconnecting_locked(self) -> None:
        if self._reconnecting:
            return
        self._reconnecting = True
        threading.Thread(target=self._reconnect_loop, name="taskwire-reconnect", daemon=True).start()

    def _reconnect_loop(self) -> None:
        connected = False
        try:
            connected = self._reconnect_until_connected()
        finally:
            if not connected:  # once connected, the flag was cleared with the new channel
                with self._cond:
                    self._reconnecting = False
                    self._cond.notify_all()

    def _reconnect_until_connected(self) -> bool:
        """Reconnects with back-off; True once a new channel is in use."""
        options = self._reconnect
        assert options is not None
        for attempt in itertools.count(1):
            delay = min(options.initial_delay * 2 ** (attempt - 1), options.max_delay)
            delay *= 0.5 + random.random() / 2  # jitter: workers of one manager do not reconnect in step
            deadline = time.monotonic() + delay
            with self._cond:
                while not self._closed and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())  # close() ends the wait early
                if self._closed:
                    return False
            try:
                channel = self._open_channel()
            except (AuthenticationFailed, ServerProofError, UnsupportedProtocolVersion) as error:
                # Retrying cannot fix a wrong key, an impostor or a version mismatch.
                self._give_up(error)
                return False
            except Exception as error:
                log.info("taskwire: reconnect attempt %d to %s:%s failed: %s", attempt, self.host, self.port, error)
                if options.max_attempts is not None and attempt >= options.max_attempts:
                    self._give_up(
                        ConnectionClosed(
                            f"gave up reconnecting to the manager at {self.host}:{self.port} after {attempt} "
                            f"attempts: {error}"
                        )
                    )
                    return False
                continue
            try:
                self._resubscribe(channel)
            except Exception as error:
                log.info("taskwire: re-subscribing after a reconnect failed: %s", error)
                channel.close()
                continue
            with self._cond:
                closed = self._closed
                if not closed and not channel.closed:
                    # Published and marked done in one step: a drop from now on starts a new
                    # reconnect instead of finding this one still running.
                    self._channel = channel
                    self._reconnecting = False
                    self._cond.notify_all()
            if closed:
                channel.close()
                return False
            if channel.closed:
                continue  # it dropped before it could be used
            log.info("taskwire: reconnected to the manager at %s:%s", self.host, self.port)
            return True
        return False  # not reached: the loop ends by returning

    def _give_up(self, error: BaseException) -> None:
        log.warning("taskwire: stopped reconnecting to %s:%s: %s", self.host, self.port, error)
        with self._cond:
            self._fatal = error
            subscriptions = list(self._subscriptions)
            self._cond.notify_all()
        for subscription in subscriptions:
            subscription._end()

    def _resubscribe(self, channel: _Channel) -> None:
        with self._cond:
            subscriptions = [s for s in self._subscriptions if s.active]
        for subscription in subscriptions:
            self._subscribe_on(channel, subscription)

    def wait_until_connected(self, timeout: Optional[float] = None) -> bool:
        """Waits for a connection (at once if connected); False after ``timeout`` seconds.

        Raises the error that ended reconnecting, or :class:`ConnectionClosed` once closed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise ConnectionClosed("the client is closed")
                if self._fatal is not None:
                    raise _fresh(self._fatal)
                if self._channel is not None and not self._channel.closed:
                    return True
                if self._reconnect is None:
                    return False
                self._start_reconnecting_locked()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)

    @property
    def connected(self) -> bool:
        channel = self._channel
        return channel is not None and not channel.closed and not self._closed

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def session_id(self) -> Optional[str]:
        """The session id the manager gave the current connection."""
        channel = self._channel
        return channel.session_id if channel is not None else None

    @property
    def limits(self) -> Dict[str, Any]:
        """The manager's limits: ``maxFrameBytes``, ``maxPayloadBytes``, ``maxBatch``, ``maxSubscriptions``."""
        channel = self._channel
        return dict(channel.limits) if channel is not None else {}

    @property
    def capabilities(self) -> Dict[str, Any]:
        channel = self._channel
        return dict(channel.capabilities) if channel is not None else {}

    @property
    def protocol_version(self) -> Optional[str]:
        channel = self._channel
        return channel.protocol_version if channel is not None else None

    @property
    def server(self) -> Dict[str, Any]:
        """The manager software's ``name`` and ``version``."""
        channel = self._channel
        return dict(channel.server) if channel is not None else {}

    def close(self) -> None:
        """Closes the connection; calls in flight raise :class:`ConnectionClosed`. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            channel = self._channel
            subscriptions = list(self._subscriptions)
            self._subscriptions.clear()
            callbacks = self._callbacks
            self._cond.notify_all()
        if channel is not None:
            channel.close(ConnectionClosed("the client was closed"))
        for subscription in subscriptions:
            subscription._end()
        if callbacks is not None:
            callbacks.put(_END)
        thread = self._callback_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("connected" if self.connected else "disconnected")
        return f"<taskwire.Client {self.host}:{self.port} {state} session={self.session_id!r}>"

    # -- requests ------------------------------------------------------------------------------

    def call(
        self, method: str, params: Optional[Mapping[str, Any]] = None, *, cancel: Optional[CancelToken] = None
    ) -> Any:
        """Sends any request of the protocol and returns its result (or raises its error)."""
        return self._current_channel().request(method, dict(params or {}), cancel)

    def _call(self, method: str, params: Dict[str, Any], cancel: Optional[CancelToken] = None) -> Any:
        """:meth:`call` with params this module built for the call alone (not copied)."""
        channel = self._channel
        if channel is None or channel._closed_error is not None or self._closed:
            channel = self._current_channel()
        return channel.request(method, params, cancel)

    def queue(self, name: str) -> "Queue":
        """A handle on the queue ``name`` (one per name and client; cheap, nothing is sent)."""
        with self._cond:
            handle = self._queues.get(name)
            if handle is None:
                handle = self._queues[name] = Queue(self, name)
            return handle

    def ping(self) -> str:
        """A round trip; returns the manager's clock (RFC 3339)."""
        return self._call("session/ping", {})["time"]

    def declare(
        self,
        queue: str,
        *,
        maxsize: Optional[int] = None,
        ttr: Optional[float] = None,
        max_attempts: Optional[int] = None,
        dead_letter: Optional[str] = _UNSET,
    ) -> bool:
        """Creates a queue with options, or changes the given options; True when created.

        ``dead_letter=None`` drops dead tasks; leave it out to keep the current setting.
        """
        params: Dict[str, Any] = {"queue": queue}
        if maxsize is not None:
            params["maxsize"] = maxsize
        if ttr is not None:
            params["ttr"] = ttr
        if max_attempts is not None:
            params["maxAttempts"] = max_attempts
        if dead_letter is not _UNSET:
            params["deadLetter"] = dead_letter
        return bool(self._call("queue/declare", params)["created"])

    def queues(self) -> List[QueueStats]:
        """The stats of every queue of the manager, in creation order."""
        return self._call("queue/list", {})["queues"]

    def stats(self, queue: str) -> QueueStats:
        """A queue's depths (ready, delayed, leased, dead), options and counters."""
        return self._call("queue/stats", {"queue": queue})

    def put(
        self,
        queue: str,
        payload: Any,
        block: bool = True,
        timeout: Optional[float] = None,
        *,
        priority: Optional[int] = None,
        delay: Optional[float] = None,
        ttr: Optional[float] = None,
        reply_to: Optional[str] = None,
        max_attempts: Optional[int] = None,
        cancel: Optional[CancelToken] = None,
    ) -> str:
        """Puts one task; returns its id. See :meth:`Queue.put`."""
        spec: Dict[str, Any] = {"payload": payload}
        if priority is not None:
            spec["priority"] = priority
        if delay is not None:
            spec["delay"] = delay
        if ttr is not None:
            spec["ttr"] = ttr
        if reply_to is not None:
            spec["replyTo"] = reply_to
        if max_attempts is not None:
            spec["maxAttempts"] = max_attempts
        return self._put_chunk(queue, [spec], _blocking_timeout(block, timeout), cancel)[0]

    def put_many(
        self,
        queue: str,
        items: Iterable[Any],
        timeout: Optional[float] = None,
        *,
        priority: Optional[int] = None,
        delay: Optional[float] = None,
        ttr: Optional[float] = None,
        reply_to: Optional[str] = None,
        max_attempts: Optional[int] = None,
        cancel: Optional[CancelToken] = None,
    ) -> List[str]:
        """Puts many tasks in as few requests as the manager's limits allow. See :meth:`Queue.put_many`."""
        timeout = _seconds("timeout", timeout)
        shared = TaskSpec(None, priority, delay, ttr, reply_to, max_attempts)
        specs = [
            (item if isinstance(item, TaskSpec) else TaskSpec(item)).merged_with(shared).to_wire() for item in items
        ]
        ids: List[str] = []
        for chunk in self._chunks(queue, specs, timeout):
            ids.extend(self._put_chunk(queue, chunk, timeout, cancel))
        return ids

    def _chunks(
        self, queue: str, specs: List[Dict[str, Any]], timeout: Optional[float]
    ) -> Iterator[List[Dict[str, Any]]]:
        """Splits a put so that each request fits ``maxBatch`` and ``maxFrameBytes`` (spec §9.4)."""
        if not specs:
            return
        self._current_channel()  # the limits are the current connection's
        limits = self.limits
        max_batch = int(limits.get("maxBatch") or 10_000)
        max_frame = int(limits.get("maxFrameBytes") or 16 * 1024 * 1024)
        envelope = len(
            _encode(
                {
                    "jsonrpc": "2.0",
                    "id": 2**53,
                    "method": "queue/put",
                    "params": {"queue": queue, "tasks": [], **({"timeout": timeout} if timeout is not None else {})},
                }
            )
        )
        chunk: List[Dict[str, Any]] = []
        size = envelope
        for spec in specs:
            spec_size = len(_encode(spec))  # its line feed stands for the comma
            if chunk and (len(chunk) >= max_batch or size + spec_size > max_frame):
                yield chunk
                chunk, size = [], envelope
            chunk.append(spec)
            size += spec_size
        if chunk:
            yield chunk

    def _put_chunk(
        self, queue: str, specs: List[Dict[str, Any]], timeout: Optional[float], cancel: Optional[CancelToken]
    ) -> List[str]:
        params: Dict[str, Any] = {"queue": queue, "tasks": specs}
        if timeout is not None:
            params["timeout"] = timeout
        return self._call("queue/put", params, cancel=cancel)["ids"]

    def get(
        self,
        queue: str,
        block: bool = True,
        timeout: Optional[float] = None,
        *,
        ttr: Optional[float] = None,
        auto_ack: bool = False,
        cancel: Optional[CancelToken] = None,
    ) -> Task:
        """Takes one task; :class:`QueueEmpty` (a :class:`queue.Empty`) when none came. See :meth:`Queue.get`."""
        wait = _blocking_timeout(block, timeout)
        params: Dict[str, Any] = {"queue": queue, "max": 1}
        if wait is not None:
            params["timeout"] = wait
        if ttr is not None:
            params["ttr"] = ttr
        if auto_ack:
            params["autoAck"] = True
        tasks = self._call("queue/get", params, cancel)["tasks"]
        if not tasks:
            raise QueueEmpty(queue, wait)
        return Task(tasks[0], self, _received=True)

    def get_many(
        self,
        queue: str,
        max_tasks: int,
        timeout: Optional[float] = None,
        *,
        ttr: Optional[float] = None,
        auto_ack: bool = False,
        cancel: Optional[CancelToken] = None,
    ) -> List[Task]:
        """Takes up to ``max_tasks`` tasks as soon as one is ready; [] after ``timeout``."""
        params: Dict[str, Any] = {"queue": queue, "max": max_tasks}
        timeout = _seconds("timeout", timeout)
        if timeout is not None:
            params["timeout"] = timeout
        if ttr is not None:
            params["ttr"] = ttr
        if auto_ack:
            params["autoAck"] = True
        result = self._call("queue/get", params, cancel=cancel)
        return [Task(wire, self, _received=True) for wire in result["tasks"]]

    def ack(self, task: Union[Task, str], result: Any = NO_RESULT) -> None:
        """Completes a task; a ``result`` goes to the task's ``reply_to`` queue."""
        entry: Dict[str, Any] = {"id": _task_id(task)}
        if result is not NO_RESULT:
            entry["result"] = result
        self._call("task/ack", {"acks": [entry]})
        if isinstance(task, Task):
            task.settled = True

    def ack_many(self, acks: Iterable[Union[Task, str, Tuple[Union[Task, str], Any]]]) -> int:
        """Completes many tasks in one all-or-nothing request.

        Each item is a task (or id), or a ``(task, result)`` pair. Returns the number acked.
        """
        entries: List[Dict[str, Any]] = []
        tasks: List[Task] = []
        for item in acks:
            if isinstance(item, tuple):
                task, result = item
                entries.append({"id": _task_id(task), "result": result})
            else:
                task = item
                entries.append({"id": _task_id(task)})
            if isinstance(task, Task):
                tasks.append(task)
        if not entries:
            return 0
        acked = int(self._call("task/ack", {"acks": entries})["acked"])
        for task in tasks:
            task.settled = True
        return acked

    def nack(
        self,
        task: Union[Task, str],
        error: Optional[str] = None,
        delay: Optional[float] = None,
        retry: bool = True,
    ) -> None:
        """Gives a task back for a retry (after ``delay`` s, default the manager's back-off).

        ``retry=False``: a permanent failure, dead-lettered at once.
        """
        self.nack_many([task], error=error, delay=delay, retry=retry)

    def nack_many(
        self,
        tasks: Iterable[Union[Task, str]],
        error: Optional[str] = None,
        delay: Optional[float] = None,
        retry: bool = True,
    ) -> int:
        """Gives many tasks back in one all-or-nothing request, with the same error and delay."""
        tasks = list(tasks)
        entries: List[Dict[str, Any]] = []
        for task in tasks:
            entry: Dict[str, Any] = {"id": _task_id(task)}
            if error is not None:
                entry["error"] = error
            if delay is not None:
                entry["delay"] = delay
            if not retry:
                entry["retry"] = False
            entries.append(entry)
        if not entries:
            return 0
        nacked = int(self._call("task/nack", {"nacks": entries})["nacked"])
        for task in tasks:
            if isinstance(task, Task):
                task.settled = True
        return nacked

    def touch(self, tasks: Union[Task, str, Sequence[Union[Task, str]]], ttr: Optional[float] = None) -> str:
        """Extends leases to ``ttr`` seconds from now; returns the earliest new lease end."""
        items = [tasks] if isinstance(tasks, (Task, str)) else list(tasks)
        params: Dict[str, Any] = {"ids": [_task_id(task) for task in items]}
        if ttr is not None:
            params["ttr"] = ttr
        lease_until: str = self._call("task/touch", params)["leaseUntil"]
        return lease_until

    def join(self, queue: str, timeout: Optional[float] = None, *, cancel: Optional[CancelToken] = None) -> bool:
        """Waits until the queue holds nothing (ready, delayed or leased); False on timeout."""
        params: Dict[str, Any] = {"queue": queue}
        timeout = _seconds("timeout", timeout)
        if timeout is not None:
            params["timeout"] = timeout
        return bool(self._call("queue/join", params, cancel=cancel)["done"])

    def peek(self, queue: str, max_tasks: int = 1) -> List[Task]:
        """The next ready tasks, untouched (nothing is leased)."""
        result = self._call("queue/peek", {"queue": queue, "max": max_tasks})
        return [Task(wire, self, _received=True) for wire in result["tasks"]]

    def purge(self, queue: str) -> int:
        """Removes every ready and delayed task; returns how many."""
        return int(self._call("queue/purge", {"queue": queue})["removed"])

    def clients(self) -> List[ClientInfo]:
        """The worker registry: every session, with what it holds and what it did."""
        return self._call("manager/clients", {})["clients"]

    def shutdown_manager(self) -> None:
        """Asks the manager to shut down gracefully (any session may)."""
        self._call("manager/shutdown", {})

    # -- events --------------------------------------------------------------------------------

    def subscribe(
        self,
        queues: Optional[Sequence[str]] = None,
        kinds: Optional[Sequence[str]] = None,
        include_payload: bool = False,
        callback: Optional[Callable[[Event], None]] = None,
        *,
        max_buffered: int = 10_000,
    ) -> Subscription:
        """Subscribes to events (put, get, ack, nack, expired, dead, purge, client-*).

        ``queues``/``kinds`` filter (None: all). With ``callback``, events are passed to it
        in order on one dispatcher thread (it may call the client); without, iterate over the
        returned :class:`Subscription` or call its ``get``.
        """
        params: Dict[str, Any] = {}
        if queues is not None:
            params["queues"] = list(queues)
        if kinds is not None:
            params["kinds"] = list(kinds)
        if include_payload:
            params["includePayload"] = True
        subscription = Subscription(self, params, callback, max_buffered)
        channel = self._current_channel()
        # Listed first, so that a reconnect racing with this call re-subscribes it too.
        with self._cond:
            self._subscriptions.append(subscription)
        try:
            self._subscribe_on(channel, subscription)
        except BaseException:
            self._forget_subscription(subscription)
            subscription._end()
            raise
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Ends a subscription (same as ``subscription.unsubscribe()``)."""
        subscription.unsubscribe()

    def _subscribe_on(self, channel: _Channel, subscription: Subscription) -> None:
        # The reader thread attaches the subscription as it reads the response, before it
        # reads any event of it (the manager sends the response first, spec §5.16).
        pending = channel.send_request(
            "events/subscribe",
            subscription.params,
            on_result=lambda result: subscription._attach(channel, result["subscription"]),
        )
        channel.wait(pending)

    def _forget_subscription(self, subscription: Subscription) -> None:
        with self._cond:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def _on_event(self, channel: _Channel, params: Mapping[str, Any]) -> None:
        server_id = params.get("subscription")
        subscription = channel.subscriptions.get(server_id) if isinstance(server_id, str) else None
        if subscription is not None:
            subscription._deliver(Event.from_wire(params))

    def _dispatch_callback(self, callback: Callable[[Event], None], event: Event) -> None:
        # Callbacks never run on the reader thread: one that calls the client would wait for
        # a response only the reader thread can read.
        with self._cond:
            if self._closed:
                return
            if self._callbacks is None:
                self._callbacks = _stdlib_queue.Queue()
                self._callback_thread = threading.Thread(
                    target=self._run_callbacks, args=(self._callbacks,), name="taskwire-events", daemon=True
                )
                self._callback_thread.start()
            callbacks = self._callbacks
        callbacks.put((callback, event))

    @staticmethod
    def _run_callbacks(callbacks: "_stdlib_queue.Queue[Any]") -> None:
        while True:
            item = callbacks.get()
            if item is _END:
                return
            callback, event = item
            try:
                callback(event)
            except Exception:
                log.exception("taskwire: an event callback failed")


def connect(
    host: Optional[str] = None,
    port: Optional[int] = None,
    *,
    authkey: Union[bytes, str, None] = None,
    authkey_file: Union[str, "os.PathLike[str]", None] = None,
    tls: Union[bool, ssl.SSLContext, None] = None,
    tls_ca: Union[str, "os.PathLike[str]", None] = None,
    server_hostname: Optional[str] = None,
    name: Optional[str] = None,
    role: str = "worker",
    labels: Optional[Mapping[str, str]] = None,
    reconnect: Union[bool, Reconnect] = True,
    connect_timeout: float = 10.0,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> Client:
    """Connects to a manager and authenticates (both sides prove they hold the key).

    ``host``/``port`` default to ``$TASKWIRE_HOST``/``$TASKWIRE_PORT``, else 127.0.0.1:7400.
    The key: ``authkey``, ``authkey_file``, ``$TASKWIRE_AUTHKEY``, ``$TASKWIRE_AUTHKEY_FILE``,
    else ``$TASKWIRE_HOME/authkey`` (``~/.taskwire/authkey``). TLS: ``tls=True`` (system CAs),
    ``tls_ca=path`` (trust that certificate) or an :class:`ssl.SSLContext`. ``name``,
    ``role`` (worker, producer, monitor) and ``labels`` show in the worker registry.

        with taskwire.connect(port=7400, authkey_file="authkey") as client:
            client.queue("tasks").put("image_url_0")
    """
    return Client(
        host,
        port,
        authkey=authkey,
        authkey_file=authkey_file,
        tls=tls,
        tls_ca=tls_ca,
        server_hostname=server_hostname,
        name=name,
        role=role,
        labels=labels,
        reconnect=reconnect,
        connect_timeout=connect_timeout,
        max_frame_bytes=max_frame_bytes,
    ).open()


# --------------------------------------------------------------------------------------------
# Queue handles
# --------------------------------------------------------------------------------------------


class Queue:
    """A named queue on the manager, shaped like :class:`queue.Queue`.

    ``put``/``get`` take ``block`` and ``timeout`` as ``queue.Queue`` does; ``get`` returns a
    :class:`Task` (its ``payload`` is what was put) and raises :class:`QueueEmpty`, a
    :class:`queue.Empty`; a put that finds no room raises :class:`QueueFull`, a
    :class:`queue.Full`. ``task_done`` acks, ``join`` waits until every task is acked.
    """

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name
        self._taken = threading.local()  # per thread: tasks got and not yet task_done()

    def __repr__(self) -> str:
        return f"<taskwire.Queue {self.name!r}>"

    def declare(
        self,
        *,
        maxsize: Optional[int] = None,
        ttr: Optional[float] = None,
        max_attempts: Optional[int] = None,
        dead_letter: Optional[str] = _UNSET,
    ) -> bool:
        """Creates the queue with options, or changes the given ones; True when created.

        ``dead_letter=None`` drops dead tasks; leave it out to keep the current setting.
        """
        return self.client.declare(
            self.name, maxsize=maxsize, ttr=ttr, max_attempts=max_attempts, dead_letter=dead_letter
        )

    def put(
        self,
        item: Any,
        block: bool = True,
        timeout: Optional[float] = None,
        *,
        priority: Optional[int] = None,
        delay: Optional[float] = None,
        ttr: Optional[float] = None,
        reply_to: Optional[str] = None,
        max_attempts: Optional[int] = None,
        cancel: Optional[CancelToken] = None,
    ) -> str:
        """Puts one task (any JSON value); returns its id.

        A bounded queue without room makes it wait (``timeout`` seconds at most, for ever
        when None; not at all with ``block=False``), then raises :class:`QueueFull`.
        ``reply_to`` names the queue that receives ``{"taskId", "result"}`` when the task is
        acked with a result; ``priority`` (higher first), ``delay`` (seconds before it is
        ready), ``ttr`` (lease length) and ``max_attempts`` override the queue's defaults.
        """
        return self.client.put(
            self.name,
            item,
            block,
            timeout,
            priority=priority,
            delay=delay,
            ttr=ttr,
            reply_to=reply_to,
            max_attempts=max_attempts,
            cancel=cancel,
        )

    def put_nowait(self, item: Any, **options: Any) -> str:
        """``put(item, block=False)``."""
        return self.put(item, False, **options)

    def put_many(
        self,
        items: Iterable[Any],
        timeout: Optional[float] = None,
        *,
        priority: Optional[int] = None,
        delay: Optional[float] = None,
        ttr: Optional[float] = None,
        reply_to: Optional[str] = None,
        max_attempts: Optional[int] = None,
        cancel: Optional[CancelToken] = None,
    ) -> List[str]:
        """Puts many tasks; returns their ids in order.

        Items are payloads, which take the given options, or :class:`TaskSpec` objects,
        whose own options override them. Sent in as few requests as the manager's ``maxBatch`` and
        ``maxFrameBytes`` allow; each request is all-or-nothing.
        """
        return self.client.put_many(
            self.name,
            items,
            timeout,
            priority=priority,
            delay=delay,
            ttr=ttr,
            reply_to=reply_to,
            max_attempts=max_attempts,
            cancel=cancel,
        )

    def get(
        self,
        block: bool = True,
        timeout: Optional[float] = None,
        *,
        ttr: Optional[float] = None,
        auto_ack: bool = False,
        cancel: Optional[CancelToken] = None,
    ) -> Task:
        """Takes one task, leased to this client until it is acked or nacked.

        Waits ``timeout`` seconds at most (for ever when None; not at all with
        ``block=False``), then raises :class:`QueueEmpty`, which is a :class:`queue.Empty`.
        ``auto_ack=True`` removes the task on delivery instead (at-most-once; for results).
        Other calls on the client go on while it waits.
        """
        task = self.client.get(self.name, block, timeout, ttr=ttr, auto_ack=auto_ack, cancel=cancel)
        if not auto_ack:
            self._remember(task)
        return task

    def get_nowait(self, **options: Any) -> Task:
        """``get(block=False)``."""
        return self.get(False, **options)

    def get_many(
        self,
        max_tasks: int,
        timeout: Optional[float] = None,
        *,
        ttr: Optional[float] = None,
        auto_ack: bool = False,
        cancel: Optional[CancelToken] = None,
    ) -> List[Task]:
        """Takes up to ``max_tasks`` tasks as soon as one is ready; [] after ``timeout``."""
        tasks = self.client.get_many(self.name, max_tasks, timeout, ttr=ttr, auto_ack=auto_ack, cancel=cancel)
        if not auto_ack:
            for task in tasks:
                self._remember(task)
        return tasks

    def ack(self, task: Union[Task, str], result: Any = NO_RESULT) -> None:
        """Completes a task; a ``result`` goes to its ``reply_to`` queue."""
        self.client.ack(task, result)

    def ack_many(self, acks: Iterable[Union[Task, str, Tuple[Union[Task, str], Any]]]) -> int:
        """Completes many tasks in one request; items are tasks or ``(task, result)`` pairs."""
        return self.client.ack_many(acks)

    def task_done(self, task: Union[Task, str, None] = None, result: Any = NO_RESULT) -> None:
        """Acks ``task``, or the oldest task this thread got from this queue and did not settle.

        As in :class:`queue.Queue`, :class:`ValueError` when there is none.
        """
        if task is None:
            taken = self._taken_here()
            while taken and taken[0].settled:
                taken.popleft()
            if not taken:
                raise ValueError("task_done() called too many times")
            task = taken.popleft()
        self.client.ack(task, result)

    def nack(
        self, task: Union[Task, str], error: Optional[str] = None, delay: Optional[float] = None, retry: bool = True
    ) -> None:
        """Gives a task back for a retry; ``retry=False`` dead-letters it at once."""
        self.client.nack(task, error=error, delay=delay, retry=retry)

    def touch(self, tasks: Union[Task, str, Sequence[Union[Task, str]]], ttr: Optional[float] = None) -> str:
        """Extends leases; returns the earliest new lease end."""
        return self.client.touch(tasks, ttr)

    def join(self, timeout: Optional[float] = None, *, cancel: Optional[CancelToken] = None) -> bool:
        """Waits until every task is acked (nothing ready, delayed or leased); False on timeout."""
        return self.client.join(self.name, timeout, cancel=cancel)

    def peek(self, max_tasks: int = 1) -> List[Task]:
        """The next ready tasks, untouched."""
        return self.client.peek(self.name, max_tasks)

    def purge(self) -> int:
        """Removes every ready and delayed task; returns how many."""
        return self.client.purge(self.name)

    def stats(self) -> QueueStats:
        """Depths, options and counters."""
        return self.client.stats(self.name)

    def qsize(self) -> int:
        """Tasks waiting to be taken (ready and delayed), like ``queue.Queue.qsize``."""
        stats = self.stats()
        return int(stats["ready"]) + int(stats["delayed"])

    def empty(self) -> bool:
        """True when no task waits to be taken (others may still be leased)."""
        return self.qsize() == 0

    def full(self) -> bool:
        """True when a bounded queue has no room (leased tasks count until acked)."""
        stats = self.stats()
        size = int(stats["ready"]) + int(stats["delayed"]) + int(stats["leased"])
        return bool(stats["maxsize"]) and size >= int(stats["maxsize"])

    def _taken_here(self) -> Deque[Task]:
        taken: Optional[Deque[Task]] = getattr(self._taken, "tasks", None)
        if taken is None:
            taken = self._taken.tasks = deque()
        return taken

    def _remember(self, task: Task) -> None:
        taken = self._taken_here()
        while taken and taken[0].settled:
            taken.popleft()
        taken.append(task)


# --------------------------------------------------------------------------------------------
# multiprocessing.managers, on Taskwire
# --------------------------------------------------------------------------------------------


class QueueManager:
    """:class:`multiprocessing.managers.BaseManager`'s shape, for code written for it.

        QueueManager.register('get_task_queue')      # the queue "tasks"
        QueueManager.register('get_result_queue')    # the queue "results"
        manager = QueueManager(address=('127.0.0.1', 7400), authkey=b'biu')
        manager.connect()
        task = manager.get_task_queue()              # a taskwire.Queue

    ``register('get_<name>_queue')`` maps to the queue ``<name>s``; pass ``queue=`` for any
    other name. Queues live on the manager (``taskwire serve``), so ``callable`` is accepted
    for compatibility and ignored, and there is no ``start()``. ``shutdown()`` stops the
    manager for every client; ``close()`` only disconnects.
    """

    _registry: Dict[str, str] = {}

    @classmethod
    def register(cls, typeid: str, callable: Any = None, *, queue: Optional[str] = None) -> None:  # noqa: A002
        """Adds the method ``typeid`` that returns the queue ``queue`` (see the class doc)."""
        if queue is None:
            if not (typeid.startswith("get_") and typeid.endswith("_queue") and len(typeid) > len("get__queue")):
                raise ValueError(f"cannot derive a queue name from {typeid!r}: pass queue='name'")
            stem = typeid[len("get_") : -len("_queue")]
            queue = stem if stem.endswith("s") else stem + "s"
        if "_registry" not in cls.__dict__:
            cls._registry = dict(cls._registry)  # a subclass's registrations stay its own
        cls._registry[typeid] = queue

        def get_queue(self: "QueueManager") -> Queue:
            return self.client.queue(self._registry[typeid])

        get_queue.__name__ = typeid
        get_queue.__doc__ = f"The queue {queue!r} on the manager."
        setattr(cls, typeid, get_queue)

    def __init__(
        self,
        address: Optional[Tuple[str, int]] = None,
        authkey: Union[bytes, str, None] = None,
        **options: Any,
    ) -> None:
        """``address`` is ``(host, port)``; ``options`` are those of :func:`connect`."""
        self.address = address
        self.authkey = authkey
        self._options = options
        self._client: Optional[Client] = None

    def connect(self) -> None:
        """Connects to the manager and authenticates."""
        host, port = self.address if self.address is not None else (None, None)
        self._client = connect(host, port, authkey=self.authkey, **self._options)

    def start(self) -> None:
        raise TaskwireError(
            "a Taskwire manager is started with `npx taskwire serve`; QueueManager only connects to it: "
            "call connect()"
        )

    @property
    def client(self) -> Client:
        if self._client is None:
            raise TaskwireError("not connected: call connect() first")
        return self._client

    def shutdown(self) -> None:
        """Shuts the manager down for every client, then disconnects."""
        try:
            self.client.shutdown_manager()
        finally:
            self.close()

    def close(self) -> None:
        """Disconnects; the manager and its queues stay."""
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> "QueueManager":
        if self._client is None:
            self.connect()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
