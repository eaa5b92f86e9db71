package taskwire

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// unsubscribeTimeout bounds the events/unsubscribe request that ends a subscription.
const unsubscribeTimeout = 5 * time.Second

// subscription is the local end of an events/subscribe. It outlives its connection: after
// a reconnect it is made again on the new one and keeps its channel.
type subscription struct {
	params map[string]any
	events chan Event

	mu     sync.Mutex
	closed bool   // the channel is closed; guards every send on it
	conn   *conn  // where it is subscribed now
	id     string // the manager's id for it on conn
}

// deliver hands an event over without ever blocking the reader: a slow subscriber must
// not hold up the answers to requests.
func (sub *subscription) deliver(event Event) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return
	}
	select {
	case sub.events <- event:
	default: // full: dropped, as the manager may drop events too (spec §6.1)
	}
}

// end closes the channel and returns where the subscription was made, for an
// events/unsubscribe; conn is nil when it had already ended.
func (sub *subscription) end() (cn *conn, id string) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return nil, ""
	}
	sub.closed = true
	close(sub.events)
	return sub.conn, sub.id
}

// subscribe makes sub on cn. It is registered by the reader goroutine as it reads the
// response: the manager sends the first event right after it, and it must find sub.
func (cn *conn) subscribe(ctx context.Context, sub *subscription) error {
	register := func(result json.RawMessage) {
		var r struct {
			Subscription string `json:"subscription"`
		}
		_ = json.Unmarshal(result, &r)
		cn.mu.Lock()
		cn.subs[r.Subscription] = sub
		cn.mu.Unlock()
		sub.mu.Lock()
		sub.conn, sub.id = cn, r.Subscription
		sub.mu.Unlock()
	}
	return cn.call(ctx, "events/subscribe", sub.params, nil, register)
}

// Subscribe starts a stream of the manager's events that pass filter. The channel is
// closed when cancel is called, when ctx is done, or when the client is closed for good;
// call cancel (or cancel ctx) when done to end the subscription on the manager too.
//
// A subscription survives reconnects: it is made again on the new connection, on the same
// channel. Events of the time in between are missed.
//
// Events are observations: a subscriber takes nothing off a queue, and an event may be
// dropped when its subscriber does not keep up (see EventFilter.Buffer).
func (c *Client) Subscribe(ctx context.Context, filter EventFilter) (<-chan Event, func(), error) {
	size := filter.Buffer
	if size <= 0 {
		size = 256
	}
	sub := &subscription{params: filter.params(), events: make(chan Event, size)}
	for {
		cn, err := c.current(ctx)
		if err != nil {
			return nil, nil, err
		}
		if err = c.subscribeOn(ctx, cn, sub); err == nil {
			break
		}
		// The connection dropped under the request: make it on the next one, which holds
		// no trace of this one.
		if !errors.Is(err, ErrClosed) || !c.WillReconnect() || ctx.Err() != nil {
			return nil, nil, err
		}
	}
	var once sync.Once
	end := func() { once.Do(func() { c.unsubscribe(sub) }) }
	stop := context.AfterFunc(ctx, end)
	cancel := func() {
		stop()
		end()
	}
	return sub.events, cancel, nil
}

// subscribeOn makes sub on cn and lists it among the subscriptions to re-establish.
func (c *Client) subscribeOn(ctx context.Context, cn *conn, sub *subscription) error {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if err := cn.subscribe(ctx, sub); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err // closed meanwhile; the connection's close ends the manager's side
	}
	c.subs[sub] = struct{}{}
	return nil
}

// unsubscribe closes the channel and ends the subscription on the manager.
func (c *Client) unsubscribe(sub *subscription) {
	c.subMu.Lock() // not while a reconnect moves it to a new connection
	c.mu.Lock()
	delete(c.subs, sub)
	c.mu.Unlock()
	cn, id := sub.end()
	c.subMu.Unlock()
	if cn == nil || cn.isClosed() {
		return // ended already, or its connection closed: the manager ended it itself
	}
	cn.mu.Lock()
	delete(cn.subs, id)
	cn.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
	defer cancel()
	_ = cn.call(ctx, "events/unsubscribe", map[string]string{"subscription": id}, nil, nil)
}
