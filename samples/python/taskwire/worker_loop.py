"""The loop of :meth:`Queue.work`: take a task, run the handler, then ack the task and take
the next one in the same exchange (spec §5.9.1), carrying on through failed handlers, lost
leases and reconnects, and obeying the operator (spec §7.20): quiet takes no new task, stopping
finishes the task in hand, closes the client and returns."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, List, Optional

from .cancel import CancelToken
from .errors import ConnectionClosed, LeaseUnknown, RequestCancelled, ShuttingDown
from .types import NO_RESULT, Task

if TYPE_CHECKING:
    from .queue import Queue

log = logging.getLogger("taskwire")

#: Errors after which the task in hand is no longer this client's: the manager delivers it
#: again (an expired lease, a dropped connection, a manager shutting down).
_LEASE_LOST = (LeaseUnknown, ConnectionClosed, ShuttingDown)

#: The longest nack error the protocol keeps (spec ``Nack.error``).
_MAX_ERROR_CHARS = 10_000

#: Pause after a lost connection or a shutdown before looking again, so that a manager
#: still closing is not asked again and again.
_RETRY_PAUSE = 0.05

Handler = Callable[[Task], Any]
ErrorHook = Callable[[BaseException, Task], None]


def _work(
    queue: "Queue",
    handler: Handler,
    idle_timeout: Optional[float],
    ttr: Optional[float],
    cancel: Optional[CancelToken],
    on_error: Optional[ErrorHook],
) -> int:
    handled = 0
    batch: Optional[List[Task]] = []
    client = queue.client
    while True:
        if cancel is not None and cancel.cancelled:
            return handled
        if not batch and client.state != "active":
            # Told to take no task: wait for the order to stop (or a new session after a
            # reconnect, which starts active); told to stop, with nothing in hand: leave.
            if client.state == "quiet":
                client.wait_for_state_change("quiet", timeout=0.5)
                if client.closed:
                    return handled
                continue
            client.close()
            return handled
        if not batch:
            batch = _take(queue, idle_timeout, ttr, cancel)
            if batch is None:
                return handled  # cancelled
            if not batch:
                if idle_timeout is not None and client.state == "active":
                    return handled  # idle for idle_timeout
                continue
        task = batch.pop(0)
        try:
            result = handler(task)
        except BaseException as error:
            if not isinstance(error, Exception):
                # Ctrl+C: the worker stops. Closing the client says so (session/close, spec
                # §6.3): the manager releases this task and any prefetched ones at once, to the
                # head of the queue, as "client stopped" (no nack: no back-off for a task that
                # did not fail). The loop ends with the interrupt.
                queue.client.close()
                raise
            _nack_quietly(task, error)
            handled += 1
            if on_error is not None:
                on_error(error, task)
            continue
        handled += 1
        if task.settled:
            continue  # the handler acked or nacked it; the next get takes the next task
        if cancel is not None and cancel.cancelled:
            # Cancelled while the handler ran: finish this task, take no other.
            _settle_quietly(task, lambda: task.ack(NO_RESULT if result is None else result))
            return handled
        if client.state != "active":
            # Quieted or stopped while the handler ran: ack this task, take no other.
            _settle_quietly(task, lambda: task.ack(NO_RESULT if result is None else result))
            continue
        try:
            # Through the client, not the handle: the loop settles every task itself, so
            # nothing is remembered for task_done().
            batch = queue.client.ack_and_get_next(
                task,
                NO_RESULT if result is None else result,
                queue=queue.name,
                timeout=idle_timeout,
                ttr=ttr,
                cancel=cancel,
            )
        except _LEASE_LOST as error:
            log.info("taskwire: could not ack task %s (%s); the manager delivers it again", task.id, error)
            if not _recover(queue, error, cancel):
                raise
            batch = []
            continue
        if not batch and idle_timeout is not None and client.state == "active":
            return handled  # idle for idle_timeout, or cancelled


def _take(
    queue: "Queue", idle_timeout: Optional[float], ttr: Optional[float], cancel: Optional[CancelToken]
) -> Optional[List[Task]]:
    """The next task as a list of at most one; [] after ``idle_timeout``; None when cancelled."""
    while True:
        if cancel is not None and cancel.cancelled:
            return None
        try:
            return queue.client.get_many(queue.name, 1, idle_timeout, ttr=ttr, cancel=cancel)
        except RequestCancelled:
            return None
        except (ConnectionClosed, ShuttingDown) as error:
            if not _recover(queue, error, cancel):
                raise


def _recover(queue: "Queue", error: BaseException, cancel: Optional[CancelToken]) -> bool:
    """After a lost lease or connection: True to go on (reconnected, or cancelled meanwhile),
    False when the loop must raise ``error`` (the client will not reconnect)."""
    if isinstance(error, LeaseUnknown):
        return True  # the connection is fine; only that task's lease had ended
    client = queue.client
    if client._reconnect is None or client.closed:
        return False
    time.sleep(_RETRY_PAUSE)
    while not (cancel is not None and cancel.cancelled):
        if client.wait_until_connected(0.5):
            return True
    return True


def _nack_quietly(task: Task, error: BaseException) -> None:
    if task.settled:
        return
    reason = (str(error) or type(error).__name__)[:_MAX_ERROR_CHARS]
    _settle_quietly(task, lambda: task.nack(error=reason))


def _settle_quietly(task: Task, settle: Callable[[], None]) -> None:
    """Settles a task; a lease already gone is no error (the manager delivers it again)."""
    try:
        settle()
    except _LEASE_LOST as error:
        log.info("taskwire: could not settle task %s (%s); the manager delivers it again", task.id, error)
