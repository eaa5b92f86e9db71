"""Subscriptions: events of the manager, delivered to a callback or read by iterating."""

from __future__ import annotations

import queue as _stdlib_queue
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional

from .errors import ConnectionClosed, InvalidParams, ShuttingDown
from .types import Event

if TYPE_CHECKING:
    from .channel import _Channel
    from .client import Client


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
