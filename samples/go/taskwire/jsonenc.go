package taskwire

import (
	"bytes"
	"encoding/json"
)

// marshal is json.Marshal without HTML escaping: <, > and & go on the wire as themselves, not
// as \u003c, \u003e and \u0026. The manager forwards payloads and results as the text a client
// sent (spec §7.17), so what a Go worker writes is what a Python or TypeScript consumer reads,
// byte for byte; the escapes are only for embedding JSON in HTML, which the protocol never does.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
