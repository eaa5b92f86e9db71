"""Unique tasks (spec §7.21) through the client, against a real manager."""

from __future__ import annotations

import pytest

import taskwire


def test_put_unique_answers_the_holder_for_a_held_key(client: taskwire.Client, qname: str) -> None:
    q = client.queue(qname)
    first = q.put_unique({"url": "https://example.com/"}, "https://example.com/")
    assert first.duplicate is False
    again = q.put_unique({"url": "https://example.com/"}, "https://example.com/")
    assert again == taskwire.UniquePut(first.id, True)
    assert client.stats(qname)["ready"] == 1


def test_scope_queued_frees_the_key_on_lease_and_active_keeps_it(client: taskwire.Client, qname: str) -> None:
    q = client.queue(qname)
    q.put_unique("a", "queued")
    active = q.put_unique("b", "active", scope="active", ttl=60)
    first, second = q.get(timeout=5), q.get(timeout=5)
    assert q.put_unique("a2", "queued").duplicate is False
    assert q.put_unique("b2", "active") == taskwire.UniquePut(active.id, True)
    first.ack()
    second.ack()
    assert q.put_unique("b3", "active").duplicate is False


def test_a_key_too_long_is_refused_with_the_field(client: taskwire.Client, qname: str) -> None:
    with pytest.raises(taskwire.InvalidParams) as caught:
        client.queue(qname).put_unique("a", "k" * 257)
    assert '"tasks/0/unique/key" must be at most 256 characters long' in str(caught.value)
    assert client.stats(qname)["ready"] == 0


def test_put_unique_takes_put_options_such_as_the_rate_key(client: taskwire.Client, qname: str) -> None:
    q = client.queue(qname)
    q.declare(key_concurrency=1)
    q.put_unique("a", "a", rate_key="example.com", priority=1)
    q.put_unique("b", "b", rate_key="example.com")
    task = q.get(timeout=5)
    assert task.payload == "a"
    # Both carry the rate key: with one of its tasks leased, the other waits for its turn.
    assert client.stats(qname)["throttled"] == 1
    task.ack()
