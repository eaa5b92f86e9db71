package taskwire

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// ProtocolVersion is the newest version of the Taskwire protocol this package speaks.
const ProtocolVersion = "2026-12"

// protocolVersions are the versions this package offers in session/hello, oldest first: the
// manager chooses the newest it also speaks (a 2026-11 manager answers 2026-11, spec §10.3).
var protocolVersions = []string{"2026-11", ProtocolVersion}

// Version is the version of this client, sent to the manager in the handshake.
const Version = "0.1.0"

// handshake runs session/hello and session/authenticate (spec §4) and checks the
// manager's proof. Nothing else is sent before it succeeds.
func (cn *conn) handshake(ctx context.Context, key []byte, me clientDescription) error {
	nonce, err := newNonce()
	if err != nil {
		return err
	}
	var hello helloResult
	err = cn.call(ctx, "session/hello", helloParams{ProtocolVersions: protocolVersions, Nonce: nonce, Client: me}, &hello, nil)
	if err != nil {
		return err
	}
	if !offered(hello.ProtocolVersion) {
		return fmt.Errorf("%w: the manager chose protocol version %q, which was not offered", ErrUnsupportedProtocolVersion, hello.ProtocolVersion)
	}
	var auth authenticateResult
	err = cn.call(ctx, "session/authenticate", authenticateParams{Proof: clientProof(key, hello.Nonce, nonce, hello.ProtocolVersion)}, &auth, nil)
	if err != nil {
		return err
	}
	want := serverProof(key, hello.Nonce, nonce, hello.ProtocolVersion)
	if !hmac.Equal([]byte(want), []byte(auth.ServerProof)) {
		return ErrServerProof
	}
	cn.sessionID = auth.SessionID
	cn.protocolVersion = hello.ProtocolVersion
	cn.managerID = hello.ManagerID
	cn.limits = auth.Limits
	cn.capabilities = auth.Capabilities
	return nil
}

// offered reports whether the package offered (and so speaks) the version.
func offered(version string) bool {
	for _, v := range protocolVersions {
		if v == version {
			return true
		}
	}
	return false
}

// newNonce returns 32 bytes from the system's secure generator in padded base64.
func newNonce() (string, error) {
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("taskwire: nonce: %w", err)
	}
	return base64.StdEncoding.EncodeToString(nonce), nil
}

// clientProof is what the client sends to prove it holds the key.
func clientProof(key []byte, serverNonce, clientNonce, version string) string {
	return proof(key, "taskwire-client", serverNonce, clientNonce, version)
}

// serverProof is what the manager must answer to prove it holds the key too.
func serverProof(key []byte, serverNonce, clientNonce, version string) string {
	return proof(key, "taskwire-server", serverNonce, clientNonce, version)
}

// proof is HMAC-SHA256 over the label and both nonces as sent on the wire, in lowercase
// hex. The labels differ so that one side's proof can never pass for the other's.
func proof(key []byte, label, serverNonce, clientNonce, version string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(label + "\n" + serverNonce + "\n" + clientNonce + "\n" + version))
	return hex.EncodeToString(mac.Sum(nil))
}
