// Package inbox runs a participant's step at most once per order_id:step:action: the inbox
// entry is written in the same single-key, ETag-guarded write as the effect, so a
// redelivered command gets the recorded outcome back instead of a second effect.
package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"daprshop/services/shipping/internal/decision"
	"daprshop/services/shipping/internal/ports"
	"daprshop/services/shipping/internal/state"
	"daprshop/services/shipping/internal/stats"
)

// Outcome is a step's outcome as its caller sees it.
type Outcome struct {
	EventType *string         `json:"event_type"`
	Event     json.RawMessage `json:"event"`
	Refused   *string         `json:"refused"`
	Duplicate bool            `json:"duplicate"`
}

// Key is the inbox entry key of one step action of one order.
func Key(orderID, step string, action string) string {
	return fmt.Sprintf("%s:%s:%s", orderID, step, action)
}

// Record is a per-order record that carries an inbox (a pointer type).
type Record[R any] interface {
	*R
	Entries() decision.Inbox
	SetEntries(decision.Inbox)
}

// Deps is what RunOnce does I/O with.
type Deps struct {
	Store  ports.Store
	Locks  *state.Locks
	Counts *stats.Counters
}

// RunOnce applies decide to the record at key unless entryKey is in its inbox already.
// decide must be repeatable: an ETag conflict makes it run again on the fresh record.
func RunOnce[R any, P Record[R]](ctx context.Context, d Deps, key, entryKey string, decide func(*R) decision.Decision[R]) (Outcome, error) {
	if err := state.Register(ctx, d.Store, d.Locks, key, d.Counts); err != nil {
		return Outcome{}, fmt.Errorf("indexing %s: %w", key, err)
	}
	outcome, err := state.Update(ctx, d.Store, d.Locks, key, func(current []byte) ([]byte, bool, Outcome, error) {
		var record *R
		if current != nil {
			record = new(R)
			if err := json.Unmarshal(current, record); err != nil {
				return nil, false, Outcome{}, fmt.Errorf("record %s: %w", key, err)
			}
			if done, ok := P(record).Entries()[entryKey]; ok {
				return nil, false, Outcome{EventType: done.Type, Event: done.Data, Refused: done.Refused, Duplicate: true}, nil
			}
		}
		decided := decide(record)
		entry, err := entryOf(decided)
		if err != nil {
			return nil, false, Outcome{}, err
		}
		next := decided.Record
		entries := decision.Inbox{}
		if record != nil {
			maps.Copy(entries, P(record).Entries())
		}
		entries[entryKey] = entry
		P(&next).SetEntries(entries)
		body, err := json.Marshal(&next)
		if err != nil {
			return nil, false, Outcome{}, fmt.Errorf("encoding record %s: %w", key, err)
		}
		return body, true, Outcome{EventType: entry.Type, Event: entry.Data, Refused: entry.Refused}, nil
	}, d.Counts)
	if err != nil {
		return Outcome{}, err
	}
	switch {
	case outcome.Duplicate:
		d.Counts.Inc(stats.Duplicates)
	case outcome.Refused != nil:
		d.Counts.Inc(stats.Refused)
	default:
		d.Counts.Inc(stats.Applied)
	}
	return outcome, nil
}

func entryOf[R any](d decision.Decision[R]) (decision.Entry, error) {
	if d.EventType == "" {
		return decision.Entry{Refused: d.Refused}, nil
	}
	data, err := json.Marshal(d.Event)
	if err != nil {
		return decision.Entry{}, fmt.Errorf("encoding %s: %w", d.EventType, err)
	}
	eventType := d.EventType
	return decision.Entry{Type: &eventType, Data: data}, nil
}
