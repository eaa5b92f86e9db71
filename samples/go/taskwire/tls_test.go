package taskwire_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"taskwire.dev/samples/go/taskwire"
)

// The manager serves a certificate signed by a CA made with openssl at test time, for
// IP:127.0.0.1 and DNS:localhost. Without openssl these tests fail: they never skip.

const caConfig = `[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = Taskwire test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`

const serverExtensions = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`

// testCertificates are PEM files: the CA clients trust, and the server's certificate and key.
type testCertificates struct{ ca, cert, key string }

// makeCertificates makes a fresh CA and a server certificate it signs, in dir.
func makeCertificates(t *testing.T, dir string) testCertificates {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("the TLS tests need openssl to make their certificates, and it cannot be found (%v); install it (Debian: apt-get install openssl; npm test does so as root through scripts/setupTestTools.sh)", err)
	}
	for name, content := range map[string]string{
		"ca.cnf":     caConfig,
		"server.cnf": "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = localhost\n",
		"server.ext": serverExtensions,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	serial := make([]byte, 8)
	if _, err := rand.Read(serial); err != nil {
		t.Fatal(err)
	}
	ecKey := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"}
	for _, args := range [][]string{
		append(append([]string{"req", "-x509", "-config", "ca.cnf"}, ecKey...), "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"),
		append(append([]string{"req", "-new", "-config", "server.cnf"}, ecKey...), "-keyout", "server.key", "-out", "server.csr"),
		{"x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x" + hex.EncodeToString(serial), "-days", "2", "-extfile", "server.ext", "-out", "server.pem"},
	} {
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		if output, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", args[0], err, output)
		}
	}
	return testCertificates{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "server.pem"), key: filepath.Join(dir, "server.key")}
}

// startTLSManager starts a manager of the test's own serving certs.
func startTLSManager(t *testing.T, certs testCertificates) (addr, authkeyFile string) {
	t.Helper()
	own := startManager(t, "--tls-cert", certs.cert, "--tls-key", certs.key)
	return own.Addr, own.AuthkeyFile
}

// roundTrip puts a payload and takes it back through the client.
func roundTrip(t *testing.T, client *taskwire.Client, payload string) {
	t.Helper()
	q := client.Queue(queueName(t))
	mustPut(t, q, payload)
	task := mustGet(t, q, taskwire.GetOptions{})
	if want := fmt.Sprintf("%q", payload); string(task.Payload) != want {
		t.Fatalf("payload %s, want %s", task.Payload, want)
	}
	if err := task.Ack(testContext(t), nil); err != nil {
		t.Fatal(err)
	}
}

func TestTLSWithTheCAFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a manager of its own")
	}
	certs := makeCertificates(t, t.TempDir())
	addr, authkeyFile := startTLSManager(t, certs)
	config, err := taskwire.TLSConfigWithCA(certs.ca)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(addr, ":")
	for _, target := range []string{addr, "localhost:" + port} { // by IP, and by name (sent as SNI)
		client, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: target, AuthkeyFile: authkeyFile, TLS: config})
		if err != nil {
			t.Fatalf("Dial %s over TLS: %v", target, err)
		}
		roundTrip(t, client, "over TLS to "+target+" "+strings.Repeat("x", 100_000))
		client.Close()
	}
}

func TestTLSConfigWithCARefusesAFileWithoutCertificates(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := taskwire.TLSConfigWithCA(empty); err == nil || err.Error() != "taskwire: TLS CA file "+empty+" holds no PEM certificate" {
		t.Fatalf("got %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	if _, err := taskwire.TLSConfigWithCA(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

// The system store: &tls.Config{} trusts what crypto/x509 loads by default, which on Linux
// includes $SSL_CERT_FILE. Go loads that store once per process, so the client runs in a
// child: this test binary again, running only this test with TASKWIRE_TLS_CHILD_ADDR set.
func TestTLSSystemTrustStore(t *testing.T) {
	if addr := os.Getenv("TASKWIRE_TLS_CHILD_ADDR"); addr != "" {
		client, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: addr, AuthkeyFile: os.Getenv("TASKWIRE_TLS_CHILD_AUTHKEY_FILE"), TLS: &tls.Config{}})
		if err != nil {
			fmt.Println("child:", err)
			t.Fatal(err)
		}
		defer client.Close()
		roundTrip(t, client, "through the system store")
		fmt.Println("child: connected through the system store")
		return
	}
	if testing.Short() {
		t.Skip("starts a manager of its own")
	}
	certs := makeCertificates(t, t.TempDir())
	addr, authkeyFile := startTLSManager(t, certs)
	child := func(sslCertFile string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTLSSystemTrustStore$", "-test.count=1")
		env := []string{"TASKWIRE_TLS_CHILD_ADDR=" + addr, "TASKWIRE_TLS_CHILD_AUTHKEY_FILE=" + authkeyFile}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "SSL_CERT_") {
				env = append(env, kv)
			}
		}
		if sslCertFile != "" {
			env = append(env, "SSL_CERT_FILE="+sslCertFile, "SSL_CERT_DIR="+t.TempDir())
		}
		cmd.Env = env
		output, _ := cmd.CombinedOutput()
		return string(output)
	}
	if output := child(certs.ca); !strings.Contains(output, "child: connected through the system store") {
		t.Fatalf("with SSL_CERT_FILE naming the CA, the child did not connect:\n%s", output)
	}
	want := fmt.Sprintf("child: taskwire: cannot connect to the manager at %s: tls: failed to verify certificate: x509: certificate signed by unknown authority", addr)
	if output := child(""); !strings.Contains(output, want) {
		t.Fatalf("without the CA in the store, the child's output lacks %q:\n%s", want, output)
	}
}

func TestTLSRefusesAnUnknownCA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a manager of its own")
	}
	dir := t.TempDir()
	certs := makeCertificates(t, dir)
	other := makeCertificates(t, t.TempDir())
	addr, authkeyFile := startTLSManager(t, certs)
	wrongCA, err := taskwire.TLSConfigWithCA(other.ca)
	if err != nil {
		t.Fatal(err)
	}
	for name, config := range map[string]*tls.Config{"another CA": wrongCA, "the system's CAs": {}} {
		_, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: addr, AuthkeyFile: authkeyFile, TLS: config})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("%s: got %v, want x509.UnknownAuthorityError", name, err)
		}
		// With another CA of the same name, Go adds why that one did not fit ("possibly because of ...").
		want := fmt.Sprintf("taskwire: cannot connect to the manager at %s: tls: failed to verify certificate: x509: certificate signed by unknown authority", addr)
		if !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("%s: got %q, want %q", name, err, want)
		}
	}
}

func TestTLSRefusesAWrongHostName(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a manager of its own")
	}
	certs := makeCertificates(t, t.TempDir())
	addr, authkeyFile := startTLSManager(t, certs)
	config, err := taskwire.TLSConfigWithCA(certs.ca)
	if err != nil {
		t.Fatal(err)
	}
	config.ServerName = "manager.example.com"
	_, err = taskwire.Dial(testContext(t), taskwire.Options{Addr: addr, AuthkeyFile: authkeyFile, TLS: config})
	var mismatch x509.HostnameError
	if !errors.As(err, &mismatch) {
		t.Fatalf("got %v, want x509.HostnameError", err)
	}
	want := fmt.Sprintf("taskwire: cannot connect to the manager at %s: tls: failed to verify certificate: x509: certificate is valid for localhost, not manager.example.com", addr)
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}

func TestTLSPlainClientOnATLSPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a manager of its own")
	}
	certs := makeCertificates(t, t.TempDir())
	addr, authkeyFile := startTLSManager(t, certs)
	// The manager speaks only TLS: a plain client gets no answer and a closed connection, at once.
	_, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: addr, AuthkeyFile: authkeyFile})
	if err == nil {
		t.Fatal("a plain client connected to a TLS manager")
	}
	if want := fmt.Sprintf("taskwire: connection closed: the manager closed the connection (handshake with %s)", addr); err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}
