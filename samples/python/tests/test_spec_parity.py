"""The package against spec/protocol.json, the protocol's one source of truth: every method,
blocking method, limit and protocol version the spec lists is known to the client, or a test
fails and names what to add. (The error registry is checked in test_errors.py.) The client
is written by hand, standard library only; these tests keep it from drifting from the spec.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from typing import Dict, Set

import taskwire
from conftest import REPO_ROOT, SAMPLE_DIR

SPEC = json.loads((REPO_ROOT / "spec" / "protocol.json").read_text())
PACKAGE_DIR = SAMPLE_DIR / "taskwire"

#: Client-to-server methods of the spec the package does not send, and why.
NOT_SENT: Dict[str, str] = {
    "manager/stats": "an operator's call (`taskwire stats`), not a worker's; Client.call() can still send it",
}

#: Server-to-client methods the package handles (channel.py's _dispatch).
HANDLED = {"events/event", "session/state"}

METHOD_LITERAL = re.compile(r"(?:[a-z]+|\$)/[a-zA-Z]+")


def _package_sources() -> Dict[str, str]:
    sources = {path.name: path.read_text(encoding="utf-8") for path in sorted(PACKAGE_DIR.glob("*.py"))}
    assert "client.py" in sources, f"no package at {PACKAGE_DIR}"
    return sources


def _method_literals() -> Set[str]:
    """Every "noun/verb" (or "$/verb") string constant in the package: the methods it uses."""
    found = set()
    for source in _package_sources().values():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and METHOD_LITERAL.fullmatch(node.value):
                found.add(node.value)
    return found


def test_every_client_to_server_method_is_sent_or_listed_as_not_sent() -> None:
    sent = _method_literals()
    problems = []
    for method in SPEC["methods"]:
        name = method["method"]
        if method["direction"] != "clientToServer":
            if name not in HANDLED:
                problems.append(f"the spec's {name} goes from server to client: teach channel.py's _dispatch to handle it")
            continue
        if name in NOT_SENT:
            if name in sent:
                problems.append(f"{name} is listed as not sent, but the package sends it: remove it from NOT_SENT")
        elif name not in sent:
            problems.append(
                f"the spec's method {name} is not sent by the package: add a call for it, or list it in NOT_SENT with the reason"
            )
    assert not problems, "\n".join(problems)


def test_the_package_uses_no_method_the_spec_lacks() -> None:
    in_spec = {method["method"] for method in SPEC["methods"]}
    assert _method_literals() - in_spec == set()
    assert set(NOT_SENT) <= in_spec and HANDLED <= in_spec


def test_the_blocking_methods_are_the_specs() -> None:
    # The methods a CancelToken withdraws with $/cancelRequest (constants.BLOCKING_METHODS).
    in_spec = {method["method"] for method in SPEC["methods"] if method.get("blocking")}
    assert set(taskwire.constants.BLOCKING_METHODS) == in_spec


def test_the_limits_are_the_specs() -> None:
    in_spec = set(SPEC["$defs"]["Limits"]["properties"])
    assert set(taskwire.Limits.__annotations__) == in_spec
    assert taskwire.Limits.__required_keys__ == frozenset(SPEC["$defs"]["Limits"]["required"])
    # Every limit the package reads (limits.get("x") or limits["x"]) is one the spec defines.
    read = set()
    for source in _package_sources().values():
        read.update(re.findall(r"limits(?:\.get\(|\[)\"(\w+)\"", source))
    assert read, "found no read of the manager's limits: has the pattern of this test gone stale?"
    assert read <= in_spec, f"the package reads limits the spec does not define: {sorted(read - in_spec)}"


def test_the_protocol_version_is_the_specs_newest() -> None:
    assert taskwire.PROTOCOL_VERSION == SPEC["protocolVersions"][-1]
    assert set(taskwire.PROTOCOL_VERSIONS) <= set(SPEC["protocolVersions"])
    assert taskwire.PROTOCOL_VERSION in taskwire.PROTOCOL_VERSIONS


def test_the_capabilities_the_client_reads_are_the_specs() -> None:
    in_spec = set(SPEC["$defs"]["Capabilities"]["properties"])
    read = set()
    for source in _package_sources().values():
        read.update(re.findall(r"capabilities(?:\.get\(|\[)\"(\w+)\"", source))
    # ackNext decides between task/ack with next and an ack then a get (spec §5.9.1).
    assert "ackNext" in read, "the client no longer reads capabilities.ackNext: has the pattern of this test gone stale?"
    assert read <= in_spec, f"the package reads capabilities the spec does not define: {sorted(read - in_spec)}"
    assert "ackNext" not in SPEC["$defs"]["Capabilities"]["required"], "ackNext became required: drop the fallback?"


def test_ack_and_get_next_takes_every_param_of_a_get() -> None:
    # task/ack's next is queue/get's params (spec §5.9.1): each has its keyword, as in get_many.
    assert SPEC["$defs"]["AckParams"]["properties"]["next"]["$ref"] == "#/$defs/GetParams"
    assert set(SPEC["$defs"]["AckResult"]["properties"]) == {"acked", "tasks"}
    keywords = {"queue": "queue", "max": "max_tasks", "timeout": "timeout", "ttr": "ttr", "autoAck": "auto_ack"}
    assert set(SPEC["$defs"]["GetParams"]["properties"]) == set(keywords)
    parameters = inspect.signature(taskwire.Client.ack_and_get_next).parameters
    assert set(keywords.values()) <= set(parameters)
