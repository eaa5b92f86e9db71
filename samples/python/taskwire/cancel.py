"""Cancellation: a token that withdraws blocking calls from another thread."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, List, Tuple

from .constants import BLOCKING_METHODS

if TYPE_CHECKING:
    from .channel import _Channel, _Pending


class CancelToken:
    """Withdraws blocking calls (get, put, join, ack_and_get_next) from another thread.

        token = taskwire.CancelToken()
        threading.Timer(1.0, token.cancel).start()
        tasks.get(cancel=token)          # raises RequestCancelled after 1 s; nothing was taken

    The manager answers each withdrawn request with -32800, raised as :class:`RequestCancelled`;
    a cancelled get leased nothing and a cancelled put enqueued nothing. A cancelled
    ``ack_and_get_next`` returns [] instead: its ack stands, only the wait ended. A call that already
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
        if pending.method not in BLOCKING_METHODS:
            return  # answered without waiting: the manager has nothing to withdraw
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
