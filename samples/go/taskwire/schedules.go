package taskwire

import (
	"context"
	"encoding/json"
	"time"
)

// Schedule is a schedule as the manager keeps it (protocol 2026-12, spec §5.25): the task it
// puts on Queue at each tick of Cron (read in Timezone) or every Every seconds.
type Schedule struct {
	Name     string          `json:"name"`
	Queue    string          `json:"queue"`
	Task     json.RawMessage `json:"task"` // the task spec, as the wire has it
	Cron     string          `json:"cron,omitempty"`
	Timezone string          `json:"timezone,omitempty"`
	Every    float64         `json:"every,omitempty"` // seconds
	StartAt  *time.Time      `json:"startAt,omitempty"`
	NextRun  time.Time       `json:"nextRun"`
	LastRun  *ScheduleRun    `json:"lastRun,omitempty"`
}

// ScheduleRun is a tick that ran: the task it put, or why it put none (Skipped).
type ScheduleRun struct {
	At      time.Time `json:"at"`
	TaskID  string    `json:"taskId,omitempty"`
	Skipped string    `json:"skipped,omitempty"`
}

// ScheduleSpec is what SetSchedule takes: exactly one of Cron and Every.
type ScheduleSpec struct {
	Name  string
	Queue string
	Task  TaskSpec
	// Cron is a cron expression (5 fields, or 6 with seconds first), read in Timezone (an
	// IANA zone; empty: UTC).
	Cron     string
	Timezone string
	// Every is a fixed interval (at least a second).
	Every time.Duration
	// StartAt, when set: no tick before it; with Every, the first tick.
	StartAt time.Time
}

type scheduleSetParams struct {
	Name     string       `json:"name"`
	Queue    string       `json:"queue"`
	Task     wireTaskSpec `json:"task"`
	Cron     string       `json:"cron,omitempty"`
	Timezone string       `json:"timezone,omitempty"`
	Every    *float64     `json:"every,omitempty"`
	StartAt  *time.Time   `json:"startAt,omitempty"`
}

// SetSchedule creates or replaces (by name) a schedule; it reports whether it created one.
// A bad cron expression, an unknown zone or an interval under a second are ErrInvalidParams,
// with the field in Data.Field.
func (c *Client) SetSchedule(ctx context.Context, spec ScheduleSpec) (Schedule, bool, error) {
	task, err := (&putSettings{}).wireSpec(spec.Task)
	if err != nil {
		return Schedule{}, false, err
	}
	params := scheduleSetParams{Name: spec.Name, Queue: spec.Queue, Task: task, Cron: spec.Cron, Timezone: spec.Timezone, Every: seconds(spec.Every)}
	if !spec.StartAt.IsZero() {
		at := spec.StartAt.UTC()
		params.StartAt = &at
	}
	var result struct {
		Schedule Schedule `json:"schedule"`
		Created  bool     `json:"created"`
	}
	err = c.call(ctx, "schedule/set", params, &result, nil)
	return result.Schedule, result.Created, err
}

// Schedules lists the schedules by name; only queue's when queue is not empty.
func (c *Client) Schedules(ctx context.Context, queue string) ([]Schedule, error) {
	params := struct {
		Queue string `json:"queue,omitempty"`
	}{queue}
	var result struct {
		Schedules []Schedule `json:"schedules"`
	}
	err := c.call(ctx, "schedule/list", params, &result, nil)
	return result.Schedules, err
}

// DeleteSchedule deletes a schedule; ErrScheduleNotFound when there is none of that name.
func (c *Client) DeleteSchedule(ctx context.Context, name string) error {
	params := struct {
		Name string `json:"name"`
	}{name}
	return c.call(ctx, "schedule/delete", params, &struct{}{}, nil)
}
