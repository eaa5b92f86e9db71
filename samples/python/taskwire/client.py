"""The client: every call of the protocol, on the connection :class:`_Connection` keeps.

The calls here are the hot path of the benchmarks (bench/py): each builds its params dict
once and hands it to the channel without copying (``_call``).
"""

from __future__ import annotations

import os
import ssl
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .cancel import CancelToken
from .connection import Reconnect, _Connection
from .constants import DEFAULT_MAX_FRAME_BYTES
from .errors import QueueEmpty, RequestCancelled
from .framing import _encode
from .queue import Queue
from .types import _UNSET, NO_RESULT, ClientInfo, QueueStats, Task, TaskSpec, UniquePut


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


class Client(_Connection):
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

    # -- requests ------------------------------------------------------------------------------

    def call(
        self, method: str, params: Optional[Mapping[str, Any]] = None, *, cancel: Optional[CancelToken] = None
    ) -> Any:
        """Sends any request of the protocol and returns its result (or raises its error)."""
        return self._current_channel().request(method, dict(params or {}), cancel)

    def _call(self, method: str, params: Dict[str, Any], cancel: Optional[CancelToken] = None) -> Any:
        """:meth:`call` with params this package built for the call alone (not copied)."""
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
        rate: Optional[Dict[str, float]] = _UNSET,
        key_rate: Optional[Dict[str, float]] = _UNSET,
        key_concurrency: Optional[int] = None,
    ) -> bool:
        """Creates a queue with options, or changes the given options; True when created.

        ``dead_letter=None`` drops dead tasks; leave it out to keep the current setting.
        ``rate`` and ``key_rate`` (protocol 2026-12, spec §7.22) are ``{"max": N, "period":
        seconds}`` (optionally ``"burst"``), for every delivery and for each rate key; None
        removes one. ``key_concurrency`` caps the leased tasks of one key (0: no cap).
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
        if rate is not _UNSET:
            params["rate"] = rate
        if key_rate is not _UNSET:
            params["keyRate"] = key_rate
        if key_concurrency is not None:
            params["keyConcurrency"] = key_concurrency
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
        rate_key: Optional[str] = None,
    ) -> str:
        """Puts one task; returns its id. See :meth:`Queue.put`."""
        spec = TaskSpec(payload, priority, delay, ttr, reply_to, max_attempts, rate_key).to_wire()
        return self._put_chunk(queue, [spec], _blocking_timeout(block, timeout), cancel)[0]

    def put_unique(
        self,
        queue: str,
        payload: Any,
        key: str,
        block: bool = True,
        timeout: Optional[float] = None,
        *,
        scope: Optional[str] = None,
        ttl: Optional[float] = None,
        priority: Optional[int] = None,
        delay: Optional[float] = None,
        ttr: Optional[float] = None,
        reply_to: Optional[str] = None,
        max_attempts: Optional[int] = None,
        cancel: Optional[CancelToken] = None,
        rate_key: Optional[str] = None,
    ) -> UniquePut:
        """Puts one task with a uniqueness key (protocol 2026-12). See :meth:`Queue.put_unique`."""
        unique: Dict[str, Any] = {"key": key}
        if scope is not None:
            unique["scope"] = scope
        if ttl is not None:
            unique["ttl"] = ttl
        spec = TaskSpec(payload, priority, delay, ttr, reply_to, max_attempts, rate_key).to_wire()
        spec["unique"] = unique
        params: Dict[str, Any] = {"queue": queue, "tasks": [spec]}
        wait = _blocking_timeout(block, timeout)
        if wait is not None:
            params["timeout"] = wait
        result = self._call("queue/put", params, cancel=cancel)
        duplicates = result.get("duplicates") or [False]
        return UniquePut(result["ids"][0], bool(duplicates[0]))

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
        rate_key: Optional[str] = None,
    ) -> List[str]:
        """Puts many tasks in as few requests as the manager's limits allow. See :meth:`Queue.put_many`."""
        timeout = _seconds("timeout", timeout)
        shared = TaskSpec(None, priority, delay, ttr, reply_to, max_attempts, rate_key)
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

    def ack_and_get_next(
        self,
        task: Union[Task, str],
        result: Any = NO_RESULT,
        *,
        queue: Optional[str] = None,
        max_tasks: int = 1,
        timeout: Optional[float] = None,
        ttr: Optional[float] = None,
        auto_ack: bool = False,
        cancel: Optional[CancelToken] = None,
    ) -> List[Task]:
        """Completes a task and takes up to ``max_tasks`` next ones: a worker loop's one exchange.

        The next tasks come from ``queue`` (default: the task's own), as :meth:`get_many`
        takes them: as soon as one is ready, [] after ``timeout`` seconds (None: wait for
        one). A manager that announces ``capabilities.ackNext`` does both in one request
        (``task/ack`` with ``next``, spec §5.9.1); with any other, the client sends the ack
        and then the get, with the same effect. The ack stands once this returns, also with
        []: a ``cancel`` that ends the wait returns [] rather than raising. It raises what
        :meth:`ack` raises (:class:`LeaseUnknown`: nothing was acked, nothing taken).
        """
        if queue is None:
            if not isinstance(task, Task):
                raise TypeError("ack_and_get_next() needs queue= when given a task id rather than a Task")
            queue = task.queue
        entry: Dict[str, Any] = {"id": _task_id(task)}
        if result is not NO_RESULT:
            entry["result"] = result
        take: Dict[str, Any] = {"queue": queue, "max": max_tasks}
        if timeout is not None:
            take["timeout"] = _seconds("timeout", timeout)
        if ttr is not None:
            take["ttr"] = ttr
        if auto_ack:
            take["autoAck"] = True
        channel = self._channel
        if channel is None or channel._closed_error is not None or self._closed:
            channel = self._current_channel()
        if channel.capabilities.get("ackNext") is True:
            # A cancel ends only the wait: the manager answers {acked, tasks: []}, not -32800.
            answer = channel.request("task/ack", {"acks": [entry], "next": take}, cancel)
            if isinstance(task, Task):
                task.settled = True
            return [Task(wire, self, _received=True) for wire in answer.get("tasks", ())]
        if cancel is not None and cancel.cancelled:
            raise RequestCancelled(-32800, "request cancelled: the cancel token was already cancelled")
        channel.request("task/ack", {"acks": [entry]})
        if isinstance(task, Task):
            task.settled = True
        if self.state != "active":
            return []  # quieted or stopped (spec §7.20): the manager would hand this session nothing
        try:
            answer = self._call("queue/get", take, cancel)
        except RequestCancelled:
            return []  # as the one-request form answers a cancel: the ack stands
        return [Task(wire, self, _received=True) for wire in answer["tasks"]]

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

    def progress(
        self,
        task: Union[Task, str],
        percent: Optional[float] = None,
        message: Optional[str] = None,
        detail: Any = None,
    ) -> str:
        """Reports how far the work on a held task got (protocol 2026-12, spec §5.20): a
        ``percent`` from 0 to 100 and/or a short ``message`` (at most 200 characters), and
        optionally a JSON ``detail`` (at most 4096 bytes). The manager renews the lease as
        :meth:`touch` does and passes the report on as a ``progress`` event, at most a few a
        second per task (the last one always). Returns the new lease end."""
        if percent is None and message is None:
            raise ValueError("progress needs a percent or a message (or both)")
        params: Dict[str, Any] = {"id": _task_id(task)}
        if percent is not None:
            params["percent"] = percent
        if message is not None:
            params["message"] = message
        if detail is not None:
            params["detail"] = detail
        lease_until: str = self._call("task/progress", params)["leaseUntil"]
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

    def pause(self, queue: str) -> QueueStats:
        """Pauses a queue (protocol 2026-12, spec §7.19): puts are still accepted, gets deliver
        nothing until :meth:`resume`; tasks already taken run on. Creates the queue if it does
        not exist yet. Returns its stats, ``paused`` true."""
        return self._call("queue/pause", {"queue": queue})

    def resume(self, queue: str) -> QueueStats:
        """Resumes a paused queue: the gets waiting on it are served. Returns its stats."""
        return self._call("queue/resume", {"queue": queue})

    def clients(self) -> List[ClientInfo]:
        """The worker registry: every session, with what it holds and what it did."""
        return self._call("manager/clients", {})["clients"]

    def quiet_client(self, session: str) -> Dict[str, Any]:
        """Tells a session (its ``sessionId`` in :meth:`clients`, on any manager of the store) to
        take no new task (spec §7.20); :class:`SessionNotFound` when none is connected."""
        return self._call("client/quiet", {"session": session})

    def stop_client(self, session: str) -> Dict[str, Any]:
        """Tells a session to finish the tasks it holds, then close and exit (spec §7.20)."""
        return self._call("client/stop", {"session": session})

    def schedule_set(
        self,
        name: str,
        queue: str,
        payload: Any,
        *,
        cron: Optional[str] = None,
        timezone: Optional[str] = None,
        every: Optional[float] = None,
        start_at: Optional[str] = None,
        **task_options: Any,
    ) -> Dict[str, Any]:
        """Creates or replaces a schedule (protocol 2026-12, spec §5.25): the manager puts
        ``payload`` on ``queue`` at each tick of ``cron`` (read in ``timezone``, default UTC) or
        every ``every`` seconds. ``task_options``: the task's ``priority``, ``delay``, ``ttr``,
        ``replyTo``, ``maxAttempts`` as ``queue/put`` takes them. Returns ``{"schedule": ...,
        "created": bool}``; the schedule has its ``nextRun``. A bad cron expression, an unknown
        zone or an interval under 1 s raise :class:`InvalidParams` naming the field."""
        params: Dict[str, Any] = {"name": name, "queue": queue, "task": {"payload": payload, **task_options}}
        if cron is not None:
            params["cron"] = cron
        if timezone is not None:
            params["timezone"] = timezone
        if every is not None:
            params["every"] = every
        if start_at is not None:
            params["startAt"] = start_at
        return self._call("schedule/set", params)

    def schedule_list(self, queue: Optional[str] = None) -> List[Dict[str, Any]]:
        """The schedules by name (only ``queue``'s when given), each with ``nextRun`` and ``lastRun``."""
        return self._call("schedule/list", {} if queue is None else {"queue": queue})["schedules"]

    def schedule_delete(self, name: str) -> None:
        """Deletes a schedule; :class:`ScheduleNotFound` when there is none of that name."""
        self._call("schedule/delete", {"name": name})

    def shutdown_manager(self) -> None:
        """Asks the manager to shut down gracefully (any session may)."""
        self._call("manager/shutdown", {})


def connect(
    host: Union[str, Sequence[str], None] = None,
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
    random_start: bool = False,
) -> Client:
    """Connects to a manager and authenticates (both sides prove they hold the key).

    ``host``/``port`` default to ``$TASKWIRE_HOST``/``$TASKWIRE_PORT``, else 127.0.0.1:7400.
    Several managers: ``host`` as a list or a comma-separated string of ``host`` or
    ``host:port`` entries (``["h1:7400", "h2"]``, ``"h1:7400,h2"``; ``$TASKWIRE_HOST`` takes
    the same string); an entry without a port takes ``port``. The client connects to the
    first that completes the handshake (``random_start=True``: starting from a random one,
    which spreads workers over the managers) and, when that one goes away, moves at once to
    the next, wrapping around. A wrong key or an impostor at any address raises at once.
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
        random_start=random_start,
    ).open()
