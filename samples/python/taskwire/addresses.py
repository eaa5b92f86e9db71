"""Where a client looks for its managers: one address or several, from the arguments or from
``$TASKWIRE_HOST`` / ``$TASKWIRE_PORT``. The TypeScript and Go clients read them the same way.

An entry is ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address; a list is
a comma-separated string or a sequence of entries. An entry without a port takes ``port``,
else ``$TASKWIRE_PORT``, else 7400. An empty variable counts as unset.
"""

from __future__ import annotations

import os
import re
from typing import List, Mapping, Optional, Sequence, Tuple, Union

from .constants import DEFAULT_HOST, DEFAULT_PORT

#: One manager: ``(host, port)``.
Address = Tuple[str, int]

_BRACKETED = re.compile(r"^\[([^\]]+)\](?::(.*))?$")


def format_address(address: Address) -> str:
    """``host:port``, with brackets around an IPv6 host."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_addresses(
    host: Union[str, Sequence[str], None] = None,
    port: Optional[int] = None,
    env: Optional[Mapping[str, str]] = None,
) -> List[Address]:
    """The managers to try, in order: ``host`` (the argument), else ``$TASKWIRE_HOST``, else
    127.0.0.1. Raises ValueError naming a bad entry and where it came from."""
    env = os.environ if env is None else env
    if port is not None and not _is_port(port):
        raise ValueError(f"port {port!r} is not a port number (1 to 65535)")
    env_port = (env.get("TASKWIRE_PORT") or "").strip()
    default_port = port if port is not None else (_parse_port(env_port, f"TASKWIRE_PORT ({env_port!r})") if env_port else DEFAULT_PORT)
    given: Union[str, Sequence[str], None] = host
    if isinstance(given, str) and not given.strip():
        given = None
    where = "host"
    if given is None:
        given = (env.get("TASKWIRE_HOST") or "").strip() or None
        where = "TASKWIRE_HOST"
    if given is None:
        return [(DEFAULT_HOST, default_port)]
    raw = given.split(",") if isinstance(given, str) else list(given)
    entries = [entry.strip() for entry in raw if entry.strip()]
    if not entries:
        if not isinstance(given, str):
            raise ValueError("host is an empty list: give at least one manager address")
        return [(DEFAULT_HOST, default_port)]
    return [_parse_entry(entry, default_port, where) for entry in entries]


def _parse_entry(entry: str, default_port: int, where: str) -> Address:
    bracketed = _BRACKETED.match(entry)
    if bracketed:
        port_text = bracketed.group(2)
        port = default_port if port_text is None else _parse_port(port_text, f"the port of {entry!r} in {where}")
        return (bracketed.group(1), port)
    if entry.count(":") != 1:  # no colon, or a bare IPv6 address
        return (entry, default_port)
    host, _, port_text = entry.partition(":")
    if not host:
        raise ValueError(f"the manager address {entry!r} in {where} has no host: write host:port")
    return (host, _parse_port(port_text, f"the port of {entry!r} in {where}"))


def _parse_port(text: str, what: str) -> int:
    text = text.strip()
    port = int(text) if text.isdigit() and len(text) <= 5 else -1
    if not _is_port(port):
        raise ValueError(f"{what} is not a port number (1 to 65535)")
    return port


def _is_port(port: object) -> bool:
    return isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536
