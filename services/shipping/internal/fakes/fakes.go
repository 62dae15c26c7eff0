// Package fakes holds in-memory implementations of shipping's ports for tests.
package fakes

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"daprshop/services/shipping/internal/ports"
)

// Store is an in-memory first-write-wins store. Conflicts(key, n) makes the next n saves
// of key fail with an ETag mismatch, as another writer would; Err fails every call.
type Store struct {
	mu        sync.Mutex
	values    map[string][]byte
	etags     map[string]int
	conflicts map[string]int
	Err       error
	Saves     int
}

func NewStore() *Store {
	return &Store{values: map[string][]byte{}, etags: map[string]int{}, conflicts: map[string]int{}}
}

func (s *Store) Conflicts(key string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conflicts[key] = n
}

func (s *Store) Get(_ context.Context, key string) ([]byte, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, "", s.Err
	}
	v, ok := s.values[key]
	if !ok {
		return nil, "", nil
	}
	return v, strconv.Itoa(s.etags[key]), nil
}

func (s *Store) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, k := range keys {
		v, _, err := s.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out[k] = v
		}
	}
	return out, nil
}

func (s *Store) Save(_ context.Context, key string, value []byte, etag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	if s.conflicts[key] > 0 {
		s.conflicts[key]--
		s.etags[key]++ // someone else wrote it
		return ports.ErrETagMismatch
	}
	_, exists := s.values[key]
	if (etag == "" && exists) || (etag != "" && etag != strconv.Itoa(s.etags[key])) {
		return ports.ErrETagMismatch
	}
	s.values[key] = append([]byte(nil), value...)
	s.etags[key]++
	s.Saves++
	return nil
}

// JSON returns the value at key decoded, or nil.
func (s *Store) JSON(key string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	if !ok {
		return nil
	}
	var out map[string]any
	_ = json.Unmarshal(v, &out)
	return out
}

// Published is one publication.
type Published struct {
	Type string
	Data json.RawMessage
}

// Publisher records publications.
type Publisher struct {
	mu   sync.Mutex
	Sent []Published
	Err  error
}

func (p *Publisher) PublishRaw(_ context.Context, eventType string, data json.RawMessage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Err != nil {
		return p.Err
	}
	p.Sent = append(p.Sent, Published{eventType, data})
	return nil
}

func (p *Publisher) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.Sent)
}

// Secrets answers from a map; Err fails every read.
type Secrets struct {
	Values map[string]string
	Err    error
}

func (s *Secrets) Get(_ context.Context, name string) (string, error) {
	if s.Err != nil {
		return "", s.Err
	}
	v, ok := s.Values[name]
	if !ok {
		return "", ports.ErrSecretUnavailable
	}
	return v, nil
}
