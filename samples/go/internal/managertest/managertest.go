// Package managertest runs the repository's reference manager (`taskwire serve`) as a
// child process, so that tests talk to the real thing over a real socket.
package managertest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds the wait for the manager's "ready" line; node starts in well under
// a second, but CI machines can be slow.
const startTimeout = 20 * time.Second

// stopTimeout bounds a graceful shutdown before the manager is killed.
const stopTimeout = 10 * time.Second

// Manager is a running `taskwire serve`.
type Manager struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// AuthkeyFile holds Authkey, as `taskwire serve` writes keys.
	AuthkeyFile string
	// Authkey is the key.
	Authkey []byte

	dir    string
	args   []string
	cmd    *exec.Cmd
	output *lockedBuffer
	exited chan struct{}
}

// Start writes a fresh key into dir and starts a manager on a free port of 127.0.0.1 with
// it, with args added to `serve` (for example "--queue", "bounded:maxsize=1"). It returns
// once the manager logged that it is ready.
func Start(dir string, args ...string) (*Manager, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	m := &Manager{AuthkeyFile: filepath.Join(dir, "authkey"), Authkey: []byte(hex.EncodeToString(key)), output: &lockedBuffer{}, dir: dir, args: args}
	if err := os.WriteFile(m.AuthkeyFile, append(bytes.Clone(m.Authkey), '\n'), 0o600); err != nil {
		return nil, err
	}
	if err := m.start(0); err != nil {
		return nil, err
	}
	return m, nil
}

// StartAnother starts one more manager with m's key file and the given args, on a free
// port of its own: a second manager a client with that key can fail over to. (Two managers
// on the memory store do not share queues.)
func (m *Manager) StartAnother(args ...string) (*Manager, error) {
	other := &Manager{AuthkeyFile: m.AuthkeyFile, Authkey: bytes.Clone(m.Authkey), output: &lockedBuffer{}, dir: m.dir, args: args}
	if err := other.start(0); err != nil {
		return nil, err
	}
	return other, nil
}

// StartAgain starts a manager that has stopped (Stop, Kill) again on the same port, with
// the same arguments (for --data-dir, the same queues) and the key AuthkeyFile holds now.
func (m *Manager) StartAgain() error {
	select {
	case <-m.exited:
	default:
		return errors.New("the manager is still running")
	}
	content, err := os.ReadFile(m.AuthkeyFile)
	if err != nil {
		return err
	}
	m.Authkey = bytes.TrimRight(content, " \t\r\n")
	_, port, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	return m.start(n)
}

// start runs `taskwire serve` on port (0: any free port) and waits for its "ready" line.
func (m *Manager) start(port int) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("the tests run the reference manager with Node.js, which is not on PATH: %w", err)
	}
	serve := append([]string{filepath.Join(root, "server", "bin", "taskwire.js"), "serve", "--port", strconv.Itoa(port), "--authkey-file", m.AuthkeyFile, "--json"}, m.args...)
	m.cmd = exec.Command(node, serve...)
	m.cmd.Dir = m.dir
	m.cmd.Env = WithoutTaskwireEnv(os.Environ())
	m.cmd.Stderr = m.output
	m.exited = make(chan struct{})
	// A pipe of our own rather than StdoutPipe: Wait closes that one when the process
	// exits, possibly before its last lines were read.
	stdout, stdoutWriter, err := os.Pipe()
	if err != nil {
		return err
	}
	m.cmd.Stdout = stdoutWriter
	err = m.cmd.Start()
	stdoutWriter.Close()
	if err != nil {
		stdout.Close()
		return err
	}

	ready := make(chan int, 1)
	go m.readLog(stdout, ready)
	cmd, exited := m.cmd, m.exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case port := <-ready:
		m.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		return nil
	case <-exited:
		return fmt.Errorf("the manager exited before it was ready (%v):\n%s", cmd.ProcessState, m.output)
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("the manager was not ready in %v:\n%s", startTimeout, m.output)
	}
}

// readLog copies the manager's JSON log into the output buffer and reports the port of
// its "ready" line. It drains stdout to the end so the manager never blocks on a full pipe.
func (m *Manager) readLog(stdout io.ReadCloser, ready chan<- int) {
	defer stdout.Close()
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Bytes()
		m.output.Write(append(bytes.Clone(line), '\n'))
		var entry struct {
			Message string `json:"message"`
			Port    int    `json:"port"`
		}
		if json.Unmarshal(line, &entry) == nil && entry.Message == "ready" && entry.Port > 0 {
			select {
			case ready <- entry.Port:
			default:
			}
		}
	}
	_, _ = io.Copy(m.output, stdout)
}

// Log is what the manager logged so far, for failure messages.
func (m *Manager) Log() string { return m.output.String() }

// Stop shuts the manager down with SIGTERM, as an operator would, and waits for it to
// exit; it kills the manager if it has not exited in time.
func (m *Manager) Stop() error {
	select {
	case <-m.exited:
		return nil
	default:
	}
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-m.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = m.cmd.Process.Kill()
		<-m.exited
		return fmt.Errorf("the manager did not stop in %v after SIGTERM; killed", stopTimeout)
	}
}

// Kill kills the manager with SIGKILL, as a crash would, and waits for it to exit. It
// writes nothing more: what it had not made durable is lost.
func (m *Manager) Kill() error {
	if err := m.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-m.exited
	return nil
}

// RepoRoot finds the repository root from the working directory (go test runs in the
// package's folder, such as samples/go/taskwire): the first folder upwards that holds the
// manager's entry point.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "server", "bin", "taskwire.js")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("server/bin/taskwire.js not found in any folder above the working directory")
		}
		dir = parent
	}
}

// WithoutTaskwireEnv drops TASKWIRE_* variables, so that the environment of whoever runs
// the tests (say, TASKWIRE_AUTHKEY) cannot override what a test sets up.
func WithoutTaskwireEnv(env []string) []string {
	kept := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TASKWIRE_") {
			kept = append(kept, kv)
		}
	}
	return kept
}

// lockedBuffer collects output written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
