"""Queue handles: a named queue on the manager, shaped like :class:`queue.Queue`."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .cancel import CancelToken
from .types import _UNSET, NO_RESULT, QueueStats, Task, UniquePut
from .worker_loop import _work

if TYPE_CHECKING:
    from .client import Client


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
        rate: Optional[Dict[str, float]] = _UNSET,
        key_rate: Optional[Dict[str, float]] = _UNSET,
        key_concurrency: Optional[int] = None,
    ) -> bool:
        """Creates the queue with options, or changes the given ones; True when created.

        ``dead_letter=None`` drops dead tasks; leave it out to keep the current setting.
        """
        return self.client.declare(
            self.name,
            maxsize=maxsize,
            ttr=ttr,
            max_attempts=max_attempts,
            dead_letter=dead_letter,
            rate=rate,
            key_rate=key_rate,
            key_concurrency=key_concurrency,
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
        rate_key: Optional[str] = None,
    ) -> str:
        """Puts one task (any JSON value); returns its id.

        A bounded queue without room makes it wait (``timeout`` seconds at most, for ever
        when None; not at all with ``block=False``), then raises :class:`QueueFull`.
        ``reply_to`` names the queue that receives ``{"taskId", "result"}`` when the task is
        acked with a result; ``priority`` (higher first), ``delay`` (seconds before it is
        ready), ``ttr`` (lease length) and ``max_attempts`` override the queue's defaults.
        ``rate_key`` (protocol 2026-12) is the task's key for the queue's per-key rate limits.
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
            rate_key=rate_key,
        )

    def put_nowait(self, item: Any, **options: Any) -> str:
        """``put(item, block=False)``."""
        return self.put(item, False, **options)

    def put_unique(
        self,
        item: Any,
        key: str,
        block: bool = True,
        timeout: Optional[float] = None,
        *,
        scope: Optional[str] = None,
        ttl: Optional[float] = None,
        **options: Any,
    ) -> UniquePut:
        """Puts one task unless a task of the queue holds ``key`` (spec §7.21).

        Returns ``UniquePut(id, duplicate)``: when the key is held, ``duplicate`` is True, ``id``
        is the holder's and nothing is added. ``scope`` is ``"queued"`` (the default: held while
        the task waits) or ``"active"`` (also while a worker holds it); ``ttl`` ends the hold that
        many seconds after the put. The other options are :meth:`put`'s.
        """
        return self.client.put_unique(self.name, item, key, block, timeout, scope=scope, ttl=ttl, **options)

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
        rate_key: Optional[str] = None,
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
            rate_key=rate_key,
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

    def ack_and_get_next(
        self,
        task: Union[Task, str],
        result: Any = NO_RESULT,
        *,
        max_tasks: int = 1,
        timeout: Optional[float] = None,
        ttr: Optional[float] = None,
        auto_ack: bool = False,
        cancel: Optional[CancelToken] = None,
    ) -> List[Task]:
        """Completes ``task`` and takes up to ``max_tasks`` next tasks of this queue in one
        exchange; [] when none came in ``timeout`` s (None: wait for one), or on ``cancel``.

        One request when the manager announces ``capabilities.ackNext``; otherwise an ack
        then a get, with the same effect. See :meth:`Client.ack_and_get_next`.
        """
        tasks = self.client.ack_and_get_next(
            task,
            result,
            queue=self.name,
            max_tasks=max_tasks,
            timeout=timeout,
            ttr=ttr,
            auto_ack=auto_ack,
            cancel=cancel,
        )
        if not auto_ack:
            for taken in tasks:
                self._remember(taken)
        return tasks

    def work(
        self,
        handler: Callable[[Task], Any],
        *,
        idle_timeout: Optional[float] = None,
        ttr: Optional[float] = None,
        cancel: Optional[CancelToken] = None,
        on_error: Optional[Callable[[BaseException, Task], None]] = None,
    ) -> int:
        """Runs ``handler(task)`` for each task of this queue, one at a time; returns how many
        it handled once the queue stays empty ``idle_timeout`` seconds (None: never) or
        ``cancel`` is cancelled.

        The handler's return value is the task's result, routed to its ``reply_to`` queue
        (None: no result); an exception nacks the task with its message (then ``on_error``
        is called) and the loop goes on. A handler may settle the task itself. Each
        finished task is acked together with taking the next one (:meth:`ack_and_get_next`):
        one exchange per task with a manager that announces ``ackNext``. A task whose lease
        was lost (expired, or the connection dropped: the manager redelivers it) is skipped;
        with reconnect on, the loop waits for the new connection and goes on. Ctrl+C (a
        ``KeyboardInterrupt`` in the handler) closes the client, so the manager releases the
        task in hand to the next worker as ``client stopped``, and propagates.

        It obeys the operator (``taskwire workers quiet|stop``, spec §7.20): told ``quiet``, it
        finishes and acks the task in hand and takes no other (a reconnect, which is a new
        session, resumes it); told ``stopping``, it finishes and acks the task in hand, closes
        the client (``session/close``) and returns, so the program can exit with 0.
        :attr:`Client.state` and :meth:`Client.on_state` show the state to the application.
        """
        return _work(self, handler, idle_timeout, ttr, cancel, on_error)

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

    def progress(self, task: Union[Task, str], percent: Optional[float] = None, message: Optional[str] = None, detail: Any = None) -> str:
        """Reports progress on a held task (see :meth:`Client.progress`); returns the new lease end."""
        return self.client.progress(task, percent, message, detail)

    def join(self, timeout: Optional[float] = None, *, cancel: Optional[CancelToken] = None) -> bool:
        """Waits until every task is acked (nothing ready, delayed or leased); False on timeout."""
        return self.client.join(self.name, timeout, cancel=cancel)

    def peek(self, max_tasks: int = 1) -> List[Task]:
        """The next ready tasks, untouched."""
        return self.client.peek(self.name, max_tasks)

    def purge(self) -> int:
        """Removes every ready and delayed task; returns how many."""
        return self.client.purge(self.name)

    def pause(self) -> QueueStats:
        """Pauses the queue: puts are still accepted, gets deliver nothing until :meth:`resume`
        (a ``get`` with a timeout raises ``queue.Empty`` when it passes); tasks already taken run
        on. Needs a manager of protocol 2026-12."""
        return self.client.pause(self.name)

    def resume(self) -> QueueStats:
        """Resumes the paused queue; gets waiting on it are served first."""
        return self.client.resume(self.name)

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
