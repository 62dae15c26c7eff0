// Package auth: zero trust by default. A request reaches shipping only with its sidecar's
// token (header dapr-api-token = APP_API_TOKEN), unless it is a liveness probe; admin
// endpoints also want X-Admin-Token, the stack's admin-token secret.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"daprshop/services/shipping/internal/httpx"
	"daprshop/services/shipping/internal/ports"
)

// AdminSecret is the secret holding the admin token.
const AdminSecret = "admin-token"

// The answers' texts, as the Python apps give them.
const (
	NoToken = "this endpoint answers this app's Dapr sidecar only: send the dapr-api-token header " +
		"holding the app's APP_API_TOKEN (see docs/security.md)"
	NotAdmin = "admin endpoint: send the X-Admin-Token header holding this stack's admin-token secret " +
		"(see docs/security.md)"
)

// Public says whether a request needs no token: GET and HEAD of /healthz and /healthz/...
func Public(method, path string) bool {
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	return path == "/healthz" || strings.HasPrefix(path, "/healthz/")
}

// SidecarToken answers 401 to any request whose single dapr-api-token header is not
// `token` (constant time), unless Public; checked before the body is read.
func SidecarToken(token string, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := r.Header.Values("Dapr-Api-Token")
		if (len(sent) == 1 && subtle.ConstantTimeCompare([]byte(sent[0]), want) == 1) || Public(r.Method, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength != 0 { // the body is never read: answer at once (see httpx.TooLarge)
			w.Header().Set("Connection", "close")
		}
		httpx.WriteJSON(w, http.StatusUnauthorized, map[string]string{"detail": NoToken})
	})
}

// CheckAdmin: nil if `given` is the admin-token secret (constant time); a 401 otherwise,
// a 503 (retry) if the secret store cannot say what it is.
func CheckAdmin(ctx context.Context, secrets ports.Secrets, given string) error {
	if given == "" {
		return httpx.Errorf(http.StatusUnauthorized, "%s", NotAdmin)
	}
	expected, err := secrets.Get(ctx, AdminSecret)
	if err != nil {
		var down *ports.SidecarUnavailableError
		if !errors.Is(err, ports.ErrSecretUnavailable) && !errors.As(err, &down) {
			return fmt.Errorf("reading %s: %w", AdminSecret, err)
		}
		slog.Warn("cannot check an X-Admin-Token", "error", err)
		he := httpx.Errorf(http.StatusServiceUnavailable, "cannot check X-Admin-Token now: %v; retry", err)
		he.Headers = map[string]string{"Retry-After": "5"}
		return he
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(expected)) != 1 {
		return httpx.Errorf(http.StatusUnauthorized, "%s", NotAdmin)
	}
	return nil
}
