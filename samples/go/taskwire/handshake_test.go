package taskwire_test

import (
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

func TestHandshakeOpensASession(t *testing.T) {
	client := dial(t, taskwire.Options{})
	if client.SessionID() == "" {
		t.Error("no session id")
	}
	// The client offers 2026-11 and 2026-12; the reference manager chooses 2026-12 and says
	// which manager it is, also on the registry's entries (spec §7.18).
	if got := client.ProtocolVersion(); got != "2026-12" {
		t.Errorf("protocol version %q, want 2026-12", got)
	}
	if !strings.HasPrefix(client.ManagerID(), "m-") || len(client.ManagerID()) != 14 {
		t.Errorf("manager id %q", client.ManagerID())
	}
	registry, err := client.Clients(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range registry {
		if info.SessionID == client.SessionID() && info.Manager != client.ManagerID() {
			t.Errorf("the registry puts this session on manager %q, the hello said %q", info.Manager, client.ManagerID())
		}
	}
	limits := client.Limits()
	if limits.MaxPayloadBytes != 65536 || limits.MaxBatch != 100 || limits.MaxFrameBytes <= limits.MaxPayloadBytes {
		t.Errorf("limits %+v do not match the manager's options %v", limits, sharedManagerArgs)
	}
	caps := client.Capabilities()
	if !caps.Events || !caps.AutoCreateQueues || !slices.Contains(caps.Framings, "ndjson") {
		t.Errorf("capabilities %+v", caps)
	}
	now, err := client.Ping(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(now); d > time.Minute || d < -time.Minute {
		t.Errorf("the manager's clock %v is far from ours", now)
	}
}

func TestWrongKeyFailsAuthentication(t *testing.T) {
	const wrongKey = "not-the-key-4b1d"
	_, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: manager.Addr, Authkey: []byte(wrongKey)})
	if !errors.Is(err, taskwire.ErrAuthenticationFailed) {
		t.Fatalf("want ErrAuthenticationFailed, got %v", err)
	}
	if errors.Is(err, taskwire.ErrServerProof) || errors.Is(err, taskwire.ErrQueueFull) {
		t.Errorf("%v matches sentinels of other errors", err)
	}
	if code := remote(t, err).Code; code != taskwire.CodeAuthenticationFailed {
		t.Errorf("code %d", code)
	}
	if strings.Contains(err.Error(), wrongKey) {
		t.Errorf("the error shows the key: %v", err)
	}
}

func TestKeyAndAddressFromTheEnvironment(t *testing.T) {
	host, port, _ := net.SplitHostPort(manager.Addr)
	t.Setenv("TASKWIRE_HOST", host)
	t.Setenv("TASKWIRE_PORT", port)
	t.Setenv("TASKWIRE_AUTHKEY", "")
	t.Setenv("TASKWIRE_AUTHKEY_FILE", manager.AuthkeyFile)
	client, err := taskwire.Dial(testContext(t), taskwire.Options{})
	if err != nil {
		t.Fatalf("Dial with TASKWIRE_HOST, TASKWIRE_PORT and TASKWIRE_AUTHKEY_FILE: %v", err)
	}
	client.Close()

	t.Setenv("TASKWIRE_AUTHKEY_FILE", "")
	t.Setenv("TASKWIRE_AUTHKEY", string(manager.Authkey))
	client, err = taskwire.Dial(testContext(t), taskwire.Options{Addr: host})
	if err != nil {
		t.Fatalf("Dial with TASKWIRE_AUTHKEY and a host without port: %v", err)
	}
	client.Close()
}

func TestDialWithNoManagerListening(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	_, err = taskwire.Dial(testContext(t), taskwire.Options{Addr: addr, Authkey: []byte("k")})
	if err == nil || errors.Is(err, taskwire.ErrAuthenticationFailed) {
		t.Fatalf("want a connection error, got %v", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("the error does not name the address: %v", err)
	}
}

func TestDialWithoutAnyKey(t *testing.T) {
	t.Setenv("TASKWIRE_AUTHKEY", "")
	t.Setenv("TASKWIRE_AUTHKEY_FILE", "")
	t.Setenv("TASKWIRE_HOME", t.TempDir())
	_, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: manager.Addr})
	if !errors.Is(err, taskwire.ErrNoAuthkey) {
		t.Fatalf("want ErrNoAuthkey, got %v", err)
	}
}

func TestClientsShowsTheGoWorker(t *testing.T) {
	client := dial(t, taskwire.Options{Name: "go-test-worker", Role: taskwire.RoleWorker, Labels: map[string]string{"zone": "a"}})
	q := client.Queue(queueName(t))
	mustPut(t, q, "x")
	mustGet(t, q, taskwire.GetOptions{})

	clients, err := client.Clients(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(clients, func(c taskwire.ClientInfo) bool { return c.SessionID == client.SessionID() })
	if i < 0 {
		t.Fatalf("session %s not in the registry %+v", client.SessionID(), clients)
	}
	me := clients[i]
	if me.Language != "go" || me.Name != "go-test-worker" || me.Role != taskwire.RoleWorker || me.Version != taskwire.Version {
		t.Errorf("registry entry %+v", me)
	}
	if me.Labels["zone"] != "a" || me.Leased != 1 || me.Address == "" || me.ConnectedAt.IsZero() {
		t.Errorf("registry entry %+v", me)
	}
	if me.PID != os.Getpid() {
		t.Errorf("pid %d, want %d", me.PID, os.Getpid())
	}
}
