package taskwire

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The test vector of spec §4.6.
func TestProofsMatchTheTestVector(t *testing.T) {
	const (
		clientNonce = "8cqUOnlQmGqlhbWhWgWYYc9WJrxqele+aESZU6rdY0U="
		serverNonce = "9/OJBj1ErkgjYilofD2tvGC+Xy7+x7NdrSzrLlAd/z8="
	)
	key := []byte("biu")
	if got, want := clientProof(key, serverNonce, clientNonce, "2026-11"), "0ce4d04b2a1c5d74dbb10f131661f6589d5a098b4899c0151aa2af4fefd452f5"; got != want {
		t.Errorf("proof %s, want %s", got, want)
	}
	if got, want := serverProof(key, serverNonce, clientNonce, "2026-11"), "c9a403646fea1ca44d22cf81eae1b20d176b186436bc81f8c81ab824a286900f"; got != want {
		t.Errorf("serverProof %s, want %s", got, want)
	}
	// The wrong-key proof of §5.2 and spec/examples/error-authentication-failed.json,
	// computed with the key "bio" over that example's own nonces.
	const (
		clientNonce2 = "McdHX0BQuRsAfIAZA0axM0y5FgAXMz+EjB0N9IXR+c4="
		serverNonce2 = "CoZXODlrf4aOMGjVG/EqFMZw0Kmx5VWXS3IU0oHiJZY="
	)
	if got, want := clientProof([]byte("bio"), serverNonce2, clientNonce2, "2026-11"), "fdff56d0a5f36f58088faf80ed4ca4c115b52e6b2c9ebb2eba60fc7c95e127fd"; got != want {
		t.Errorf("proof with the wrong key %s, want %s", got, want)
	}
}

func TestNoncesAreFresh(t *testing.T) {
	a, err := newNonce()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newNonce()
	if len(a) != 44 || a == b {
		t.Fatalf("nonces %q and %q", a, b)
	}
}

// clearKeyEnv leaves only what a case sets.
func clearKeyEnv(t *testing.T) {
	t.Setenv("TASKWIRE_AUTHKEY", "")
	t.Setenv("TASKWIRE_AUTHKEY_FILE", "")
	t.Setenv("TASKWIRE_HOME", t.TempDir())
}

func writeKeyFile(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "authkey")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuthkeyResolutionOrder(t *testing.T) {
	optionFile := writeKeyFile(t, t.TempDir(), "from-option-file\n")
	envFile := writeKeyFile(t, t.TempDir(), "from-env-file\n")
	home := t.TempDir()
	writeKeyFile(t, home, "from-home\n")

	cases := []struct {
		name string
		opts Options
		env  map[string]string
		want string
	}{
		{"Authkey beats everything", Options{Authkey: []byte("given"), AuthkeyFile: optionFile}, map[string]string{"TASKWIRE_AUTHKEY": "env"}, "given"},
		{"AuthkeyFile beats the environment", Options{AuthkeyFile: optionFile}, map[string]string{"TASKWIRE_AUTHKEY": "env"}, "from-option-file"},
		{"TASKWIRE_AUTHKEY beats TASKWIRE_AUTHKEY_FILE", Options{}, map[string]string{"TASKWIRE_AUTHKEY": "env", "TASKWIRE_AUTHKEY_FILE": envFile}, "env"},
		{"TASKWIRE_AUTHKEY_FILE beats the default file", Options{}, map[string]string{"TASKWIRE_AUTHKEY_FILE": envFile, "TASKWIRE_HOME": home}, "from-env-file"},
		{"the default file in TASKWIRE_HOME", Options{}, map[string]string{"TASKWIRE_HOME": home}, "from-home"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearKeyEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			key, err := resolveAuthkey(c.opts)
			if err != nil || string(key) != c.want {
				t.Fatalf("key %q (%v), want %q", key, err, c.want)
			}
		})
	}
}

func TestAuthkeyFileContent(t *testing.T) {
	clearKeyEnv(t)
	key, err := resolveAuthkey(Options{AuthkeyFile: writeKeyFile(t, t.TempDir(), "  6b6579 \t\r\n\n")})
	if err != nil || string(key) != "  6b6579" {
		t.Fatalf("key %q (%v): only trailing whitespace goes, and hex text is not decoded", key, err)
	}
	if _, err := resolveAuthkey(Options{AuthkeyFile: writeKeyFile(t, t.TempDir(), " \n")}); !errors.Is(err, ErrNoAuthkey) {
		t.Errorf("empty key file: want ErrNoAuthkey, got %v", err)
	}
	if _, err := resolveAuthkey(Options{AuthkeyFile: filepath.Join(t.TempDir(), "missing")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key file: want os.ErrNotExist, got %v", err)
	}
	if _, err := resolveAuthkey(Options{}); !errors.Is(err, ErrNoAuthkey) {
		t.Errorf("no key anywhere: want ErrNoAuthkey, got %v", err)
	}
}

func TestAddressDefaults(t *testing.T) {
	resolveAddr := func(addr string) string {
		t.Helper()
		addrs, err := resolveAddrs(addr, nil)
		if err != nil || len(addrs) != 1 {
			t.Fatalf("resolveAddrs(%q) = %q, %v", addr, addrs, err)
		}
		return addrs[0]
	}
	t.Setenv("TASKWIRE_HOST", "")
	t.Setenv("TASKWIRE_PORT", "")
	cases := map[string]string{"": "127.0.0.1:7400", "example.org": "example.org:7400", "::1": "[::1]:7400", "[::1]": "[::1]:7400", "10.0.0.5:8001": "10.0.0.5:8001"}
	for addr, want := range cases {
		if got := resolveAddr(addr); got != want {
			t.Errorf("resolveAddr(%q) = %q, want %q", addr, got, want)
		}
	}
	t.Setenv("TASKWIRE_HOST", "manager.internal")
	t.Setenv("TASKWIRE_PORT", "8001")
	if got := resolveAddr(""); got != "manager.internal:8001" {
		t.Errorf("from the environment: %q", got)
	}
	if got := resolveAddr("other"); got != "other:8001" {
		t.Errorf("host without port: %q", got)
	}
}

// Several managers: Addrs, else Addr, else $TASKWIRE_HOST, as comma-separated lists; an entry
// without a port takes $TASKWIRE_PORT; empty variables and entries count as absent.
func TestAddressLists(t *testing.T) {
	t.Setenv("TASKWIRE_HOST", "from-env:1, from-env-2")
	t.Setenv("TASKWIRE_PORT", "")
	cases := []struct {
		addr  string
		addrs []string
		want  []string
	}{
		{"", nil, []string{"from-env:1", "from-env-2:7400"}},
		{"h1,h2:9", nil, []string{"h1:7400", "h2:9"}},
		{" ", []string{"h3", "h4:10"}, []string{"h3:7400", "h4:10"}},
		{"[::1]:7401, ::1 ,[fe80::2],, h5 ,", nil, []string{"[::1]:7401", "[::1]:7400", "[fe80::2]:7400", "h5:7400"}},
	}
	for _, c := range cases {
		got, err := resolveAddrs(c.addr, c.addrs)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("resolveAddrs(%q, %q) = %q, %v; want %q", c.addr, c.addrs, got, err, c.want)
		}
	}
	t.Setenv("TASKWIRE_PORT", "9000")
	if got, _ := resolveAddrs("h6", nil); !slices.Equal(got, []string{"h6:9000"}) {
		t.Errorf("an entry without a port: %q", got)
	}
	t.Setenv("TASKWIRE_HOST", " ")
	if got, _ := resolveAddrs("", nil); !slices.Equal(got, []string{"127.0.0.1:9000"}) {
		t.Errorf("an empty TASKWIRE_HOST: %q", got)
	}
}

func TestAddressMistakes(t *testing.T) {
	t.Setenv("TASKWIRE_PORT", "")
	t.Setenv("TASKWIRE_HOST", "h1,h2:http")
	cases := []struct {
		addr  string
		addrs []string
		want  string
	}{
		{"", nil, `taskwire: the port of "h2:http" in TASKWIRE_HOST is not a port number (1 to 65535)`},
		{"", []string{"h1:70000"}, `taskwire: the port of "h1:70000" in Options.Addrs is not a port number (1 to 65535)`},
		{":7400", nil, `taskwire: the manager address ":7400" in Options.Addr has no host: write host:port`},
		{"", []string{" "}, "taskwire: Options.Addrs holds no address"},
		{"h1", []string{"h2"}, "taskwire: give Options.Addr or Options.Addrs, not both"},
	}
	for _, c := range cases {
		if _, err := resolveAddrs(c.addr, c.addrs); err == nil || err.Error() != c.want {
			t.Errorf("resolveAddrs(%q, %q): got %v, want %s", c.addr, c.addrs, err, c.want)
		}
	}
	t.Setenv("TASKWIRE_PORT", "x")
	if _, err := resolveAddrs("h1", nil); err == nil || err.Error() != `taskwire: TASKWIRE_PORT ("x") is not a port number (1 to 65535)` {
		t.Errorf("a bad TASKWIRE_PORT: %v", err)
	}
}

func TestDurationsOnTheWire(t *testing.T) {
	if seconds(0) != nil {
		t.Error("zero must mean: not given")
	}
	if s := seconds(NoWait); s == nil || *s != 0 {
		t.Errorf("NoWait must be 0, got %v", s)
	}
	if s := seconds(1500 * time.Millisecond); s == nil || *s != 1.5 {
		t.Errorf("1.5 s: got %v", s)
	}
}

// The back-off doubles from InitialDelay up to MaxDelay, each delay drawn between half and
// all of its step, and never overflows however long the manager stays away.
func TestReconnectDelaySchedule(t *testing.T) {
	r := ReconnectOptions{InitialDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second}.withDefaults()
	for attempt := 1; attempt <= 200; attempt++ {
		step := min(100*time.Millisecond<<min(attempt-1, 10), 5*time.Second)
		for range 20 {
			if d := r.delay(attempt); d < step/2 || d > step {
				t.Fatalf("attempt %d waits %v, want between %v and %v", attempt, d, step/2, step)
			}
		}
	}
	if d := (ReconnectOptions{}).withDefaults(); d.InitialDelay != DefaultReconnectInitialDelay || d.MaxDelay != DefaultReconnectMaxDelay || d.MaxAttempts != 0 {
		t.Errorf("defaults %+v", d)
	}
}

func TestReconnectDelayWithHugeBounds(t *testing.T) {
	r := ReconnectOptions{InitialDelay: time.Hour, MaxDelay: math.MaxInt64}.withDefaults()
	for _, attempt := range []int{1, 2, 40, 100, 10_000} {
		if d := r.delay(attempt); d < time.Hour/2 {
			t.Fatalf("attempt %d waits %v: the doubling overflowed", attempt, d)
		}
	}
}
