package taskwire_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"taskwire.dev/samples/go/internal/managertest"
	"taskwire.dev/samples/go/taskwire"
)

// The tests of this file stop, kill and start again managers of their own under running
// clients: the reference manager, on the same port, with --data-dir where tasks must
// survive.

// fastReconnect keeps the tests short; the schedule is the default one, scaled down.
var fastReconnect = taskwire.ReconnectOptions{InitialDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond}

// restartContext bounds a test that restarts a manager (a start takes up to a second or
// two of a busy machine).
func restartContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// dialOwn connects to a manager of the test's own; the client is closed when the test ends.
func dialOwn(t *testing.T, own *managertest.Manager, opts taskwire.Options) *taskwire.Client {
	t.Helper()
	opts.Addr, opts.AuthkeyFile = own.Addr, own.AuthkeyFile
	client, err := taskwire.Dial(testContext(t), opts)
	if err != nil {
		t.Fatalf("Dial: %v\nmanager log:\n%s", err, own.Log())
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// connectionLog records a client's connection events.
type connectionLog struct {
	mu      sync.Mutex
	events  []taskwire.ConnectionEvent
	changed chan struct{}
}

func newConnectionLog() *connectionLog { return &connectionLog{changed: make(chan struct{})} }

func (l *connectionLog) record(event taskwire.ConnectionEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, event)
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *connectionLog) all() []taskwire.ConnectionEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *connectionLog) count(kind taskwire.ConnectionEventKind) int {
	n := 0
	for _, event := range l.all() {
		if event.Kind == kind {
			n++
		}
	}
	return n
}

// waitFor returns the first recorded event that passes keep, failing the test after 30 s.
func (l *connectionLog) waitFor(t *testing.T, what string, keep func(taskwire.ConnectionEvent) bool) taskwire.ConnectionEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		i := slices.IndexFunc(l.events, keep)
		var event taskwire.ConnectionEvent
		if i >= 0 {
			event = l.events[i]
		}
		changed := l.changed
		l.mu.Unlock()
		if i >= 0 {
			return event
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no %s event in 30 s; events so far: %v", what, l.all())
		}
	}
}

func kind(k taskwire.ConnectionEventKind) func(taskwire.ConnectionEvent) bool {
	return func(e taskwire.ConnectionEvent) bool { return e.Kind == k }
}

// reconnectingAtLeast passes the Reconnecting event of attempt n: by then n-1 attempts
// have failed, so the client really is retrying against a manager that is down.
func reconnectingAtLeast(n int) func(taskwire.ConnectionEvent) bool {
	return func(e taskwire.ConnectionEvent) bool { return e.Kind == taskwire.Reconnecting && e.Attempt >= n }
}

// worked is what the worker loop did with one delivery.
type worked struct {
	id      string
	payload string
	attempt int
	ackErr  error
}

// workLoop is a worker as a program writes one: take a task, work, ack, and carry on
// through a dropped connection while the client reconnects. hold is called with each
// task before it is acked.
func workLoop(ctx context.Context, client *taskwire.Client, queue string, hold func(*taskwire.Task), done chan<- worked) error {
	tasks := client.Queue(queue)
	for {
		task, err := tasks.Get(ctx, taskwire.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The connection dropped under the get (or the manager is stopping): the next
			// get waits for the reconnect.
			if (errors.Is(err, taskwire.ErrClosed) || errors.Is(err, taskwire.ErrShuttingDown)) && client.WillReconnect() {
				continue
			}
			return err
		}
		var payload string
		if err := task.Decode(&payload); err != nil {
			return err
		}
		hold(task)
		err = task.Ack(ctx, payload+" ---> success")
		done <- worked{id: task.ID, payload: payload, attempt: task.Attempt, ackErr: err}
		if err != nil && !errors.Is(err, taskwire.ErrLeaseLost) {
			return err
		}
	}
}

func nextWorked(t *testing.T, done <-chan worked) worked {
	t.Helper()
	select {
	case w := <-done:
		return w
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did nothing for 30 s")
		return worked{}
	}
}

func TestWorkerCarriesOnAcrossAManagerRestart(t *testing.T) {
	own := startManager(t, "--data-dir", filepath.Join(t.TempDir(), "data"))
	events := newConnectionLog()
	worker := dialOwn(t, own, taskwire.Options{Name: "go-test-restart-worker", Reconnect: fastReconnect, OnConnectionEvent: events.record})
	producer := dialOwn(t, own, taskwire.Options{Name: "go-test-restart-producer", Role: taskwire.RoleProducer, Reconnect: fastReconnect})
	ctx := restartContext(t)
	firstSession := worker.SessionID()
	jobs := producer.Queue("jobs")

	held := make(chan *taskwire.Task, 1)
	release := make(chan struct{})
	done := make(chan worked, 16)
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopEnded := make(chan error, 1)
	go func() {
		loopEnded <- workLoop(loopCtx, worker, "jobs", func(task *taskwire.Task) {
			if string(task.Payload) == `"hold"` && task.Attempt == 1 {
				held <- task
				<-release // the manager restarts while this task is in hand
			}
		}, done)
	}()

	if _, err := jobs.Put(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if w := nextWorked(t, done); w.payload != "one" || w.ackErr != nil {
		t.Fatalf("before the restart: %+v", w)
	}
	holdID, err := jobs.Put(ctx, "hold")
	if err != nil {
		t.Fatal(err)
	}
	<-held
	queuedID, err := jobs.Put(ctx, "queued") // stays ready: the only worker is busy
	if err != nil {
		t.Fatal(err)
	}

	// The operator restarts the manager; the worker retries while it is down.
	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	disconnected := events.waitFor(t, "disconnected", kind(taskwire.Disconnected))
	if !errors.Is(disconnected.Err, taskwire.ErrClosed) {
		t.Errorf("disconnected because of %v, want an error wrapping ErrClosed", disconnected.Err)
	}
	events.waitFor(t, "second reconnect attempt", reconnectingAtLeast(2))
	if worker.Connected() || !worker.WillReconnect() || worker.Err() != nil {
		t.Fatalf("while the manager is down: connected %v, will reconnect %v, err %v", worker.Connected(), worker.WillReconnect(), worker.Err())
	}
	if err := own.StartAgain(); err != nil {
		t.Fatal(err)
	}
	reconnected := events.waitFor(t, "reconnected", kind(taskwire.Reconnected))
	if reconnected.SessionID == firstSession || reconnected.SessionID != worker.SessionID() || !worker.Connected() {
		t.Errorf("reconnected as session %q (first %q, now %q, connected %v)", reconnected.SessionID, firstSession, worker.SessionID(), worker.Connected())
	}

	// The task in hand was leased on the old connection: its ack says the lease is lost.
	close(release)
	lost := nextWorked(t, done)
	var leaseLost *taskwire.LeaseLostError
	if lost.id != holdID || !errors.As(lost.ackErr, &leaseLost) {
		t.Fatalf("the ack of the task held across the restart: %+v, want a *LeaseLostError", lost)
	}
	if !slices.Equal(leaseLost.IDs, []string{holdID}) || leaseLost.InFlight || !errors.Is(lost.ackErr, taskwire.ErrLeaseLost) ||
		!errors.Is(lost.ackErr, taskwire.ErrLeaseUnknown) || !errors.Is(lost.ackErr, taskwire.ErrClosed) {
		t.Errorf("lease lost error %+v: %v", leaseLost, lost.ackErr)
	}
	if !strings.Contains(lost.ackErr.Error(), holdID) {
		t.Errorf("the error does not name the task: %v", lost.ackErr)
	}

	// The data dir kept both tasks: the one held (released at shutdown, attempt 2) and the
	// one still queued. The same worker loop does both on the new connection.
	got := map[string]worked{}
	for range 2 {
		w := nextWorked(t, done)
		got[w.id] = w
	}
	if w := got[holdID]; w.attempt != 2 || w.ackErr != nil {
		t.Errorf("the held task after the restart: %+v, want attempt 2 acked", w)
	}
	if w := got[queuedID]; w.attempt != 1 || w.ackErr != nil {
		t.Errorf("the queued task after the restart: %+v, want attempt 1 acked", w)
	}

	// The producer reconnected too; new work reaches the worker.
	if _, err := jobs.Put(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if w := nextWorked(t, done); w.payload != "two" || w.attempt != 1 || w.ackErr != nil {
		t.Fatalf("after the restart: %+v", w)
	}
	if s, err := jobs.Stats(ctx); err != nil || s.Ready != 0 || s.Leased != 0 {
		t.Fatalf("stats %+v, %v: want nothing ready or leased", s, err)
	}

	stopLoop()
	if err := <-loopEnded; err != nil {
		t.Fatalf("the worker loop ended with %v", err)
	}
	checkEventOrder(t, events.all())
}

// checkEventOrder checks one drop's events: disconnected, reconnecting with attempts
// counting up and delays on the schedule, reconnected.
func checkEventOrder(t *testing.T, events []taskwire.ConnectionEvent) {
	t.Helper()
	if len(events) < 3 || events[0].Kind != taskwire.Disconnected || events[len(events)-1].Kind != taskwire.Reconnected {
		t.Fatalf("events %v", events)
	}
	for i, event := range events[1 : len(events)-1] {
		if event.Kind != taskwire.Reconnecting || event.Attempt != i+1 {
			t.Fatalf("event %d is %+v, want reconnecting attempt %d (events %v)", i+1, event, i+1, events)
		}
		if event.Delay < fastReconnect.InitialDelay/2 || event.Delay > fastReconnect.MaxDelay {
			t.Errorf("attempt %d waits %v, outside [%v, %v]", event.Attempt, event.Delay, fastReconnect.InitialDelay/2, fastReconnect.MaxDelay)
		}
		if (event.Attempt == 1) != (event.Err == nil) {
			t.Errorf("attempt %d: previous error %v", event.Attempt, event.Err)
		}
	}
}

func TestSubscriptionsAndWaitingCallsAcrossAManagerCrash(t *testing.T) {
	own := startManager(t, "--data-dir", filepath.Join(t.TempDir(), "data"))
	events := newConnectionLog()
	monitor := dialOwn(t, own, taskwire.Options{Name: "go-test-crash-monitor", Role: taskwire.RoleMonitor, Reconnect: fastReconnect, OnConnectionEvent: events.record})
	producer := dialOwn(t, own, taskwire.Options{Name: "go-test-crash-producer", Role: taskwire.RoleProducer, Reconnect: taskwire.ReconnectOptions{Disabled: true}})
	ctx := restartContext(t)
	watched := monitor.Queue("watched")

	puts, cancel, err := monitor.Subscribe(ctx, taskwire.EventFilter{Queues: []string{"watched"}, Kinds: []taskwire.EventKind{taskwire.EventPut}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := producer.Queue("watched").Put(ctx, "before")
	if err != nil {
		t.Fatal(err)
	}
	if event := nextEvent(t, puts, func(taskwire.Event) bool { return true }); event.TaskID != before {
		t.Fatalf("event %+v, want the put of %s", event, before)
	}

	// A get waiting on the manager when it dies.
	blocked := make(chan error, 1)
	go func() {
		_, err := monitor.Queue("idle").Get(ctx, taskwire.GetOptions{})
		blocked <- err
	}()
	eventually(t, "the get waits on the manager", func() bool {
		idle, err := monitor.Queue("idle").Stats(ctx)
		return err == nil && idle.WaitingGetters == 1
	})

	if err := own.Kill(); err != nil {
		t.Fatal(err)
	}
	// The waiting get fails (it may or may not have been applied: here it leased nothing,
	// as the manager died); a program calls again and that call waits for the reconnect.
	if err := <-blocked; !errors.Is(err, taskwire.ErrClosed) || !monitor.WillReconnect() {
		t.Fatalf("the get waiting when the manager died: %v (will reconnect: %v), want ErrClosed", err, monitor.WillReconnect())
	}
	// The client without reconnecting is done.
	if _, err := producer.Queue("watched").Put(ctx, "refused"); !errors.Is(err, taskwire.ErrClosed) {
		t.Fatalf("put on a client that does not reconnect: %v, want ErrClosed", err)
	}
	select {
	case <-producer.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client that does not reconnect is not done")
	}
	if producer.WillReconnect() || !errors.Is(producer.Err(), taskwire.ErrClosed) {
		t.Errorf("producer: will reconnect %v, err %v", producer.WillReconnect(), producer.Err())
	}

	// A call made while the manager is down waits for it to come back.
	events.waitFor(t, "second reconnect attempt", reconnectingAtLeast(2))
	type putResult struct {
		id  string
		err error
	}
	waiting := make(chan putResult, 1)
	go func() {
		id, err := watched.Put(ctx, "while down")
		waiting <- putResult{id, err}
	}()
	events.waitFor(t, "third reconnect attempt", reconnectingAtLeast(3))
	select {
	case r := <-waiting:
		t.Fatalf("a put made while the manager is down returned %+v before it came back", r)
	default:
	}
	if err := own.StartAgain(); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, "reconnected", kind(taskwire.Reconnected))
	var whileDown putResult
	select {
	case whileDown = <-waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("the put made while the manager was down did not complete after it came back")
	}
	if whileDown.err != nil {
		t.Fatal(whileDown.err)
	}

	// The subscription was made again on the new connection, on the same channel: its
	// next event is the put above (made on the new connection), not a closed channel.
	if event := nextEvent(t, puts, func(taskwire.Event) bool { return true }); event.TaskID != whileDown.id {
		t.Fatalf("event %+v after the crash, want the put of %s", event, whileDown.id)
	}
	producer2 := dialOwn(t, own, taskwire.Options{Name: "go-test-crash-producer-2", Role: taskwire.RoleProducer})
	after, err := producer2.Queue("watched").Put(ctx, "after")
	if err != nil {
		t.Fatal(err)
	}
	if event := nextEvent(t, puts, func(taskwire.Event) bool { return true }); event.TaskID != after {
		t.Fatalf("event %+v, want the put of %s", event, after)
	}
	// The answered put of before the crash is still there (--data-dir, fsync always).
	if s, err := watched.Stats(ctx); err != nil || s.Ready != 3 {
		t.Fatalf("stats %+v, %v: want 3 ready (before, while down, after)", s, err)
	}
	cancel()
	closesSoon(t, puts)
}

func TestWrongKeyAfterARestartStopsReconnecting(t *testing.T) {
	own := startManager(t)
	events := newConnectionLog()
	client := dialOwn(t, own, taskwire.Options{Name: "go-test-rekeyed", Reconnect: fastReconnect, OnConnectionEvent: events.record})
	ctx := testContext(t)
	subscribed, _, err := client.Subscribe(ctx, taskwire.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}

	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own.AuthkeyFile, []byte("a key the client does not have\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := own.StartAgain(); err != nil {
		t.Fatal(err)
	}

	gaveUp := events.waitFor(t, "gave-up", kind(taskwire.GaveUp))
	if !errors.Is(gaveUp.Err, taskwire.ErrAuthenticationFailed) || !strings.Contains(gaveUp.Err.Error(), "stopped reconnecting to the manager at "+own.Addr) {
		t.Fatalf("gave up with %v, want ErrAuthenticationFailed naming %s", gaveUp.Err, own.Addr)
	}
	select {
	case <-client.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done is not closed after giving up")
	}
	if !errors.Is(client.Err(), taskwire.ErrAuthenticationFailed) || client.WillReconnect() || client.Connected() {
		t.Errorf("after giving up: err %v, will reconnect %v, connected %v", client.Err(), client.WillReconnect(), client.Connected())
	}
	// Every request now fails with the reason, at once.
	if _, err := client.Ping(ctx); !errors.Is(err, taskwire.ErrAuthenticationFailed) {
		t.Errorf("ping after giving up: %v, want ErrAuthenticationFailed", err)
	}
	if err := client.WaitConnected(ctx); !errors.Is(err, taskwire.ErrAuthenticationFailed) {
		t.Errorf("WaitConnected after giving up: %v, want ErrAuthenticationFailed", err)
	}
	closesSoon(t, subscribed)

	// It stopped trying: no attempt after the one the key failed, even after several of
	// the longest delays.
	attempts := events.count(taskwire.Reconnecting)
	time.Sleep(4 * fastReconnect.MaxDelay)
	if n := events.count(taskwire.Reconnecting); n != attempts || events.count(taskwire.Reconnected) != 0 {
		t.Errorf("events after giving up: %v", events.all())
	}
}

func TestCloseDuringBackOffReturnsPromptly(t *testing.T) {
	own := startManager(t)
	events := newConnectionLog()
	// A back-off far longer than the test may take: Close must not wait for it.
	slow := taskwire.ReconnectOptions{InitialDelay: 10 * time.Minute, MaxDelay: 10 * time.Minute}
	client := dialOwn(t, own, taskwire.Options{Name: "go-test-closed-while-down", Reconnect: slow, OnConnectionEvent: events.record})

	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	reconnecting := events.waitFor(t, "reconnecting", kind(taskwire.Reconnecting))
	if reconnecting.Delay < 5*time.Minute {
		t.Fatalf("first delay %v, want at least half of 10 min", reconnecting.Delay)
	}
	// A call without a deadline waits for the reconnect...
	waiting := make(chan error, 1)
	go func() {
		_, err := client.Ping(context.Background())
		waiting <- err
	}()

	// ...and Close ends both the back-off and the wait.
	closed := make(chan struct{})
	go func() {
		client.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s during a back-off of 5 to 10 min")
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, taskwire.ErrClosed) || !strings.Contains(err.Error(), "the client was closed") {
			t.Errorf("the waiting ping: %v, want ErrClosed (the client was closed)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the ping waiting for the reconnect did not return after Close")
	}
	if client.WillReconnect() || !errors.Is(client.Err(), taskwire.ErrClosed) {
		t.Errorf("after Close: will reconnect %v, err %v", client.WillReconnect(), client.Err())
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	own := startManager(t)
	events := newConnectionLog()
	client := dialOwn(t, own, taskwire.Options{
		Name:              "go-test-gives-up",
		Reconnect:         taskwire.ReconnectOptions{InitialDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxAttempts: 3},
		OnConnectionEvent: events.record,
	})
	if err := own.Stop(); err != nil { // and it never comes back
		t.Fatal(err)
	}
	gaveUp := events.waitFor(t, "gave-up", kind(taskwire.GaveUp))
	if !errors.Is(gaveUp.Err, taskwire.ErrClosed) || !strings.Contains(gaveUp.Err.Error(), "gave up reconnecting to the manager at "+own.Addr+" after 3 attempts") {
		t.Fatalf("gave up with %v", gaveUp.Err)
	}
	if n := events.count(taskwire.Reconnecting); n != 3 {
		t.Errorf("%d attempts, want 3: %v", n, events.all())
	}
	if _, err := client.Ping(testContext(t)); err == nil || err.Error() != gaveUp.Err.Error() {
		t.Errorf("ping after giving up: %v, want %v", err, gaveUp.Err)
	}
}

func TestReconnectDisabled(t *testing.T) {
	own := startManager(t)
	events := newConnectionLog()
	client := dialOwn(t, own, taskwire.Options{Name: "go-test-no-reconnect", Reconnect: taskwire.ReconnectOptions{Disabled: true}, OnConnectionEvent: events.record})
	if client.WillReconnect() {
		t.Error("WillReconnect with reconnecting disabled")
	}
	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	disconnected := events.waitFor(t, "disconnected", kind(taskwire.Disconnected))
	if !errors.Is(disconnected.Err, taskwire.ErrClosed) {
		t.Errorf("disconnected with %v", disconnected.Err)
	}
	if err := own.StartAgain(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Ping(testContext(t)); !errors.Is(err, taskwire.ErrClosed) {
		t.Fatalf("ping after the drop: %v, want ErrClosed", err)
	}
	if client.Connected() || len(events.all()) != 1 {
		t.Errorf("connected %v, events %v: want one disconnected event and nothing more", client.Connected(), events.all())
	}
}

// Retrying cannot fix a peer that cannot prove the key or a manager that speaks none of
// our versions: the client stops at the first such answer.
func TestReconnectStopsAtAnImpostorOrAVersionMismatch(t *testing.T) {
	// An honest manager that answers one ping and goes away.
	honestThenGone := func(p *fakePeer) error {
		if err := p.handshake(fakeKey); err != nil {
			return err
		}
		ping, err := p.read("session/ping")
		if err != nil {
			return err
		}
		return p.reply(ping, map[string]string{"time": "2026-11-03T09:14:07.512Z"})
	}
	cases := []struct {
		name  string
		then  func(p *fakePeer) error
		match error
	}{
		{"impostor", func(p *fakePeer) error { return p.handshake("a key the impostor guessed") }, taskwire.ErrServerProof},
		{"version", func(p *fakePeer) error {
			hello, err := p.read("session/hello")
			if err != nil {
				return err
			}
			return p.send(map[string]any{"jsonrpc": "2.0", "id": hello.ID, "error": map[string]any{
				"code": -32003, "message": "unsupported protocol version", "data": map[string]any{"supported": []string{"2031-01"}},
			}})
		}, taskwire.ErrUnsupportedProtocolVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := fakeManagers(t, honestThenGone, c.then)
			events := newConnectionLog()
			client, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: addr, Authkey: []byte(fakeKey), Reconnect: fastReconnect, OnConnectionEvent: events.record})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close() })
			if _, err := client.Ping(testContext(t)); err != nil {
				t.Fatal(err)
			}
			gaveUp := events.waitFor(t, "gave-up", kind(taskwire.GaveUp))
			if !errors.Is(gaveUp.Err, c.match) || !errors.Is(client.Err(), c.match) {
				t.Fatalf("gave up with %v (client error %v), want %v", gaveUp.Err, client.Err(), c.match)
			}
			if _, err := client.Ping(testContext(t)); !errors.Is(err, c.match) {
				t.Errorf("ping: %v, want %v", err, c.match)
			}
			if n := events.count(taskwire.Reconnecting); n != 1 {
				t.Errorf("%d attempts, want 1: %v", n, events.all())
			}
		})
	}
}
