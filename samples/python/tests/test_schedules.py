"""Schedules (spec §5.25) from the Python client against a real manager: set, list, a tick that
puts the task, delete (each set and delete an event), and the errors a user sees."""

from __future__ import annotations

import pytest

import taskwire
from conftest import wait_until


def test_schedule_set_tick_list_and_delete(client: taskwire.Client, qname: str) -> None:
    name = f"{qname}.pulse"
    seen = []
    client.subscribe(queues=[qname], kinds=["scheduled"], callback=seen.append)
    changes = []
    client.subscribe(queues=[qname], kinds=["schedule-set", "schedule-deleted"], callback=changes.append)
    outcome = client.schedule_set(name, qname, {"n": 1}, every=1, priority=3)
    assert outcome["created"] is True
    assert outcome["schedule"]["every"] == 1 and outcome["schedule"]["task"] == {"payload": {"n": 1}, "priority": 3}
    assert wait_until(lambda: len(seen) >= 1, timeout=5)
    assert (seen[0].kind, seen[0].schedule) == ("scheduled", name) and seen[0].task_id is not None
    task = client.queue(qname).get(timeout=2)
    assert (task.payload, task.priority) == ({"n": 1}, 3)
    task.ack()
    [listed] = client.schedule_list(qname)
    assert listed["name"] == name and listed["lastRun"]["taskId"] and listed["nextRun"]
    replaced = client.schedule_set(name, qname, "later", cron="30 2 * * *", timezone="Europe/Berlin")
    assert replaced["created"] is False and replaced["schedule"]["cron"] == "30 2 * * *"
    client.schedule_delete(name)
    assert client.schedule_list(qname) == []
    assert wait_until(lambda: len(changes) >= 3, timeout=5)
    assert [(e.kind, e.schedule, e.queue) for e in changes] == [
        ("schedule-set", name, qname),
        ("schedule-set", name, qname),
        ("schedule-deleted", name, qname),
    ]
    assert changes[0].client is not None and changes[0].client["sessionId"]
    with pytest.raises(taskwire.ScheduleNotFound) as missing:
        client.schedule_delete(name)
    assert str(missing.value) == f'schedule not found: no schedule is named "{name}"'
    assert missing.value.data["schedule"] == name


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"cron": "0 25 * * *"}, "/cron", 'invalid params: "cron" "0 25 * * *" is not a valid cron expression: Invalid value for hour: 25'),
        ({"cron": "0 9 * * *", "timezone": "Europe/Atlantis"}, "/timezone", 'invalid params: "timezone" "Europe/Atlantis" is not an IANA time zone this manager knows'),
        ({"every": 0.5}, "/every", None),
        ({}, "", 'invalid params: a schedule needs "cron" or "every"'),
    ],
)
def test_schedule_errors(client: taskwire.Client, qname: str, options: dict, field: str, message: str) -> None:
    with pytest.raises(taskwire.InvalidParams) as refused:
        client.schedule_set(f"{qname}.bad", qname, 1, **options)
    assert refused.value.data["field"] == field
    if message is not None:
        assert str(refused.value) == message
