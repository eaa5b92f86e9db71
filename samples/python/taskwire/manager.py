"""multiprocessing.managers, on Taskwire: :class:`QueueManager` keeps the shape of code
written for :class:`multiprocessing.managers.BaseManager`."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

from .client import Client, connect
from .errors import TaskwireError
from .queue import Queue


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
