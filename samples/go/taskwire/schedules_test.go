package taskwire_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// Schedules against a real manager (spec §5.25): set, a tick that puts the task with its
// scheduled event, list, replace, delete (each set and delete an event too), and the errors a
// caller sees.
func TestSchedulesSetTickListDelete(t *testing.T) {
	client := dial(t, taskwire.Options{Name: "go-schedules"})
	name := queueName(t)
	schedule := name + ".pulse"
	events, cancel, err := client.Subscribe(testContext(t), taskwire.EventFilter{Queues: []string{name}, Kinds: []taskwire.EventKind{taskwire.EventScheduled}})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	changes, cancelChanges, err := client.Subscribe(testContext(t), taskwire.EventFilter{Queues: []string{name}, Kinds: []taskwire.EventKind{taskwire.EventScheduleSet, taskwire.EventScheduleDeleted}})
	if err != nil {
		t.Fatal(err)
	}
	defer cancelChanges()
	set, created, err := client.SetSchedule(testContext(t), taskwire.ScheduleSpec{Name: schedule, Queue: name, Task: taskwire.TaskSpec{Payload: map[string]int{"n": 1}, Priority: 2}, Every: time.Second})
	if err != nil || !created || set.Every != 1 || set.NextRun.IsZero() {
		t.Fatalf("SetSchedule: %+v, %v, %v", set, created, err)
	}
	event := nextEvent(t, events, func(e taskwire.Event) bool { return e.Kind == taskwire.EventScheduled })
	if event.Schedule != schedule || event.TaskID == "" {
		t.Errorf("unexpected scheduled event %+v", event)
	}
	task := mustGet(t, client.Queue(name), taskwire.GetOptions{})
	if task.ID != event.TaskID || string(task.Payload) != `{"n":1}` || task.Priority != 2 {
		t.Errorf("unexpected task %+v (payload %s)", task, task.Payload)
	}
	listed, err := client.Schedules(testContext(t), name)
	if err != nil || len(listed) != 1 || listed[0].Name != schedule || listed[0].LastRun == nil || listed[0].LastRun.TaskID == "" {
		t.Fatalf("Schedules: %+v, %v", listed, err)
	}
	if _, created, err := client.SetSchedule(testContext(t), taskwire.ScheduleSpec{Name: schedule, Queue: name, Task: taskwire.TaskSpec{Payload: "x"}, Cron: "30 2 * * *", Timezone: "Europe/Berlin"}); err != nil || created {
		t.Fatalf("replace: created %v, %v", created, err)
	}
	if err := client.DeleteSchedule(testContext(t), schedule); err != nil {
		t.Fatal(err)
	}
	var kinds []taskwire.EventKind
	for range 3 {
		change := nextEvent(t, changes, func(taskwire.Event) bool { return true })
		if change.Schedule != schedule || change.Queue != name || change.Client == nil || change.Client.Name != "go-schedules" {
			t.Errorf("unexpected change event %+v", change)
		}
		kinds = append(kinds, change.Kind)
	}
	if want := []taskwire.EventKind{taskwire.EventScheduleSet, taskwire.EventScheduleSet, taskwire.EventScheduleDeleted}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("change events %v, want %v", kinds, want)
	}
	err = client.DeleteSchedule(testContext(t), schedule)
	var remote *taskwire.RemoteError
	if !errors.Is(err, taskwire.ErrScheduleNotFound) || !errors.As(err, &remote) || remote.Message != `schedule not found: no schedule is named "`+schedule+`"` {
		t.Errorf("deleting an unknown schedule: %v", err)
	}
}

func TestScheduleErrors(t *testing.T) {
	client := dial(t, taskwire.Options{Name: "go-schedule-errors"})
	name := queueName(t)
	cases := []struct {
		spec  taskwire.ScheduleSpec
		field string
	}{
		{taskwire.ScheduleSpec{Cron: "0 25 * * *"}, "/cron"},
		{taskwire.ScheduleSpec{Cron: "0 9 * * *", Timezone: "Europe/Atlantis"}, "/timezone"},
		{taskwire.ScheduleSpec{Every: 500 * time.Millisecond}, "/every"},
		{taskwire.ScheduleSpec{}, ""},
	}
	for _, c := range cases {
		c.spec.Name, c.spec.Queue, c.spec.Task = name+".bad", name, taskwire.TaskSpec{Payload: 1}
		_, _, err := client.SetSchedule(testContext(t), c.spec)
		var remote *taskwire.RemoteError
		if !errors.Is(err, taskwire.ErrInvalidParams) || !errors.As(err, &remote) || remote.Data == nil || remote.Data.Field != c.field {
			t.Errorf("%+v: want invalid params on %q, got %v", c.spec, c.field, err)
		}
	}
}
