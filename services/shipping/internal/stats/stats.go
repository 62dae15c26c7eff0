// Package stats counts what a participant did since start (/diagnostics/stats).
package stats

import "sync"

// Counter names, as the Python participants report them.
const (
	Applied          = "applied"
	Duplicates       = "duplicates"
	Refused          = "refused"
	EventsReceived   = "events_received"
	IgnoredOtherMode = "ignored_other_mode"
	ETagConflicts    = "etag_conflicts"
)

// Counters: a counter appears once first counted, like Python's Counter.
type Counters struct {
	mu sync.Mutex
	n  map[string]int
}

func New() *Counters { return &Counters{n: map[string]int{}} }

func (c *Counters) Inc(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[name]++
}

// Snapshot returns a copy of every counter.
func (c *Counters) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}
