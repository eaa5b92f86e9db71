"""Versions and defaults: the protocol this package speaks and where it looks for a manager.

``PROTOCOL_VERSION`` must be the newest of ``spec/protocol.json``'s ``protocolVersions``
(tests/test_spec_parity.py checks it).
"""

from __future__ import annotations

from typing import FrozenSet, Tuple

__version__ = "0.1.0"

#: The newest protocol version this package speaks.
PROTOCOL_VERSION = "2026-12"
#: Every protocol version this package speaks, offered in ``session/hello``: the manager
#: chooses the newest it also speaks (a 2026-11 manager answers 2026-11, spec §10.3).
PROTOCOL_VERSIONS: Tuple[str, ...] = ("2026-11", PROTOCOL_VERSION)

#: The methods a manager may hold blocked (``blocking: true`` in the spec): the ones a
#: :class:`CancelToken` withdraws with ``$/cancelRequest``. The manager cancels nothing else.
#: ``task/ack`` waits only when it also takes the next tasks (``next``, spec §5.9.1); a
#: cancel then ends the wait and the acks stand.
BLOCKING_METHODS: FrozenSet[str] = frozenset({"queue/put", "queue/get", "queue/join", "task/ack"})

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7400
#: The largest frame read from a manager. The manager announces the largest frame it reads;
#: its responses (a ``get`` of many tasks) may be larger, hence the generous default.
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
