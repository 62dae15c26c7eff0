// Package ports declares what shipping does I/O through: a state store, a publisher and a
// secret store. The Dapr adapters (daprx) implement them; tests use in-memory fakes.
package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrETagMismatch: the state changed since it was read (or a create found the key
// existing): read again and decide again.
var ErrETagMismatch = errors.New("etag mismatch")

// ErrSecretUnavailable: the secret store could not be read or lacks the secret.
var ErrSecretUnavailable = errors.New("secret unavailable")

// SidecarUnavailableError: the sidecar did not answer (restarting, reconnecting): retry.
type SidecarUnavailableError struct {
	Code string // the gRPC code's name, e.g. UNAVAILABLE
	Err  error
}

func (e *SidecarUnavailableError) Error() string {
	return fmt.Sprintf("the Dapr sidecar is unavailable (%s): %v", e.Code, e.Err)
}

func (e *SidecarUnavailableError) Unwrap() error { return e.Err }

// InvalidInputError: the sidecar refused an input (e.g. a state key holding "||").
type InvalidInputError struct{ Err error }

func (e *InvalidInputError) Error() string { return e.Err.Error() }
func (e *InvalidInputError) Unwrap() error { return e.Err }

// Store holds JSON values by key with first-write-wins ETags: Save with an etag writes
// only over that version; with "" only if the key does not exist (else ErrETagMismatch).
type Store interface {
	Get(ctx context.Context, key string) (value []byte, etag string, err error) // nil value: absent
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	Save(ctx context.Context, key string, value []byte, etag string) error
}

// Publisher publishes the service's events to its own topic as CloudEvents of `eventType`
// whose id is the payload's message_id.
type Publisher interface {
	PublishRaw(ctx context.Context, eventType string, data json.RawMessage) error
}

// Secrets reads named secrets; errors wrap ErrSecretUnavailable.
type Secrets interface {
	Get(ctx context.Context, name string) (string, error)
}
