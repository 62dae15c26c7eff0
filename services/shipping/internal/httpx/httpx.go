// Package httpx is shipping's HTTP plumbing: JSON answers (also for 404 and 405), a body
// limit on the Content-Length and on the bytes read, and errors mapped to status codes
// the way the Python apps answer them.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"daprshop/libs/contracts/go/contracts"
	"daprshop/services/shipping/internal/faults"
	"daprshop/services/shipping/internal/ports"
)

// MaxBodyBytes is the limit of every body shipping reads (commands, admin, deliveries).
const MaxBodyBytes = 65536

// Error is an answer with a status and a JSON {"detail": ...} body.
type Error struct {
	Status  int
	Detail  any
	Headers map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %v", e.Status, e.Detail) }

// Errorf builds an Error whose detail is a message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Detail: fmt.Sprintf(format, args...)}
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"detail":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Handler is an HTTP handler that may fail; Handle turns its error into an answer.
type Handler func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to http.Handler.
func Handle(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, err)
		}
	}
}

// WriteError answers err: its own status for an Error, 422 for a contract violation of
// the body, 503 (retry) for an unavailable sidecar or an injected fault, else 500.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		he       *Error
		invalid  *contracts.InvalidError
		down     *ports.SidecarUnavailableError
		injected *faults.InjectedError
		badInput *ports.InvalidInputError
	)
	switch {
	case errors.As(err, &he):
		for k, v := range he.Headers {
			w.Header().Set(k, v)
		}
		WriteJSON(w, he.Status, map[string]any{"detail": he.Detail})
	case errors.As(err, &invalid):
		WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": Located("body", invalid.Errors)})
	case errors.As(err, &down):
		w.Header().Set("Retry-After", "1")
		detail := fmt.Sprintf("this service's Dapr sidecar is unavailable (%s); retry in a moment", down.Code)
		WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"detail": detail})
	case errors.As(err, &injected):
		WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"detail": injected.Error()})
	case errors.As(err, &badInput):
		WriteJSON(w, http.StatusBadRequest, map[string]any{"detail": "the sidecar refused this input: " + badInput.Error()})
	case errors.Is(err, context.Canceled):
		WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"detail": "the request was cancelled; retry"})
	default:
		slog.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		WriteJSON(w, http.StatusInternalServerError, map[string]any{"detail": "Internal Server Error"})
	}
}

// Located prefixes each error's loc with where the value came from ("body", "query").
func Located(where string, errs []contracts.FieldError) []contracts.FieldError {
	out := make([]contracts.FieldError, len(errs))
	for i, e := range errs {
		e.Loc = append([]any{where}, e.Loc...)
		out[i] = e
	}
	return out
}

// TooLarge is the 413 of a body of `seen` bytes or more. It closes the connection:
// otherwise net/http reads up to 256 KiB more of the unread body before it answers, and
// a client that waits for the answer before sending the rest would wait forever.
func TooLarge(seen int64) *Error {
	e := Errorf(http.StatusRequestEntityTooLarge, "request body is %d bytes or more; the limit is %d", seen, MaxBodyBytes)
	e.Headers = map[string]string{"Connection": "close"}
	return e
}

// ReadBody reads the request body, refusing more than MaxBodyBytes: at once by its
// Content-Length, or once the bytes read pass the limit (chunked bodies have no length).
func ReadBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, TooLarge(r.ContentLength)
	}
	var body []byte
	chunk := make([]byte, 16384)
	for {
		n, err := r.Body.Read(chunk)
		body = append(body, chunk[:n]...)
		if len(body) > MaxBodyBytes {
			return nil, TooLarge(int64(len(body)))
		}
		if errors.Is(err, io.EOF) {
			return body, nil
		}
		if err != nil {
			return nil, Errorf(http.StatusBadRequest, "the request body could not be read")
		}
	}
}

// Decode reads the body as the contract message `name`.
func Decode[T any](r *http.Request, name string) (*T, error) {
	body, err := ReadBody(r)
	if err != nil {
		return nil, err
	}
	return contracts.Parse[T](name, body)
}
