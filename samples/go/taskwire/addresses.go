package taskwire

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Where a client looks for its managers: one address or several, from Options or from
// $TASKWIRE_HOST / $TASKWIRE_PORT. The TypeScript and Python clients read them the same way.

// resolveAddrs returns the managers to try, in order, as "host:port": Options.Addrs, else
// Options.Addr (one entry or a comma-separated list), else $TASKWIRE_HOST (the same syntax),
// else 127.0.0.1. An entry is "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6
// address; one without a port takes $TASKWIRE_PORT, else DefaultPort. An empty variable
// counts as unset; empty entries are skipped.
func resolveAddrs(addr string, addrs []string) ([]string, error) {
	if strings.TrimSpace(addr) != "" && len(addrs) > 0 {
		return nil, errors.New("taskwire: give Options.Addr or Options.Addrs, not both")
	}
	defaultPort := strconv.Itoa(DefaultPort)
	if env := strings.TrimSpace(os.Getenv("TASKWIRE_PORT")); env != "" {
		if !isPort(env) {
			return nil, fmt.Errorf("taskwire: TASKWIRE_PORT (%q) is not a port number (1 to 65535)", env)
		}
		defaultPort = env
	}
	entries, where := addrs, "Options.Addrs"
	if len(addrs) == 0 {
		text := addr
		where = "Options.Addr"
		if strings.TrimSpace(text) == "" {
			text, where = os.Getenv("TASKWIRE_HOST"), "TASKWIRE_HOST"
		}
		entries = strings.Split(text, ",")
	}
	resolved := make([]string, 0, len(entries))
	for _, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		one, err := parseEntry(entry, defaultPort, where)
		if err != nil {
			return nil, err
		}
		resolved = append(resolved, one)
	}
	if len(resolved) == 0 {
		if len(addrs) > 0 {
			return nil, errors.New("taskwire: Options.Addrs holds no address")
		}
		resolved = append(resolved, net.JoinHostPort("127.0.0.1", defaultPort))
	}
	return resolved, nil
}

// parseEntry turns one entry into "host:port".
func parseEntry(entry, defaultPort, where string) (string, error) {
	if strings.HasPrefix(entry, "[") {
		end := strings.Index(entry, "]")
		if end < 0 {
			return "", fmt.Errorf("taskwire: the manager address %q in %s has no closing bracket", entry, where)
		}
		host, rest := entry[1:end], entry[end+1:]
		switch {
		case rest == "":
			return net.JoinHostPort(host, defaultPort), nil
		case strings.HasPrefix(rest, ":") && isPort(rest[1:]):
			return net.JoinHostPort(host, rest[1:]), nil
		default:
			return "", fmt.Errorf("taskwire: the port of %q in %s is not a port number (1 to 65535)", entry, where)
		}
	}
	if strings.Count(entry, ":") != 1 { // no port, or a bare IPv6 address
		return net.JoinHostPort(entry, defaultPort), nil
	}
	host, port, _ := strings.Cut(entry, ":")
	if host == "" {
		return "", fmt.Errorf("taskwire: the manager address %q in %s has no host: write host:port", entry, where)
	}
	if !isPort(port) {
		return "", fmt.Errorf("taskwire: the port of %q in %s is not a port number (1 to 65535)", entry, where)
	}
	return net.JoinHostPort(host, port), nil
}

func isPort(text string) bool {
	if text == "" || len(text) > 5 || strings.TrimLeft(text, "0123456789") != "" {
		return false
	}
	port, err := strconv.Atoi(text)
	return err == nil && port > 0 && port < 65536
}

// AddrError is why one manager of a list could not be used.
type AddrError struct {
	// Addr is the manager's "host:port".
	Addr string
	Err  error
}

// NoManagerReachableError says that none of several managers could be reached: Failures
// holds each address tried, in order, with its error, and the message names them all.
// errors.Is and errors.As look into every failure.
type NoManagerReachableError struct {
	// Prefix opens the message ("cannot connect to any of 2 managers").
	Prefix   string
	Failures []AddrError
}

func (e *NoManagerReachableError) Error() string {
	reasons := make([]string, len(e.Failures))
	for i, failure := range e.Failures {
		reason := strings.TrimPrefix(failure.Err.Error(), "taskwire: ")
		if !strings.Contains(reason, failure.Addr) {
			reason = failure.Addr + ": " + reason
		}
		reasons[i] = reason
	}
	return "taskwire: " + e.Prefix + ": " + strings.Join(reasons, "; ")
}

// Unwrap returns every failure's error.
func (e *NoManagerReachableError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, failure := range e.Failures {
		errs[i] = failure.Err
	}
	return errs
}
