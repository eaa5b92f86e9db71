package taskwire

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// unsubscribeTimeout bounds the events/unsubscribe request that ends a subscription.
const unsubscribeTimeout = 5 * time.Second

// subscription is the local end of an events/subscribe.
type subscription struct {
	id     string
	events chan Event
	closed bool // guarded by Client.mu, like every send on events
}

// Subscribe starts a stream of the manager's events that pass filter. The channel is
// closed when cancel is called, when ctx is done, or when the connection closes; call
// cancel (or cancel ctx) when done to end the subscription on the manager too.
//
// Events are observations: a subscriber takes nothing off a queue, and an event may be
// dropped when its subscriber does not keep up (see EventFilter.Buffer).
func (c *Client) Subscribe(ctx context.Context, filter EventFilter) (<-chan Event, func(), error) {
	size := filter.Buffer
	if size <= 0 {
		size = 256
	}
	sub := &subscription{events: make(chan Event, size)}
	// Registered by the reader goroutine as it reads the response: the manager sends the
	// first event right after it, and it must find the subscription.
	register := func(result json.RawMessage) {
		var r struct {
			Subscription string `json:"subscription"`
		}
		_ = json.Unmarshal(result, &r)
		c.mu.Lock()
		defer c.mu.Unlock()
		sub.id = r.Subscription
		c.subs[sub.id] = sub
	}
	if err := c.call(ctx, "events/subscribe", filter.params(), nil, register); err != nil {
		return nil, nil, err
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

// unsubscribe closes the channel and ends the subscription on the manager.
func (c *Client) unsubscribe(sub *subscription) {
	c.mu.Lock()
	wasOpen := !sub.closed
	if wasOpen {
		sub.closed = true
		close(sub.events)
		delete(c.subs, sub.id)
	}
	connected := c.closeErr == nil
	c.mu.Unlock()
	if !wasOpen || !connected {
		return // the connection closed: the manager ended the subscription itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
	defer cancel()
	_ = c.call(ctx, "events/unsubscribe", map[string]string{"subscription": sub.id}, nil, nil)
}

// deliverEvent hands an event to its subscription without ever blocking the reader: a
// slow subscriber must not hold up the answers to requests.
func (c *Client) deliverEvent(params json.RawMessage) {
	var event Event
	if json.Unmarshal(params, &event) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sub := c.subs[event.Subscription]
	if sub == nil {
		return
	}
	select {
	case sub.events <- event:
	default: // full: dropped, as the manager may drop events too (spec §6.1)
	}
}
