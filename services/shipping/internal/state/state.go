// Package state is the one way shipping changes state: read-modify-write of one key under
// a per-key lock, retried on ETag conflicts; and the record index that makes records
// listable (Dapr's state API lists no keys).
package state

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"daprshop/services/shipping/internal/ports"
	"daprshop/services/shipping/internal/stats"
)

// MaxConflicts is how many ETag conflicts in a row one update tolerates.
const MaxConflicts = 20

// Locks: one mutex per key, so read-modify-write cycles in this process do not collide;
// ETags still guard against other processes.
type Locks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	ch    chan struct{}
	users int
}

func NewLocks() *Locks { return &Locks{locks: map[string]*keyLock{}} }

// Hold locks `key` until the returned release is called, or fails when ctx ends first.
func (l *Locks) Hold(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	k, ok := l.locks[key]
	if !ok {
		k = &keyLock{ch: make(chan struct{}, 1)}
		l.locks[key] = k
	}
	k.users++
	l.mu.Unlock()
	forget := func() {
		l.mu.Lock()
		k.users--
		if k.users == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
	select {
	case k.ch <- struct{}{}:
		return func() { <-k.ch; forget() }, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("waiting for the lock of %s: %w", key, ctx.Err())
	}
}

// Change computes the new value of a key from its current one (nil: absent). write false
// leaves the key as it is. It runs again after a conflict, so it must be repeatable.
type Change[T any] func(current []byte) (next []byte, write bool, result T, err error)

// Update applies change to `key` under its lock, retrying on ETag conflicts (counted).
func Update[T any](ctx context.Context, store ports.Store, locks *Locks, key string, change Change[T], counters *stats.Counters) (T, error) {
	var zero T
	release, err := locks.Hold(ctx, key)
	if err != nil {
		return zero, err
	}
	defer release()
	for range MaxConflicts {
		current, etag, err := store.Get(ctx, key)
		if err != nil {
			return zero, fmt.Errorf("reading %s: %w", key, err)
		}
		next, write, result, err := change(current)
		if err != nil || !write {
			return result, err
		}
		err = store.Save(ctx, key, next, etag)
		if errors.Is(err, ports.ErrETagMismatch) {
			if counters != nil {
				counters.Inc(stats.ETagConflicts)
			}
			continue // another writer got there first: read again, change again
		}
		if err != nil {
			return zero, fmt.Errorf("writing %s: %w", key, err)
		}
		return result, nil
	}
	return zero, fmt.Errorf("%s: %d ETag conflicts in a row", key, MaxConflicts)
}
