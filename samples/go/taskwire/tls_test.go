package taskwire_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"taskwire.dev/samples/go/taskwire"
)

// selfSignedCert writes a certificate for 127.0.0.1 and its key as PEM files into dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "taskwire test manager"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func TestTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a manager of its own")
	}
	certFile, keyFile, cert := selfSignedCert(t, t.TempDir())
	own := startManager(t, "--tls-cert", certFile, "--tls-key", keyFile)
	roots := x509.NewCertPool()
	roots.AddCert(cert)

	client, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: own.Addr, AuthkeyFile: own.AuthkeyFile, TLS: &tls.Config{RootCAs: roots}})
	if err != nil {
		t.Fatalf("Dial over TLS: %v", err)
	}
	defer client.Close()
	q := client.Queue("tasks")
	mustPut(t, q, "over TLS")
	if task := mustGet(t, q, taskwire.GetOptions{}); string(task.Payload) != `"over TLS"` {
		t.Fatalf("payload %s", task.Payload)
	}

	// The certificate is verified: a client that does not trust it does not connect.
	if _, err := taskwire.Dial(testContext(t), taskwire.Options{Addr: own.Addr, AuthkeyFile: own.AuthkeyFile, TLS: &tls.Config{}}); err == nil {
		t.Fatal("connected to a manager whose certificate it does not trust")
	}
}
