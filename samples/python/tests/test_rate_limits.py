"""Rate limits (spec §7.22) from Python against a real manager: declare's rate, key_rate and
key_concurrency, a put's rate_key, and a get served by the next key with budget."""

from __future__ import annotations

import taskwire


def test_rate_key_and_limits(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    assert tasks.declare(key_rate={"max": 1, "period": 600}, key_concurrency=2, rate={"max": 100, "period": 1})
    stats = tasks.stats()
    assert (stats["keyRate"], stats["keyConcurrency"], stats["rate"], stats["throttled"]) == ({"max": 1, "period": 600}, 2, {"max": 100, "period": 1}, 0)
    tasks.put("a1", rate_key="a.example")
    tasks.put_many(["a2", taskwire.TaskSpec("b1", rate_key="b.example")], rate_key="a.example")
    first = tasks.get(timeout=2)
    second = tasks.get(timeout=2)
    # a.example is over its rate after a1: b1 goes next, not a2.
    assert (first.payload, second.payload) == ("a1", "b1")
    assert tasks.stats()["throttled"] == 1
    assert not tasks.declare(rate=None, key_rate=None, key_concurrency=0)
    assert "throttled" not in tasks.stats()
    assert tasks.get(timeout=2).payload == "a2"
