package taskwire_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// A fake manager lets the tests play the server's part where the real one never
// misbehaves: a wrong serverProof, a result racing a cancellation, a frame error.

const fakeKey = "biu"

// fakePeer is one connection to the fake manager, seen from the server's side.
type fakePeer struct {
	t     *testing.T
	conn  net.Conn
	lines *bufio.Reader
}

// message is any JSON-RPC message, loosely typed for the fake's checks.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// fakeManager listens on a free port and runs serve on the first connection. serve
// returns an error to fail the test; the test waits for it before it ends.
func fakeManager(t *testing.T, serve func(p *fakePeer) error) string {
	t.Helper()
	return fakeManagers(t, serve)
}

// fakeManagers serves one connection with each of serves, in order, on one port; the port
// stops listening once the last of them is accepted.
func fakeManagers(t *testing.T, serves ...func(p *fakePeer) error) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		defer listener.Close()
		for i, serve := range serves {
			conn, err := listener.Accept()
			if i == len(serves)-1 {
				listener.Close()
			}
			if err != nil {
				done <- err
				return
			}
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			err = serve(&fakePeer{t: t, conn: conn, lines: bufio.NewReader(conn)})
			conn.Close()
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	t.Cleanup(func() {
		listener.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("fake manager: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("fake manager: did not finish")
		}
	})
	return listener.Addr().String()
}

// read reads the next frame, which must be a message with the given method.
func (p *fakePeer) read(method string) (message, error) {
	line, err := p.lines.ReadBytes('\n')
	if err != nil {
		return message{}, fmt.Errorf("waiting for %s: %w", method, err)
	}
	var msg message
	if err := json.Unmarshal(line, &msg); err != nil {
		return message{}, fmt.Errorf("not JSON: %q", line)
	}
	if msg.JSONRPC != "2.0" || msg.Method != method {
		return message{}, fmt.Errorf("want %s, got %s", method, line)
	}
	return msg, nil
}

// send writes one frame.
func (p *fakePeer) send(v any) error {
	frame, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.conn.Write(append(frame, '\n'))
	return err
}

// reply answers a request with a result.
func (p *fakePeer) reply(req message, result any) error {
	return p.send(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
}

// handshake plays the manager's part of the handshake with fakeKey; serverProofKey is
// the key the fake proves itself with (fakeKey for an honest peer). It checks what the
// client sends on the way.
func (p *fakePeer) handshake(serverProofKey string) error {
	hello, err := p.read("session/hello")
	if err != nil {
		return err
	}
	var params struct {
		ProtocolVersions []string `json:"protocolVersions"`
		Nonce            string   `json:"nonce"`
		Client           struct {
			Name     string `json:"name"`
			Language string `json:"language"`
			PID      int    `json:"pid"`
			Role     string `json:"role"`
		} `json:"client"`
	}
	if err := json.Unmarshal(hello.Params, &params); err != nil {
		return err
	}
	if raw, err := base64.StdEncoding.DecodeString(params.Nonce); err != nil || len(raw) != 32 || len(params.Nonce) != 44 {
		return fmt.Errorf("client nonce %q is not 32 bytes in padded base64", params.Nonce)
	}
	if strings.Join(params.ProtocolVersions, ",") != "2026-11,"+taskwire.ProtocolVersion || params.Client.Language != "go" || params.Client.Name == "" || params.Client.PID == 0 || params.Client.Role != "worker" {
		return fmt.Errorf("hello params %s", hello.Params)
	}
	serverNonceBytes := sha256.Sum256([]byte("fake server nonce"))
	serverNonce := base64.StdEncoding.EncodeToString(serverNonceBytes[:])
	if err := p.reply(hello, map[string]any{"protocolVersion": taskwire.ProtocolVersion, "nonce": serverNonce, "server": map[string]string{"name": "fake", "version": "0"}, "managerId": "m-fake"}); err != nil {
		return err
	}

	auth, err := p.read("session/authenticate")
	if err != nil {
		return err
	}
	var proof struct {
		Proof string `json:"proof"`
	}
	if err := json.Unmarshal(auth.Params, &proof); err != nil {
		return err
	}
	if want := hmacHex(fakeKey, "taskwire-client", serverNonce, params.Nonce); proof.Proof != want {
		return fmt.Errorf("client proof %s, want %s", proof.Proof, want)
	}
	return p.reply(auth, map[string]any{
		"sessionId":    "s-fake",
		"serverProof":  hmacHex(serverProofKey, "taskwire-server", serverNonce, params.Nonce),
		"capabilities": map[string]any{"events": true, "framings": []string{"ndjson"}, "autoCreateQueues": true},
		"limits":       map[string]any{"maxFrameBytes": 1 << 20, "maxPayloadBytes": 1 << 10, "maxBatch": 10, "maxSubscriptions": 1},
	})
}

func hmacHex(key, label, serverNonce, clientNonce string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(label + "\n" + serverNonce + "\n" + clientNonce + "\n" + taskwire.ProtocolVersion))
	return hex.EncodeToString(mac.Sum(nil))
}

func dialFake(t *testing.T, addr string) (*taskwire.Client, error) {
	client, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: addr, Authkey: []byte(fakeKey)})
	if err == nil {
		t.Cleanup(func() { client.Close() })
	}
	return client, err
}

func TestWrongServerProofIsRefused(t *testing.T) {
	addr := fakeManager(t, func(p *fakePeer) error {
		if err := p.handshake("a key the impostor guessed"); err != nil {
			return err
		}
		// The client must hang up without sending anything more (spec §4.3).
		if extra, err := p.lines.ReadBytes('\n'); !errors.Is(err, io.EOF) || len(extra) > 0 {
			return fmt.Errorf("after a wrong serverProof the client sent %q (%v)", extra, err)
		}
		return nil
	})
	_, err := dialFake(t, addr)
	if !errors.Is(err, taskwire.ErrServerProof) {
		t.Fatalf("want ErrServerProof, got %v", err)
	}
}

func TestRightServerProofIsAccepted(t *testing.T) {
	addr := fakeManager(t, func(p *fakePeer) error {
		if err := p.handshake(fakeKey); err != nil {
			return err
		}
		ping, err := p.read("session/ping")
		if err != nil {
			return err
		}
		return p.reply(ping, map[string]string{"time": "2026-11-03T09:14:07.512Z"})
	})
	client, err := dialFake(t, addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if client.SessionID() != "s-fake" || client.Limits().MaxBatch != 10 {
		t.Errorf("session %q, limits %+v", client.SessionID(), client.Limits())
	}
	if _, err := client.Ping(testContext(t)); err != nil {
		t.Fatal(err)
	}
}

// If the manager delivered a task before the cancellation reached it, it answers with the
// task (spec §6.2): Get returns it rather than leaving it leased to nobody.
func TestGetReturnsATaskThatRacedItsCancellation(t *testing.T) {
	addr := fakeManager(t, func(p *fakePeer) error {
		if err := p.handshake(fakeKey); err != nil {
			return err
		}
		get, err := p.read("queue/get")
		if err != nil {
			return err
		}
		cancel, err := p.read("$/cancelRequest")
		if err != nil {
			return err
		}
		if !strings.Contains(string(cancel.Params), string(get.ID)) {
			return fmt.Errorf("cancel %s does not name the get %s", cancel.Params, get.ID)
		}
		task := map[string]any{"id": "t-1", "queue": "tasks", "payload": "image_url_0", "attempt": 1, "priority": 0, "enqueuedAt": "2026-11-03T09:14:08.101Z", "leaseUntil": "2026-11-03T09:15:08.101Z"}
		return p.reply(get, map[string]any{"tasks": []any{task}})
	})
	client, err := dialFake(t, addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testContext(t), 200*time.Millisecond)
	defer cancel()
	task, err := client.Queue("tasks").Get(ctx, taskwire.GetOptions{})
	if err != nil || task.ID != "t-1" {
		t.Fatalf("want task t-1, got %v, %v", task, err)
	}
}

// An error answering a frame (id null) explains why the manager then closed the
// connection.
func TestFrameErrorExplainsTheClose(t *testing.T) {
	addr := fakeManager(t, func(p *fakePeer) error {
		if err := p.handshake(fakeKey); err != nil {
			return err
		}
		if _, err := p.read("session/ping"); err != nil {
			return err
		}
		return p.send(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": -32004, "message": "frame too large", "data": map[string]any{"limit": 1 << 20}}})
	})
	client, err := dialFake(t, addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Ping(testContext(t))
	if !errors.Is(err, taskwire.ErrClosed) || !errors.Is(err, taskwire.ErrFrameTooLarge) {
		t.Fatalf("want ErrClosed and ErrFrameTooLarge, got %v", err)
	}
}

// A manager whose shared store is away answers 1006 (spec §7.18): the request fails with
// ErrStoreUnavailable, its message and hint, and the connection goes on serving.
func TestStoreUnavailableFailsTheRequestNotTheConnection(t *testing.T) {
	addr := fakeManager(t, func(p *fakePeer) error {
		if err := p.handshake(fakeKey); err != nil {
			return err
		}
		put, err := p.read("queue/put")
		if err != nil {
			return err
		}
		failure := map[string]any{"code": 1006, "message": "store unavailable: the connection to redis://10.0.4.2:6379 was lost", "data": map[string]any{"reason": "store_unavailable", "retryAfter": 2.5}}
		if err := p.send(map[string]any{"jsonrpc": "2.0", "id": put.ID, "error": failure}); err != nil {
			return err
		}
		ping, err := p.read("session/ping")
		if err != nil {
			return err
		}
		return p.reply(ping, map[string]string{"time": "2026-11-03T09:14:07.512Z"})
	})
	client, err := dialFake(t, addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if client.ProtocolVersion() != "2026-12" || client.ManagerID() != "m-fake" {
		t.Errorf("protocol %q, manager %q", client.ProtocolVersion(), client.ManagerID())
	}
	_, err = client.Queue("jobs").Put(testContext(t), "image_url_0")
	if !errors.Is(err, taskwire.ErrStoreUnavailable) {
		t.Fatalf("want ErrStoreUnavailable, got %v", err)
	}
	var re *taskwire.RemoteError
	if !errors.As(err, &re) || re.Code != taskwire.CodeStoreUnavailable || re.Message != "store unavailable: the connection to redis://10.0.4.2:6379 was lost" || re.Data == nil || re.Data.Reason != "store_unavailable" || re.Data.RetryAfter != 2.5 {
		t.Fatalf("error %+v, data %+v", re, re.Data)
	}
	if err.Error() != "taskwire: store unavailable: the connection to redis://10.0.4.2:6379 was lost (error 1006)" {
		t.Errorf("message %q", err.Error())
	}
	if _, err := client.Ping(testContext(t)); err != nil {
		t.Fatalf("the connection should go on after a failed request: %v", err)
	}
}
