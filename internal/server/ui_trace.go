package server

// PLACEHOLDER written by UI-LIST so the branch builds before UI-TRACE's
// trace view lands. UI-TRACE replaces this whole file (see UI-CONTRACT.md).

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/loupehq/loupe"
)

// handleUITrace serves GET /traces/{id}: the trace view.
func handleUITrace(log *slog.Logger, reader loupe.TraceReader, tmpl *uiTemplates) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tmpl.renderError(w, r, log, fmt.Errorf("trace view not built yet: %w", errNoReader))
	})
}

// addUITraceRoutes registers the trace view's JSON data endpoints.
func addUITraceRoutes(mux *http.ServeMux, log *slog.Logger, reader loupe.TraceReader) {}
