package taskwire_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"taskwire.dev/samples/go/internal/managertest"
	"taskwire.dev/samples/go/taskwire"
)

// Several manager addresses: the client connects to the first that completes the handshake
// and fails over to the next when its manager goes away. Two managers here do not share
// queues (that takes the Redis store), so each test puts its tasks on the manager the
// client is connected to.

// noBackOffNeeded would fail the tests if moving to the next manager waited for the back-off.
var noBackOffNeeded = taskwire.ReconnectOptions{InitialDelay: time.Minute, MaxDelay: time.Minute}

// twoManagers starts two managers with one key; both are stopped when the test ends.
func twoManagers(t *testing.T) (*managertest.Manager, *managertest.Manager) {
	t.Helper()
	first := startManager(t)
	second, err := first.StartAnother()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := second.Stop(); err != nil {
			t.Error(err)
		}
	})
	return first, second
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return addr
}

func dialList(t *testing.T, keyFile string, opts taskwire.Options) *taskwire.Client {
	t.Helper()
	opts.AuthkeyFile = keyFile
	client, err := taskwire.Dial(testContext(t), opts)
	if err != nil {
		t.Fatalf("Dial %q: %v", opts.Addrs, err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func refusedAt(addr string) string {
	return "cannot connect to the manager at " + addr + ": dial tcp " + addr + ": connect: connection refused"
}

func TestFailoverFirstAddressDownConnectsToTheSecond(t *testing.T) {
	down := freeAddr(t)
	client := dialList(t, manager.AuthkeyFile, taskwire.Options{Addrs: []string{down, manager.Addr}, Reconnect: taskwire.ReconnectOptions{Disabled: true}})
	if client.Addr() != manager.Addr || !slices.Equal(client.Addrs(), []string{down, manager.Addr}) {
		t.Fatalf("Addr %q, Addrs %q", client.Addr(), client.Addrs())
	}
	if _, err := client.Ping(testContext(t)); err != nil {
		t.Fatal(err)
	}
	// The same as a comma-separated Addr, and as $TASKWIRE_HOST with $TASKWIRE_PORT.
	byString := dialList(t, manager.AuthkeyFile, taskwire.Options{Addr: down + " , " + manager.Addr})
	if byString.Addr() != manager.Addr {
		t.Errorf("Addr as a list: connected to %q", byString.Addr())
	}
	_, port, _ := net.SplitHostPort(manager.Addr)
	t.Setenv("TASKWIRE_HOST", down+",127.0.0.1")
	t.Setenv("TASKWIRE_PORT", port)
	byEnv := dialList(t, manager.AuthkeyFile, taskwire.Options{})
	if byEnv.Addr() != manager.Addr {
		t.Errorf("TASKWIRE_HOST as a list: connected to %q", byEnv.Addr())
	}
}

func TestFailoverEveryAddressDownNamesEachOne(t *testing.T) {
	first, second := freeAddr(t), freeAddr(t)
	_, err := taskwire.Dial(testContext(t), taskwire.Options{Addrs: []string{first, second}, Authkey: []byte("k")})
	var none *taskwire.NoManagerReachableError
	if !errors.As(err, &none) {
		t.Fatalf("got %v, want a *NoManagerReachableError", err)
	}
	want := "taskwire: cannot connect to any of 2 managers: " + refusedAt(first) + "; " + refusedAt(second)
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if len(none.Failures) != 2 || none.Failures[0].Addr != first || none.Failures[1].Addr != second {
		t.Errorf("failures %+v", none.Failures)
	}
}

func TestFailoverWrongKeyAtTheFirstAddressStopsWithTheAuthError(t *testing.T) {
	untouched, err := net.Listen("tcp", "127.0.0.1:0") // must never be connected to
	if err != nil {
		t.Fatal(err)
	}
	defer untouched.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if conn, err := untouched.Accept(); err == nil {
			accepted <- struct{}{}
			conn.Close()
		}
	}()
	_, err = taskwire.Dial(testContext(t), taskwire.Options{Addrs: []string{manager.Addr, untouched.Addr().String()}, Authkey: []byte("not the key")})
	if !errors.Is(err, taskwire.ErrAuthenticationFailed) {
		t.Fatalf("got %v, want ErrAuthenticationFailed", err)
	}
	if want := "taskwire: authentication failed (error -32001) (handshake with " + manager.Addr + ")"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	select {
	case <-accepted:
		t.Error("the second address was tried after a wrong key at the first")
	case <-time.After(300 * time.Millisecond):
	}
}

func TestFailoverRandomStartSpreadsClients(t *testing.T) {
	first, second := twoManagers(t)
	seen := map[string]bool{}
	// All 24 on one of two managers happens once in 8 million runs.
	for range 24 {
		client := dialList(t, first.AuthkeyFile, taskwire.Options{Addrs: []string{first.Addr, second.Addr}, RandomStart: true})
		seen[client.Addr()] = true
	}
	if !seen[first.Addr] || !seen[second.Addr] {
		t.Errorf("clients went to %v only", seen)
	}
	for range 5 {
		if client := dialList(t, first.AuthkeyFile, taskwire.Options{Addrs: []string{first.Addr, second.Addr}}); client.Addr() != first.Addr {
			t.Errorf("in order by default: connected to %s", client.Addr())
		}
	}
}

func TestFailoverWorkerGoesOnViaTheOtherManagerWhenItsManagerIsKilled(t *testing.T) {
	first, second := twoManagers(t)
	events := newConnectionLog()
	worker := dialList(t, first.AuthkeyFile, taskwire.Options{
		Addrs: []string{first.Addr, second.Addr}, Name: "go-failover-worker", Reconnect: noBackOffNeeded, OnConnectionEvent: events.record,
	})
	ctx := restartContext(t)
	done := make(chan worked, 16)
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopEnded := make(chan error, 1)
	go func() { loopEnded <- workLoop(loopCtx, worker, "jobs", func(*taskwire.Task) {}, done) }()

	producer := dialList(t, first.AuthkeyFile, taskwire.Options{Addr: first.Addr, Role: taskwire.RoleProducer, Reconnect: taskwire.ReconnectOptions{Disabled: true}})
	if _, err := producer.Queue("jobs").Put(ctx, "on the first manager"); err != nil {
		t.Fatal(err)
	}
	if w := nextWorked(t, done); w.payload != "on the first manager" || w.ackErr != nil {
		t.Fatalf("before the kill: %+v", w)
	}

	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	reconnected := events.waitFor(t, "reconnected", kind(taskwire.Reconnected))
	if reconnected.Addr != second.Addr || worker.Addr() != second.Addr {
		t.Fatalf("reconnected to %q (Addr %q), want %s", reconnected.Addr, worker.Addr(), second.Addr)
	}
	all := events.all()
	if len(all) != 3 || all[1].Kind != taskwire.Reconnecting || all[1].Attempt != 1 || all[1].Delay != 0 {
		t.Errorf("events %+v: want disconnected, reconnecting attempt 1 at once, reconnected", all)
	}

	producer2 := dialList(t, first.AuthkeyFile, taskwire.Options{Addr: second.Addr, Role: taskwire.RoleProducer})
	if _, err := producer2.Queue("jobs").Put(ctx, "on the second manager"); err != nil {
		t.Fatal(err)
	}
	if w := nextWorked(t, done); w.payload != "on the second manager" || w.ackErr != nil {
		t.Fatalf("after the kill: %+v", w)
	}
	clients, err := producer2.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(clients, func(c taskwire.ClientInfo) bool { return c.Name == "go-failover-worker" }) {
		t.Errorf("the worker is not in the second manager's registry: %+v", clients)
	}
	stopLoop()
	if err := <-loopEnded; err != nil {
		t.Fatalf("the worker loop ended with %v", err)
	}
}

func TestFailoverWrongKeyAtTheNextAddressStopsReconnecting(t *testing.T) {
	good := startManager(t)
	wrong := startManager(t) // a key of its own
	events := newConnectionLog()
	client := dialList(t, good.AuthkeyFile, taskwire.Options{Addrs: []string{good.Addr, wrong.Addr}, Reconnect: fastReconnect, OnConnectionEvent: events.record})
	if err := good.Stop(); err != nil {
		t.Fatal(err)
	}
	gaveUp := events.waitFor(t, "gave-up", kind(taskwire.GaveUp))
	want := fmt.Sprintf("taskwire: stopped reconnecting to the managers at %s, %s: taskwire: authentication failed (error -32001) (handshake with %s)", good.Addr, wrong.Addr, wrong.Addr)
	if !errors.Is(gaveUp.Err, taskwire.ErrAuthenticationFailed) || gaveUp.Err.Error() != want {
		t.Fatalf("gave up with %q, want ErrAuthenticationFailed %q", gaveUp.Err, want)
	}
	if _, err := client.Ping(testContext(t)); !errors.Is(err, taskwire.ErrAuthenticationFailed) {
		t.Errorf("ping after giving up: %v", err)
	}
}

func TestFailoverGivingUpNamesEveryAddress(t *testing.T) {
	first, second := twoManagers(t)
	events := newConnectionLog()
	reconnect := taskwire.ReconnectOptions{InitialDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxAttempts: 3}
	dialList(t, first.AuthkeyFile, taskwire.Options{Addrs: []string{first.Addr, second.Addr}, Reconnect: reconnect, OnConnectionEvent: events.record})
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, "reconnected", kind(taskwire.Reconnected))
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	gaveUp := events.waitFor(t, "gave-up", kind(taskwire.GaveUp))
	want := fmt.Sprintf("taskwire: connection closed: gave up reconnecting to the managers at %s, %s after 3 attempts: taskwire: cannot reconnect to any of 2 managers: %s; %s",
		first.Addr, second.Addr, refusedAt(first.Addr), refusedAt(second.Addr))
	if !errors.Is(gaveUp.Err, taskwire.ErrClosed) || gaveUp.Err.Error() != want {
		t.Errorf("gave up with\n %s\nwant\n %s", gaveUp.Err, want)
	}
	if strings.Count(gaveUp.Err.Error(), "connection refused") != 2 {
		t.Errorf("each address once: %s", gaveUp.Err)
	}
}
