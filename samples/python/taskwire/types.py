"""Values: tasks, task specs, events, and the shapes of what a manager answers (stats,
clients, limits) as typed dicts, named after the spec's types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, TypedDict

from .errors import TaskwireError

if TYPE_CHECKING:
    from .cancel import CancelToken
    from .client import Client


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

    def ack_and_get_next(
        self,
        result: Any = NO_RESULT,
        *,
        queue: Optional[str] = None,
        max_tasks: int = 1,
        timeout: Optional[float] = None,
        ttr: Optional[float] = None,
        auto_ack: bool = False,
        cancel: Optional["CancelToken"] = None,
    ) -> List["Task"]:
        """Completes the task and takes the next ones from its queue (or ``queue``) in one
        exchange; [] when none came in ``timeout`` s. See :meth:`Client.ack_and_get_next`."""
        return self._owner().ack_and_get_next(
            self, result, queue=queue, max_tasks=max_tasks, timeout=timeout, ttr=ttr, auto_ack=auto_ack, cancel=cancel
        )

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

    def progress(self, percent: Optional[float] = None, message: Optional[str] = None, detail: Any = None) -> str:
        """Reports how far the work got: ``task.progress(40, "fetching page 2")``, or
        ``task.progress(message="parsing", detail={"links": 12})``. Needs a manager of protocol
        2026-12; the report also renews the lease, as :meth:`touch` does, and subscribers get at
        most a few reports a second (always the last). Returns the new lease end."""
        lease_until = self._owner().progress(self, percent, message, detail)
        self.lease_until = lease_until
        return lease_until

    def to_dict(self) -> Dict[str, Any]:
        """The task as the protocol's ``Task`` object."""
        return dict(self.raw)

    def __repr__(self) -> str:
        return f"Task(id={self.id!r}, queue={self.queue!r}, payload={self.payload!r}, attempt={self.attempt})"


@dataclass(frozen=True)
class UniquePut:
    """What :meth:`Queue.put_unique` answers (spec §7.21): the task's id, and whether its key was
    held (then ``id`` is the holder's and no task was added)."""

    id: str
    duplicate: bool


@dataclass
class TaskSpec:
    """A task with its own options, for :meth:`Queue.put_many` (spec ``TaskSpec``)."""

    payload: Any
    priority: Optional[int] = None
    delay: Optional[float] = None
    ttr: Optional[float] = None
    reply_to: Optional[str] = None
    max_attempts: Optional[int] = None
    #: The task's rate key (e.g. a URL's host) for the queue's key_rate and key_concurrency (protocol 2026-12, spec §7.22).
    rate_key: Optional[str] = None

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
                    (self.rate_key, defaults.rate_key),
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
            ("rate_key", "rateKey"),
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
    #: The id of the manager the client session is on (protocol 2026-12, spec §7.18).
    manager: Optional[str] = None
    #: On ``progress`` (protocol 2026-12, spec §5.20): what the holder reported.
    percent: Optional[float] = None
    message: Optional[str] = None
    detail: Any = None
    #: On ``scheduled`` (protocol 2026-12, spec §5.25): the schedule that ticked; on
    #: ``schedule-set`` and ``schedule-deleted``: the schedule set or deleted.
    schedule: Optional[str] = None
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
            manager=params.get("manager"),
            percent=params.get("percent"),
            message=params.get("message"),
            detail=params.get("detail"),
            schedule=params.get("schedule"),
            raw=dict(params),
        )


class QueueTotals(TypedDict, total=False):
    """Counters of a queue since the manager started (spec ``QueueTotals``)."""

    put: int
    acked: int
    nacked: int
    expired: int
    #: How many of ``expired`` were releases (protocol 2026-12; absent before).
    released: int
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
    #: True while the queue is paused (protocol 2026-12, spec §7.19; absent before).
    paused: bool
    totals: QueueTotals
    #: The queue's rate limits, when it has them (protocol 2026-12, spec §7.22): {"max", "period", "burst"?}.
    rate: Dict[str, float]
    keyRate: Dict[str, float]
    keyConcurrency: int
    #: Ready tasks waiting for budget rather than for a worker (a queue with limits).
    throttled: int


class ClientInfo(TypedDict, total=False):
    """One session of the worker registry (spec ``ClientInfo``), as received."""

    sessionId: str
    #: The id of the manager the session is on (protocol 2026-12, spec §7.18).
    manager: str
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
    #: The tasks the session holds, each ``{id, queue, leaseUntil, progress?}`` with its last
    #: progress report (protocol 2026-12, spec §5.15, §5.20).
    tasks: List[Dict[str, Any]]
    #: ``active``, ``quiet`` or ``stopping``: what an operator told the session (2026-12, spec §7.20).
    state: str


class _RequiredLimits(TypedDict):
    maxFrameBytes: int
    maxPayloadBytes: int
    maxBatch: int
    maxSubscriptions: int


class Limits(_RequiredLimits, total=False):
    """What the manager announces it accepts (spec ``Limits``), from ``session/authenticate``.

    The client splits puts by ``maxBatch`` and ``maxFrameBytes`` and refuses a request above
    ``maxFrameBytes`` before sending it; tests/test_spec_parity.py keeps the keys the spec's.
    """

    #: The manager's budget for queued payload bytes; 0 (or absent) means unlimited.
    maxQueuedBytes: int
