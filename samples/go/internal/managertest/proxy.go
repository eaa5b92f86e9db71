package managertest

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"slices"
	"sync"
)

// Proxy relays TCP connections to a manager and records the method of every frame the
// clients send, so that a test sees how many exchanges a client needed for a piece of work.
// It relays bytes as they are and changes nothing.
type Proxy struct {
	// Addr is the proxy's "127.0.0.1:port"; clients dial it instead of the manager.
	Addr string

	target   string
	listener net.Listener

	mu      sync.Mutex
	methods []string   // the method of each frame from a client, in order; "" for a response
	conns   []net.Conn // both ends of every relayed connection, closed by Close
	closed  bool
	relays  sync.WaitGroup
}

// StartProxy listens on a free port of 127.0.0.1 and relays each connection to target.
func StartProxy(target string) (*Proxy, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: listener.Addr().String(), target: target, listener: listener}
	p.relays.Add(1)
	go p.accept()
	return p, nil
}

func (p *Proxy) accept() {
	defer p.relays.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return // closed
		}
		manager, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		if p.closed { // Close ran while this connection was being set up
			p.mu.Unlock()
			client.Close()
			manager.Close()
			return
		}
		p.conns = append(p.conns, client, manager)
		p.mu.Unlock()
		p.relays.Add(2)
		go func() {
			defer p.relays.Done()
			p.relayRequests(client, manager)
		}()
		go func() {
			defer p.relays.Done()
			_, _ = io.Copy(client, manager)
			client.Close()
		}()
	}
}

// relayRequests forwards the client's frames one by one, each as soon as it is read, and
// records their methods.
func (p *Proxy) relayRequests(client, manager net.Conn) {
	defer manager.Close()
	lines := bufio.NewReader(client)
	for {
		line, err := lines.ReadBytes('\n')
		if len(line) > 0 {
			if line[len(line)-1] == '\n' {
				var frame struct {
					Method string `json:"method"`
				}
				_ = json.Unmarshal(line, &frame)
				p.mu.Lock()
				p.methods = append(p.methods, frame.Method)
				p.mu.Unlock()
			}
			if _, werr := manager.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Methods are the methods of the frames the clients sent so far, in order.
func (p *Proxy) Methods() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.methods)
}

// Reset forgets the frames recorded so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.methods = nil
}

// Close stops listening, closes every relayed connection and waits for the relays to end.
func (p *Proxy) Close() {
	p.listener.Close()
	p.mu.Lock()
	p.closed = true
	for _, conn := range p.conns {
		conn.Close()
	}
	p.mu.Unlock()
	p.relays.Wait()
}
