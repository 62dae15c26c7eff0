package httpx

import (
	"net/http"
	"net/http/httptest"
)

// JSONFallbacks answers the mux's own 404 and 405 with JSON bodies, as FastAPI does.
func JSONFallbacks(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := httptest.NewRecorder()
		mux.ServeHTTP(probe, r)
		if allow := probe.Header().Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		if probe.Code == http.StatusMethodNotAllowed {
			WriteJSON(w, probe.Code, map[string]string{"detail": "Method Not Allowed"})
			return
		}
		WriteJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	})
}
