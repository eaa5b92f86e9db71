"""Each method of the protocol (spec §5) through the client, against a real manager."""

from __future__ import annotations

import queue
import threading
import time

import pytest

import taskwire
from conftest import Manager


def test_ping_returns_the_manager_clock(client: taskwire.Client) -> None:
    stamp = client.ping()
    assert stamp.endswith("Z") and "T" in stamp


def test_declare_creates_then_changes(client: taskwire.Client, qname: str) -> None:
    assert client.declare(qname, maxsize=100, ttr=30, max_attempts=3, dead_letter=f"{qname}.failed") is True
    assert client.queue(qname).declare(maxsize=200) is False
    stats = client.stats(qname)
    options = (stats["maxsize"], stats["ttr"], stats["maxAttempts"], stats["deadLetter"])
    assert options == (200, 30, 3, f"{qname}.failed")
    client.declare(qname, dead_letter=None)
    assert client.stats(qname)["deadLetter"] is None


def test_queues_lists_every_queue(client: taskwire.Client, qname: str) -> None:
    client.declare(qname)
    listed = {stats["queue"]: stats for stats in client.queues()}
    assert qname in listed and listed[qname]["ready"] == 0


def test_put_and_get_keep_any_json_payload(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    payloads = [
        {"url": "https://img.example.com/0.jpg", "size": [320, 240]},
        [1, 2.5, "three"],
        None,
        "héllo ✓ 😀",
        42,
        True,
    ]
    ids = [tasks.put(payload) for payload in payloads]
    assert len(set(ids)) == len(payloads)
    got = [tasks.get(True, timeout=2) for _ in payloads]
    assert [task.payload for task in got] == payloads
    assert [task.id for task in got] == ids
    first = got[0]
    assert (first.queue, first.attempt, first.priority) == (qname, 1, 0)
    assert first.enqueued_at and first.lease_until and first.raw["id"] == first.id
    client.ack_many(got)


def test_put_options(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put("low")
    tasks.put("high", priority=5)
    tasks.put("later", delay=30)
    tasks.put("replied", reply_to="results-" + qname, ttr=5, max_attempts=2)
    stats = tasks.stats()
    assert (stats["ready"], stats["delayed"]) == (3, 1)
    assert [task.payload for task in tasks.peek(3)] == ["high", "low", "replied"]
    high = tasks.get(timeout=1)
    assert (high.payload, high.priority) == ("high", 5)
    tasks.get(timeout=1)
    replied = tasks.get(timeout=1)
    assert replied.reply_to == "results-" + qname
    assert tasks.qsize() == 1 and not tasks.empty()  # "later" is delayed


def test_put_many_with_shared_and_own_options(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    specs = ["a", "b", taskwire.TaskSpec("c", priority=9, reply_to="elsewhere"), taskwire.TaskSpec("d", priority=5)]
    ids = tasks.put_many(specs, reply_to="results")
    assert len(ids) == 4
    got = tasks.get_many(10, timeout=1)
    delivered = [(task.payload, task.reply_to) for task in got]
    assert delivered == [("c", "elsewhere"), ("d", "results"), ("a", "results"), ("b", "results")]
    assert tasks.put_many([]) == []


def test_get_many_returns_what_is_ready_up_to_max(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(range(5))
    assert [task.payload for task in tasks.get_many(3, timeout=1)] == [0, 1, 2]
    assert [task.payload for task in tasks.get_many(10, timeout=1)] == [3, 4]
    assert tasks.get_many(10, timeout=0) == []


def test_ack_with_result_routes_it_to_reply_to(client: taskwire.Client, qname: str) -> None:
    tasks, results = client.queue(qname), client.queue(qname + ".results")
    tasks.put("image_url_0", reply_to=results.name)
    tasks.put("image_url_1", reply_to=results.name)
    first, second = tasks.get(timeout=1), tasks.get(timeout=1)
    first.ack(f"{first.payload} ---> success")
    assert first.settled
    second.ack()  # no result: nothing is routed
    reply = results.get(timeout=2, auto_ack=True)
    assert reply.payload == {"taskId": first.id, "result": "image_url_0 ---> success"}
    assert reply.lease_until is None
    with pytest.raises(queue.Empty):
        results.get(timeout=0.2)
    totals = tasks.stats()["totals"]
    assert (totals["put"], totals["acked"]) == (2, 2)


def test_ack_of_null_result_is_routed(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put("x", reply_to=qname + ".r")
    tasks.get(timeout=1).ack(None)
    assert client.queue(qname + ".r").get(timeout=1, auto_ack=True).payload["result"] is None


def test_ack_many_with_results(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(["a", "b", "c"], reply_to=qname + ".r")
    got = tasks.get_many(3, timeout=1)
    assert client.ack_many([(got[0], "A"), (got[1].id, "B"), got[2]]) == 3
    replies = client.queue(qname + ".r").get_many(5, timeout=1, auto_ack=True)
    assert sorted(reply.payload["result"] for reply in replies) == ["A", "B"]


def test_nack_with_error_and_delay(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put("image_url_3")
    task = tasks.get(timeout=1)
    task.nack(error="HTTP 503 from img.example.com", delay=0.3)
    assert task.settled
    assert tasks.stats()["delayed"] == 1
    again = tasks.get(timeout=5)
    assert (again.id, again.attempt, again.last_error) == (task.id, 2, "HTTP 503 from img.example.com")
    tasks.nack(again, delay=0)
    assert tasks.get(timeout=1).attempt == 3


def test_nack_without_retry_dead_letters_at_once(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put("broken link")
    tasks.get(timeout=1).nack(error="HTTP 404", retry=False)
    dead = client.queue(qname + ".dead").get(timeout=1)
    assert (dead.payload, dead.dead_lettered_from, dead.last_error) == ("broken link", qname, "HTTP 404")
    assert tasks.stats()["dead"] == 1
    dead.ack()


def test_nack_many(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(["a", "b"])
    got = tasks.get_many(2, timeout=1)
    assert client.nack_many(got, error="later", delay=0) == 2
    assert {task.last_error for task in tasks.get_many(2, timeout=1)} == {"later"}


def test_touch_extends_the_lease(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(["a", "b"])
    first, second = tasks.get_many(2, timeout=1, ttr=5)
    before = first.lease_until
    assert first.touch(300) > before
    assert first.lease_until > before
    assert tasks.touch([first, second.id], ttr=100) > before


def test_join(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    assert tasks.join(timeout=0) is True
    tasks.put("image_url_0")
    assert tasks.join(timeout=0) is False
    task = tasks.get(timeout=1)
    started = time.monotonic()
    assert tasks.join(timeout=0.3) is False  # leased tasks count until acked
    assert time.monotonic() - started >= 0.25
    task.ack()
    assert tasks.join(timeout=1) is True


def test_peek_takes_nothing(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(["a", "b", "c"])
    peeked = tasks.peek(2)
    assert [task.payload for task in peeked] == ["a", "b"]
    assert peeked[0].lease_until is None
    assert tasks.stats()["leased"] == 0 and tasks.peek()[0].payload == "a"


def test_purge_removes_ready_and_delayed(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(["a", "b"])
    tasks.put("c", delay=60)
    held = tasks.get(timeout=1)
    assert tasks.purge() == 2
    stats = tasks.stats()
    assert (stats["ready"], stats["delayed"], stats["leased"]) == (0, 0, 1)
    held.ack()


def test_pause_holds_deliveries_until_resume(client: taskwire.Client, clients: list, manager: Manager, qname: str) -> None:
    tasks = client.queue(qname)
    assert tasks.pause()["paused"] is True
    tasks.put_many(["a", "b"])
    with pytest.raises(queue.Empty):
        tasks.get(timeout=0.3)
    assert (tasks.stats()["ready"], tasks.stats()["paused"]) == (2, True)
    # A get blocked in another thread is served by the resume.
    other = manager.connect(name="paused-getter")
    clients.append(other)
    got: list = []
    getter = threading.Thread(target=lambda: got.append(other.queue(qname).get(timeout=20)))
    getter.start()
    deadline = time.monotonic() + 10
    while tasks.stats()["waitingGetters"] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not got
    assert tasks.resume()["paused"] is False
    getter.join(20)
    assert [task.payload for task in got] == ["a"]
    got[0].ack()


def test_clients_lists_sessions(manager: Manager, client: taskwire.Client, clients: list) -> None:
    producer = manager.connect(name="registry-producer", role="producer")
    clients.append(producer)
    registry = {info["sessionId"]: info for info in client.clients()}
    assert registry[producer.session_id]["name"] == "registry-producer"
    assert registry[producer.session_id]["role"] == "producer"
    assert registry[client.session_id]["address"].startswith("127.0.0.1:")


def test_shutdown_stops_the_manager(start_manager, clients: list) -> None:
    server = start_manager()
    client = server.connect(reconnect=False)
    clients.append(client)
    client.shutdown_manager()
    assert server.process.wait(10) == 0
    with pytest.raises(taskwire.ConnectionClosed):
        client.ping()


def test_task_done_acks_the_oldest_task_of_this_thread(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.put_many(["a", "b"], reply_to=qname + ".r")
    first, second = tasks.get(timeout=1), tasks.get(timeout=1)
    tasks.task_done(result="done a")
    tasks.task_done(second, "done b")
    with pytest.raises(ValueError):
        tasks.task_done()
    assert tasks.join(timeout=1)
    replies = client.queue(qname + ".r").get_many(2, timeout=1, auto_ack=True)
    routed = {reply.payload["taskId"]: reply.payload["result"] for reply in replies}
    assert routed == {first.id: "done a", second.id: "done b"}


def test_queue_handles_are_shared_per_name(client: taskwire.Client, qname: str) -> None:
    assert client.queue(qname) is client.queue(qname)
    assert repr(client.queue(qname)) == f"<taskwire.Queue {qname!r}>"


def test_qsize_empty_full(client: taskwire.Client, qname: str) -> None:
    tasks = client.queue(qname)
    tasks.declare(maxsize=2)
    assert tasks.empty() and tasks.qsize() == 0 and not tasks.full()
    tasks.put_nowait("a")
    tasks.put("b")
    assert tasks.full() and tasks.qsize() == 2
    tasks.get_nowait()
    assert tasks.qsize() == 1 and tasks.full()  # a leased task still takes room


def test_queue_manager_like_the_seed(manager: Manager) -> None:
    class SeedManager(taskwire.QueueManager):
        pass

    SeedManager.register("get_task_queue")
    SeedManager.register("get_result_queue", callable=lambda: None)
    SeedManager.register("get_audit", queue="audit-log")
    assert not hasattr(taskwire.QueueManager, "get_task_queue")  # registrations stay with the subclass
    with pytest.raises(ValueError):
        SeedManager.register("tasks")

    seed = SeedManager(address=("127.0.0.1", manager.port), authkey=manager.key)
    with pytest.raises(taskwire.TaskwireError, match="taskwire serve"):
        seed.start()
    seed.connect()
    try:
        task, result = seed.get_task_queue(), seed.get_result_queue()
        assert (task.name, result.name, seed.get_audit().name) == ("tasks", "results", "audit-log")
        assert isinstance(task, taskwire.Queue)
        assert seed.client.ping()
    finally:
        seed.close()
    assert seed.client.closed
