"""Channel: one authenticated connection, read by the threads that wait for its responses.

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

One class of about 400 lines: the leader, its followers, the background reader and closing
share one lock and one set of fields, and read best side by side.
"""

from __future__ import annotations

import itertools
import logging
import select
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Union

from .errors import ConnectionClosed, FrameTooLarge, RemoteError, RequestCancelled, _fresh, remote_error
from .framing import _decode_json, _encode, _encode_request, _EndOfStream, _FrameReader, _ProtocolViolation, _scan_json
from .transport import _Transport

if TYPE_CHECKING:
    from .cancel import CancelToken
    from .subscription import Subscription

log = logging.getLogger("taskwire")

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
        manager_id = hello.get("managerId")
        #: The manager's id (protocol 2026-12, spec §7.18); None with a 2026-11 manager.
        self.manager_id: Optional[str] = manager_id if isinstance(manager_id, str) else None
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
        #: Called on the reader thread with the state of a ``session/state`` notification
        #: (spec §7.20); set by the client right after the handshake.
        self.on_state: Optional[Callable[["_Channel", str], None]] = None
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
            elif "id" not in message and message.get("method") == "session/state":
                # An operator quieted or stopped this session (spec §7.20).
                params = message.get("params")
                state = params.get("state") if isinstance(params, dict) else None
                on_state = self.on_state
                if isinstance(state, str) and on_state is not None:
                    on_state(self, state)
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
