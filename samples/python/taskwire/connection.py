"""The connection a client keeps: it connects, reconnects with back-off when the connection
drops, re-establishes the subscriptions on the new one and routes their events.

:class:`Client` (client.py) adds the protocol's calls on top; the calls read ``_channel``
directly, so splitting the two costs nothing per call.
"""

from __future__ import annotations

import itertools
import logging
import os
import platform
import queue as _stdlib_queue
import random
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .addresses import Address, format_address, resolve_addresses
from .auth import resolve_authkey
from .channel import _Channel
from .constants import DEFAULT_MAX_FRAME_BYTES, __version__
from .errors import (
    AuthenticationFailed,
    ConnectionClosed,
    NoManagerReachable,
    ServerProofError,
    UnsupportedProtocolVersion,
    _fresh,
)
from .handshake import _open_channel
from .subscription import _END, Subscription
from .types import Event, Limits

if TYPE_CHECKING:
    from .client import Client
    from .queue import Queue

log = logging.getLogger("taskwire")


@dataclass(frozen=True)
class Reconnect:
    """How a client reconnects: delays double from ``initial_delay`` up to ``max_delay``
    seconds (with jitter); ``max_attempts`` None retries until the client is closed. With
    several managers an attempt tries each address once, and the first is made at once."""

    initial_delay: float = 0.1
    max_delay: float = 5.0
    max_attempts: Optional[int] = None


#: Errors that retrying, here or at another address, cannot fix: a wrong key, an impostor, a
#: protocol version mismatch. They end the search for a manager at once.
_FATAL = (AuthenticationFailed, ServerProofError, UnsupportedProtocolVersion)


def _default_client_name() -> str:
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not script or script in ("-", "-c", "-m"):
        script = "python"
    return script[:200]


class _Connection:
    """The connection half of :class:`Client`: opening, reconnecting, closing, subscriptions.

    ``_channel`` is the current connection (None before :meth:`open`); ``_cond`` guards it
    and wakes the calls that wait for a new one.
    """

    def __init__(
        self,
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
    ) -> None:
        #: The managers this client may use, as ``(host, port)``, in the order it tries them.
        self.addresses: List[Address] = resolve_addresses(host, port)
        # The manager in use (or last used, or to try first).
        self._index = random.randrange(len(self.addresses)) if random_start else 0
        self._key = resolve_authkey(authkey, authkey_file)
        self._ssl_context = self._make_ssl_context(tls, tls_ca)
        self._server_hostname_option = server_hostname
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
        #: What an operator told this session (spec §7.20): active, quiet or stopping.
        self._state = "active"
        self._state_callbacks: List[Callable[[str], None]] = []

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

    @property
    def host(self) -> str:
        """The host of the manager in use (while reconnecting: the last one used)."""
        return self.addresses[self._index][0]

    @property
    def port(self) -> int:
        """The port of the manager in use (while reconnecting: the last one used)."""
        return self.addresses[self._index][1]

    def open(self) -> "Client":
        """Connects and authenticates. Fails at once (each address tried once, no back-off)
        on a wrong address or key."""
        channel, index = self._open_first_of(self._rotation(self._index))
        with self._cond:
            self._index = index
            self._channel = channel
            self._cond.notify_all()
        return self

    def _rotation(self, first: int) -> List[int]:
        """The indices of ``addresses`` from ``first``, wrapping around."""
        count = len(self.addresses)
        return [(first + offset) % count for offset in range(count)]

    def _open_first_of(self, indices: Sequence[int], prefix: Optional[str] = None) -> Tuple[_Channel, int]:
        """A channel to the first of ``indices`` that completes the handshake. A refused,
        timed out or closed connection moves on to the next; a wrong key, an impostor or a
        version mismatch is raised at once. When all fail: the one error, or NoManagerReachable."""
        failures: List[Tuple[str, BaseException]] = []
        for index in indices:
            if self._closed:
                raise ConnectionClosed("the client is closed")
            try:
                return self._open_channel(self.addresses[index]), index
            except _FATAL:
                raise
            except Exception as error:
                failures.append((format_address(self.addresses[index]), error))
        if len(failures) == 1:
            raise failures[0][1]
        raise NoManagerReachable(failures, prefix)

    def _open_channel(self, address: Address) -> _Channel:
        host, port = address
        channel = _open_channel(
            host=host,
            port=port,
            key=self._key,
            ssl_context=self._ssl_context,
            server_hostname=self._server_hostname_option or host,
            description=self._description,
            connect_timeout=self._connect_timeout,
            max_frame_bytes=self._max_frame_bytes,
            on_close=self._on_channel_closed,
            on_event=self._on_event,
        )
        channel.on_state = self._on_state
        return channel

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
                        f"not connected to the manager at {self._where()} (the connection closed "
                        "and reconnect is off)"
                    )
                self._start_reconnecting_locked()
                self._cond.wait()

    def _on_channel_closed(self, channel: _Channel) -> None:
        with self._cond:
            if channel is not self._channel or self._closed:
                return
            stopping = self._state == "stopping"
        if stopping:
            # Told to stop: a connection the manager closed is the end, not something to repair.
            self.close()
            return
        with self._cond:
            if channel is not self._channel or self._closed:
                return
            log.info("taskwire: lost the connection to the manager at %s", self._where())
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

    def _where(self) -> str:
        """``host:port`` of the manager in use (or last used)."""
        return format_address(self.addresses[self._index])

    def _reconnect_until_connected(self) -> bool:
        """Reconnects with back-off; True once a new channel is in use.

        Attempt n tries every address once, starting after the one that went away, after a
        back-off delay. With several managers the first attempt is made at once and skips the
        one that went away (the others are most likely up); the back-off starts with the second.
        """
        options = self._reconnect
        assert options is not None
        lost = self._index
        failover = len(self.addresses) > 1
        for attempt in itertools.count(1):
            step = attempt - 1 if failover else attempt
            delay = 0.0
            if step > 0:
                delay = min(options.initial_delay * 2 ** (step - 1), options.max_delay)
                delay *= 0.5 + random.random() / 2  # jitter: workers of one manager do not reconnect in step
            deadline = time.monotonic() + delay
            with self._cond:
                while not self._closed and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())  # close() ends the wait early
                if self._closed:
                    return False
            indices = [i for i in self._rotation(lost + 1) if not (failover and attempt == 1 and i == lost)]
            try:
                channel, index = self._open_first_of(indices, f"cannot reconnect to any of {len(indices)} managers")
            except _FATAL as error:
                self._give_up(error)
                return False
            except Exception as error:
                log.info("taskwire: reconnect attempt %d failed: %s", attempt, error)
                if options.max_attempts is not None and attempt >= options.max_attempts:
                    listed = ", ".join(map(format_address, self.addresses))
                    where = f"the managers at {listed}" if len(self.addresses) > 1 else f"the manager at {listed}"
                    self._give_up(ConnectionClosed(f"gave up reconnecting to {where} after {attempt} attempts: {error}"))
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
                    self._index = index
                    self._reconnecting = False
                    self._cond.notify_all()
            if not closed and not channel.closed:
                # A new session: what the old one was told does not hold for it (spec §7.20).
                self._set_state("active")
            if closed:
                channel.close()
                return False
            if channel.closed:
                continue  # it dropped before it could be used
            log.info("taskwire: reconnected to the manager at %s", format_address(self.addresses[index]))
            return True
        return False  # not reached: the loop ends by returning

    def _give_up(self, error: BaseException) -> None:
        log.warning("taskwire: stopped reconnecting to %s: %s", ", ".join(map(format_address, self.addresses)), error)
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
    def limits(self) -> Limits:
        """The manager's limits: ``maxFrameBytes``, ``maxPayloadBytes``, ``maxBatch``, ``maxSubscriptions``."""
        channel = self._channel
        return dict(channel.limits) if channel is not None else {}  # type: ignore[return-value]

    @property
    def capabilities(self) -> Dict[str, Any]:
        channel = self._channel
        return dict(channel.capabilities) if channel is not None else {}

    @property
    def protocol_version(self) -> Optional[str]:
        channel = self._channel
        return channel.protocol_version if channel is not None else None

    @property
    def manager_id(self) -> Optional[str]:
        """The id of the manager this client is connected to now (protocol 2026-12, spec §7.18).

        It changes when a reconnect reaches another manager; None with a 2026-11 manager.
        """
        channel = self._channel
        return channel.manager_id if channel is not None else None

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
            if (channel.protocol_version or "") >= "2026-12":
                # Says it stopped (spec §6.3): its leases are released as "client stopped".
                channel.notify_quietly("session/close", {})
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
        return f"<taskwire.Client {self._where()} {state} session={self.session_id!r}>"


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
        """Subscribes to events (put, get, ack, nack, expired, released, dead, purge, client-*).

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

    # -- quiet and stop (spec §7.20) ----------------------------------------------------------

    @property
    def state(self) -> str:
        """What an operator told this session: ``"active"``, ``"quiet"`` (take no new task) or
        ``"stopping"`` (finish the tasks in hand, then close). :meth:`Queue.work` obeys it."""
        with self._cond:
            return self._state

    def on_state(self, callback: Callable[[str], None]) -> None:
        """Calls ``callback(state)`` on each change of :attr:`state` (on the client's callback
        thread, where it may call the client)."""
        with self._cond:
            self._state_callbacks.append(callback)

    def wait_for_state_change(self, state: str, timeout: Optional[float] = None) -> str:
        """Waits until :attr:`state` is no longer ``state`` (or the client is closed, or
        ``timeout`` passes); returns the state then."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._state == state and not self._closed and self._fatal is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._state

    def _on_state(self, channel: _Channel, state: str) -> None:
        if state not in ("quiet", "stopping"):
            return  # a state this version does not know (spec §10.5)
        with self._cond:
            if channel is not self._channel:
                return
        self._set_state(state)

    def _set_state(self, state: str) -> None:
        with self._cond:
            if state == self._state:
                return
            self._state = state
            callbacks = list(self._state_callbacks)
            self._cond.notify_all()
        log.info("taskwire: the manager says this session is %s", state)
        for callback in callbacks:
            self._dispatch_callback(callback, state)  # type: ignore[arg-type]

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
