"""task.progress() (spec §5.20) against a real manager: the report, its event, the lease it
renews, the registry entry that shows it, and the errors of a bad report."""

from __future__ import annotations

import time
from typing import List

import pytest

import taskwire
from conftest import wait_until


def test_progress_renews_the_lease_and_reaches_events_and_the_registry(client: taskwire.Client, qname: str) -> None:
    seen: List[taskwire.Event] = []
    client.subscribe(queues=[qname], kinds=["progress"], callback=seen.append)
    tasks = client.queue(qname)
    tasks.put({"url": "https://example.com/"})
    task = tasks.get(timeout=2, ttr=30)
    first_lease = task.lease_until
    time.sleep(0.02)
    lease_until = task.progress(40, "fetching page 2", detail={"page": 2})
    assert task.lease_until == lease_until and lease_until > (first_lease or "")
    assert wait_until(lambda: len(seen) == 1)
    event = seen[0]
    assert (event.kind, event.task_id, event.percent, event.message, event.detail) == ("progress", task.id, 40, "fetching page 2", {"page": 2})
    assert event.client is not None and event.client["sessionId"] == client.session_id

    task.progress(message="parsing")
    mine = next(info for info in client.clients() if info["sessionId"] == client.session_id)
    assert [(t["id"], t["queue"], t["progress"].get("percent"), t["progress"]["message"]) for t in mine["tasks"]] == [(task.id, qname, None, "parsing")]
    task.ack()
    mine = next(info for info in client.clients() if info["sessionId"] == client.session_id)
    assert mine["tasks"] == []


def test_progress_errors(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put("x")
    task = tasks.get(timeout=2)
    with pytest.raises(ValueError, match="progress needs a percent or a message"):
        task.progress()
    with pytest.raises(taskwire.InvalidParams) as bad:
        task.progress(150)
    assert str(bad.value) == 'invalid params: "percent" must be <= 100'
    task.ack()
    with pytest.raises(taskwire.LeaseUnknown) as gone:
        task.progress(100, "done")
    assert str(gone.value) == f"unknown or expired lease: this session does not hold task {task.id}"
