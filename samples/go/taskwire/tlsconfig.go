package taskwire

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSConfigWithCA returns a TLS configuration for Options.TLS that trusts only the CA
// certificates in the PEM file caFile: the CA that signed the manager's certificate (or
// that certificate itself, when it is self-signed). The manager's certificate and host name
// are verified against it; TLS 1.2 or later.
//
// To trust the system's CAs instead, use &tls.Config{}: on Linux Go reads them from the
// usual files, or from $SSL_CERT_FILE and $SSL_CERT_DIR when set.
func TLSConfigWithCA(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("taskwire: TLS CA file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("taskwire: TLS CA file %s holds no PEM certificate", caFile)
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}
