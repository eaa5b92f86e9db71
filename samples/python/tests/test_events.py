"""events/subscribe and events/unsubscribe: callbacks, iterators, filters."""

from __future__ import annotations

import queue
import threading
from typing import List

import pytest

import taskwire
from conftest import Manager, wait_until


def test_events_to_a_callback(client: taskwire.Client, qname: str) -> None:
    seen: List[taskwire.Event] = []
    subscription = client.subscribe(queues=[qname], include_payload=True, callback=seen.append)
    tasks = client.queue(qname)
    tasks.put("image_url_8", reply_to=qname + ".r")
    tasks.get(timeout=1).ack("image_url_8 ---> success")
    assert wait_until(lambda: [event.kind for event in seen] == ["put", "get", "ack"])
    put, get, ack = seen
    assert (put.queue, put.payload, put.attempt) == (qname, "image_url_8", 1)
    assert put.task_id == get.task_id == ack.task_id
    assert ack.result == "image_url_8 ---> success"
    assert put.client["sessionId"] == client.session_id
    assert put.subscription == subscription.id and put.at.endswith("Z")
    subscription.unsubscribe()
    tasks.put("after")
    assert not wait_until(lambda: len(seen) > 3, timeout=0.3)


def test_events_by_iteration_with_filters(client: taskwire.Client, qname: str) -> None:
    with client.subscribe(queues=[qname], kinds=["nack", "dead"]) as events:
        tasks = client.queue(qname)
        tasks.put("image_url_4")
        tasks.get(timeout=1).nack(error="decoder: unexpected end of JPEG data", retry=False)
        nack, dead = events.get(timeout=2), events.get(timeout=2)
        assert (nack.kind, nack.error) == ("nack", "decoder: unexpected end of JPEG data")
        assert dead.kind == "dead" and dead.payload is None and "payload" not in dead.raw
        with pytest.raises(queue.Empty):
            events.get(timeout=0.2)
    assert not events.active
    assert list(events) == []  # iteration ends once unsubscribed


def test_iteration_ends_when_the_client_closes(manager: Manager, qname: str) -> None:
    client = manager.connect()
    subscription = client.subscribe(queues=[qname])
    received: List[str] = []

    def read() -> None:
        for event in subscription:
            received.append(event.kind)

    reader = threading.Thread(target=read)
    reader.start()
    client.queue(qname).put("x")
    assert wait_until(lambda: received == ["put"])
    client.close()
    reader.join(5)
    assert not reader.is_alive()


def test_client_events_and_a_callback_that_calls_the_client(manager: Manager, client: taskwire.Client) -> None:
    sessions: List[str] = []

    def on_event(event: taskwire.Event) -> None:
        # A callback may call the client: it runs on its own thread, not the reader's.
        if event.kind == "client-connected" and client.ping():
            sessions.append(event.client["sessionId"])

    subscription = client.subscribe(kinds=["client-connected"], callback=on_event)
    other = manager.connect()
    try:
        assert wait_until(lambda: other.session_id in sessions)
    finally:
        other.close()
        subscription.unsubscribe()


def test_unsubscribe_through_the_client_and_unknown_event_kinds(client: taskwire.Client) -> None:
    subscription = client.subscribe(kinds=["purge"])
    client.unsubscribe(subscription)
    client.unsubscribe(subscription)  # idempotent
    event = taskwire.Event.from_wire(
        {"subscription": "s", "kind": "from-the-future", "at": "2030-01-01T00:00:00.000Z", "new": 1}
    )
    assert event.kind == "from-the-future" and event.raw["new"] == 1
