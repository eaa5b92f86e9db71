package taskwire

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultPort is the port a manager listens on unless told otherwise.
const DefaultPort = 7400

// DefaultDialTimeout bounds connecting plus the handshake when the context given to Dial
// has no deadline of its own.
const DefaultDialTimeout = 10 * time.Second

// Role says what a client does. The manager shows it in its worker registry and gives it
// no other meaning.
type Role string

// The roles of the protocol.
const (
	RoleWorker   Role = "worker"
	RoleProducer Role = "producer"
	RoleMonitor  Role = "monitor"
)

// Options configure Dial. The zero value reaches the manager on this machine with the
// key that `taskwire serve` generated there.
type Options struct {
	// Addr is the manager's "host:port", or several managers to fail over between as a
	// comma-separated list ("h1:7400,h2"). Empty: $TASKWIRE_HOST (the same syntax) and
	// $TASKWIRE_PORT, by default 127.0.0.1:7400. A host without a port gets $TASKWIRE_PORT,
	// by default 7400. An empty variable counts as unset.
	Addr string
	// Addrs is several managers as a slice, in the syntax of Addr's entries; give Addr or
	// Addrs, not both. The client connects to the first that completes the handshake and,
	// when that one goes away, moves at once to the next (wrapping around), then backs off
	// and tries the whole list again. A wrong key, an impostor or a protocol version
	// mismatch at any address ends the search with that error.
	Addrs []string
	// RandomStart makes the first connection start from a random address of the list
	// (then in order, wrapping around) instead of the first: it spreads workers over the
	// managers.
	RandomStart bool
	// Authkey is the shared key. When empty the key is taken from, in order: AuthkeyFile,
	// $TASKWIRE_AUTHKEY, the file named by $TASKWIRE_AUTHKEY_FILE, and the default key file
	// $TASKWIRE_HOME/authkey (~/.taskwire/authkey). A key file's trailing whitespace is not
	// part of the key.
	Authkey []byte
	// AuthkeyFile names a file that holds the key.
	AuthkeyFile string
	// TLS, when set, wraps the connection in TLS with this configuration. The manager's
	// certificate is verified unless the configuration says otherwise; an empty ServerName
	// is taken from Addr.
	TLS *tls.Config
	// Name is shown in the worker registry. Default: the program's file name.
	Name string
	// Role is shown in the worker registry. Default: RoleWorker.
	Role Role
	// Labels are shown in the worker registry (at most 64).
	Labels map[string]string
	// Reconnect says how the client reconnects when its connection drops. The zero value
	// reconnects with back-off until Close; Reconnect.Disabled turns it off.
	Reconnect ReconnectOptions
	// OnConnectionEvent, when set, is told of drops and reconnects (see ConnectionEvent).
	// It is called from a goroutine of the client, one event at a time and in order, and
	// must return soon: reconnecting waits for it.
	OnConnectionEvent func(ConnectionEvent)
	// OnState, when set, is told each change of Client.State (protocol 2026-12, spec
	// §7.20): an operator quieted or stopped this session, or a reconnect made it active
	// again. It is called from a goroutine of its own and may call the client.
	OnState func(state string)
}

// ErrNoAuthkey is returned by Dial when no key was given and none was found in the
// environment or the default key file.
var ErrNoAuthkey = errors.New("taskwire: no authkey")

// resolveAuthkey finds the key the way every Taskwire tool does. The key itself never
// appears in an error.
func resolveAuthkey(opts Options) ([]byte, error) {
	if len(opts.Authkey) > 0 {
		return bytes.Clone(opts.Authkey), nil
	}
	if opts.AuthkeyFile != "" {
		return readAuthkeyFile(opts.AuthkeyFile)
	}
	if key := os.Getenv("TASKWIRE_AUTHKEY"); key != "" {
		return []byte(key), nil
	}
	if file := os.Getenv("TASKWIRE_AUTHKEY_FILE"); file != "" {
		return readAuthkeyFile(file)
	}
	file, err := defaultAuthkeyFile()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoAuthkey, err)
	}
	key, err := readAuthkeyFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: give Options.Authkey or AuthkeyFile, set TASKWIRE_AUTHKEY_FILE or TASKWIRE_AUTHKEY, or start `taskwire serve` on this machine so %s exists", ErrNoAuthkey, file)
	}
	return key, err
}

// defaultAuthkeyFile is where `taskwire serve` writes a generated key.
func defaultAuthkeyFile() (string, error) {
	home := os.Getenv("TASKWIRE_HOME")
	if home == "" {
		user, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		home = filepath.Join(user, ".taskwire")
	}
	return filepath.Join(home, "authkey"), nil
}

// readAuthkeyFile returns a key file's content without its trailing whitespace: a
// generated key file holds hexadecimal text and a newline, and the text is the key.
func readAuthkeyFile(path string) ([]byte, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("taskwire: authkey file: %w", err)
	}
	key := bytes.TrimRight(content, " \t\r\n")
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: authkey file %s is empty", ErrNoAuthkey, path)
	}
	return key, nil
}

// description is how the client presents itself in session/hello.
func (opts Options) description() clientDescription {
	name := opts.Name
	if name == "" {
		name = filepath.Base(os.Args[0])
	}
	role := opts.Role
	if role == "" {
		role = RoleWorker
	}
	host, _ := os.Hostname()
	return clientDescription{
		Name:     name,
		Version:  Version,
		Language: "go",
		Host:     host,
		PID:      os.Getpid(),
		Role:     role,
		Labels:   opts.Labels,
	}
}
