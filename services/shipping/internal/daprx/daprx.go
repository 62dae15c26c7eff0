// Package daprx holds the Dapr adapters of shipping's ports: ETag-checked state on one
// state store, event publication (directly or through Dapr's transactional outbox), and
// the secret store, all through the Go SDK's gRPC client.
package daprx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"daprshop/services/shipping/internal/ports"
)

// Client is the part of the SDK client the adapters use.
type Client interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	GetBulkState(ctx context.Context, storeName string, keys []string, meta map[string]string, parallelism int32) ([]*dapr.BulkStateItem, error)
	SaveStateWithETag(ctx context.Context, storeName, key string, data []byte, etag string, meta map[string]string, so ...dapr.StateOption) error
	ExecuteStateTransaction(ctx context.Context, storeName string, meta map[string]string, ops []*dapr.StateOperation) error
	PublishEvent(ctx context.Context, pubsubName, topicName string, data any, opts ...dapr.PublishEventOption) error
	GetSecret(ctx context.Context, storeName, key string, meta map[string]string) (map[string]string, error)
}

// sidecarError: an unavailable sidecar is retryable; an input it refuses is the caller's.
func sidecarError(what string, err error) error {
	if err == nil {
		return nil
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return &ports.SidecarUnavailableError{Code: codeName(status.Code(err)), Err: fmt.Errorf("%s: %w", what, err)}
	case codes.InvalidArgument:
		return &ports.InvalidInputError{Err: fmt.Errorf("%s: %s", what, status.Convert(err).Message())}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func codeName(c codes.Code) string {
	switch c {
	case codes.Unavailable:
		return "UNAVAILABLE"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	}
	return strings.ToUpper(c.String())
}

// Store is JSON values in one Dapr state store, first-write-wins on ETags.
type Store struct {
	Client Client
	Name   string
}

func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	item, err := s.Client.GetState(ctx, s.Name, key, nil)
	if err != nil {
		return nil, "", sidecarError("getting state "+key, err)
	}
	if item == nil || len(item.Value) == 0 {
		return nil, "", nil
	}
	return item.Value, item.Etag, nil
}

func (s *Store) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(keys) == 0 {
		return out, nil
	}
	items, err := s.Client.GetBulkState(ctx, s.Name, keys, nil, 16)
	if err != nil {
		return nil, sidecarError("getting bulk state", err)
	}
	for _, item := range items {
		if len(item.Value) > 0 {
			out[item.Key] = item.Value
		}
	}
	return out, nil
}

func (s *Store) Save(ctx context.Context, key string, value []byte, etag string) error {
	err := s.Client.SaveStateWithETag(ctx, s.Name, key, value, etag, nil, dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	if err == nil {
		return nil
	}
	// ABORTED for a stale ETag; for a create over an existing key, Redis' script answers
	// "failed to set key" (INTERNAL).
	st := status.Convert(err)
	if st.Code() == codes.Aborted || st.Code() == codes.FailedPrecondition ||
		(etag == "" && strings.Contains(st.Message(), "failed to set key")) {
		return fmt.Errorf("%s: %s: %w", key, st.Message(), ports.ErrETagMismatch)
	}
	return sidecarError("saving state "+key, err)
}

// Publisher publishes to the service's own topic: Dapr's publish API ("direct"), or a
// state transaction whose outbox projection Dapr publishes once committed ("outbox").
type Publisher struct {
	Client Client
	Pubsub string
	Topic  string
	Store  string // the state store holding the outbox
	Via    string // direct | outbox
}

func (p *Publisher) PublishRaw(ctx context.Context, eventType string, data json.RawMessage) error {
	var ids struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(data, &ids); err != nil || ids.MessageID == "" {
		return fmt.Errorf("publishing %s: the payload has no message_id", eventType)
	}
	if p.Via == "direct" {
		err := p.Client.PublishEvent(ctx, p.Pubsub, p.Topic, []byte(data),
			dapr.PublishEventWithContentType("application/json"),
			dapr.PublishEventWithMetadata(map[string]string{"cloudevent.type": eventType, "cloudevent.id": ids.MessageID}))
		return sidecarError("publishing "+eventType, err)
	}
	return p.outbox(ctx, "outbox:"+ids.MessageID, data, data, eventType, map[string]string{"ttlInSeconds": "86400"})
}

// outbox: one transaction writing `stored` at key, with `published` as its outbox
// projection. The stored op's metadata becomes CloudEvent attributes (type); contentType
// sits on the projection only (on a state op Redis would switch to RedisJSON commands).
func (p *Publisher) outbox(ctx context.Context, key string, stored, published []byte, eventType string, meta map[string]string) error {
	storedMeta := map[string]string{"type": eventType}
	for k, v := range meta {
		storedMeta[k] = v
	}
	ops := []*dapr.StateOperation{
		{Type: dapr.StateOperationTypeUpsert, Item: &dapr.SetStateItem{Key: key, Value: stored, Metadata: storedMeta, Options: &dapr.StateOptions{}}},
		{Type: dapr.StateOperationTypeUpsert, Item: &dapr.SetStateItem{Key: key, Value: published, Options: &dapr.StateOptions{},
			Metadata: map[string]string{"outbox.projection": "true", "contentType": "application/json"}}},
	}
	return sidecarError("publishing "+eventType+" through the outbox", p.Client.ExecuteStateTransaction(ctx, p.Store, nil, ops))
}

// Secrets reads each secret from the store's key of the same name once, and keeps it (a
// failure is not kept: the next use asks again).
type Secrets struct {
	Client  Client
	Store   string
	Timeout time.Duration
	mu      sync.Mutex
	kept    map[string]string
}

func (s *Secrets) Get(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	value, ok := s.kept[name]
	s.mu.Unlock()
	if ok {
		return value, nil
	}
	value, err := s.read(ctx, name)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.kept == nil {
		s.kept = map[string]string{}
	}
	s.kept[name] = value
	s.mu.Unlock()
	return value, nil
}

func (s *Secrets) read(ctx context.Context, name string) (string, error) {
	where := fmt.Sprintf("secret '%s' of Dapr secret store '%s'", name, s.Store)
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	data, err := s.Client.GetSecret(ctx, s.Store, name, nil)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "", fmt.Errorf("%s: no answer in %gs: %w", where, s.Timeout.Seconds(), ports.ErrSecretUnavailable)
	}
	if err != nil {
		return "", fmt.Errorf("%s could not be read (%s): %w", where, codeName(status.Code(err)), ports.ErrSecretUnavailable)
	}
	value := data[name]
	if value == "" { // an empty admin token would let an empty header in
		return "", fmt.Errorf("%s has no value under the key '%s': %w", where, name, ports.ErrSecretUnavailable)
	}
	return value, nil
}
